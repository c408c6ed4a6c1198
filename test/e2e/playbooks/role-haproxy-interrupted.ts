import { command, definePlaybook } from 'havn'
import haproxyBurst from 'havn/roles/haproxy-burst'

/** The haproxy-burst role, then a slow step before the play's handlers, so a test can kill the run in between. */
export default definePlaybook({
  name: 'role-haproxy-interrupted',
  plays: [
    {
      hosts: 'all',
      roles: [haproxyBurst()],
      async run() {
        await command('sleep 20', { name: 'slow step' })
      },
    },
  ],
})
