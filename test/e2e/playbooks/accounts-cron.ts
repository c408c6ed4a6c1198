import { authorizedKey, cron, definePlaybook, group, packages, user } from 'havn'

/** An operator's account in its own group, logging in with the key in host var `opsKey`, a cron entry in /etc/cron.d and one in its own crontab. */
export default definePlaybook({
  name: 'accounts-cron',
  plays: [
    {
      hosts: 'all',
      async run(host) {
        await group({ name: 'backup-ops', gid: 2500 })
        await user({ name: 'havn-ops', group: 'backup-ops', shell: '/bin/sh' })
        await authorizedKey({ user: 'havn-ops', key: String(host.vars.opsKey), options: 'no-port-forwarding' })
        await packages({ names: ['cron'] })
        await cron({ name: 'havn-e2e-tick', schedule: '*/5 * * * *', user: 'havn-ops', command: 'date >> /tmp/havn-e2e-tick', env: { MAILTO: '' } })
        await cron({ name: 'havn-e2e-own', crontab: true, user: 'havn-ops', schedule: '@hourly', command: 'date >> /tmp/havn-e2e-own' })
      },
    },
  ],
})
