import { command, definePlaybook } from 'havn'

/** Waits for /srv/retry/ready on the host, as a role waits for a service to come up: retries and until. */
export default definePlaybook({
  name: 'retry-until',
  plays: [
    {
      hosts: 'all',
      async run() {
        await command('cat /srv/retry/ready', { name: 'wait until ready', retries: 20, delay: 0.5, until: (r) => r.stdout?.trim() === 'ready' })
      },
    },
  ],
})
