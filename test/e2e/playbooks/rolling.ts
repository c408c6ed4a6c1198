import { command, definePlaybook } from 'havn'

/** A canary batch of one host, then halves; any failure stops the rollout. Host var `mustFail` fails a host. */
export default definePlaybook({
  name: 'rolling',
  plays: [
    {
      name: 'roll out',
      hosts: 'all',
      serial: [1, '50%'],
      maxFailPercent: 0,
      async run(host) {
        await command(host.vars.mustFail === true ? 'echo canary broke >&2; exit 2' : 'touch /root/rolled', { name: 'deploy' })
      },
    },
  ],
})
