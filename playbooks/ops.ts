import { definePlaybook } from 'havn'
import opsBaseline from './examples/ops-baseline/index.ts'

/** Every host gets the ops baseline; keys, contact and the tools bundle come from the inventory. */
export default definePlaybook({
  name: 'ops',
  plays: [{ hosts: 'all', roles: [opsBaseline()] }],
})
