import { command, definePlaybook } from 'havn'

export default definePlaybook({
  name: 'fail-one',
  plays: [
    {
      hosts: 'all',
      async run(host) {
        await command(host.vars.mustFail === true ? 'echo going down >&2; exit 7' : 'true', { name: 'maybe fail' })
      },
    },
  ],
})
