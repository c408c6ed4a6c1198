import { definePlaybook } from 'havn'

/** No step at all: what a run costs a host before and after its steps (connect, lock, close), the copy case's baseline. */
export default definePlaybook({
  name: 'bench-connect-only',
  plays: [{ hosts: 'all', async run() {} }],
})
