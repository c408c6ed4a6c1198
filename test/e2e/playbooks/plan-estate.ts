import { definePlaybook, file, packages, secret, service } from 'havn'

/**
 * A small estate for the plan workflow: a package and its service, a plain config file and one
 * holding a secret (the host var `token`), so drift of each kind can be made by hand.
 */
export default definePlaybook({
  name: 'plan-estate',
  plays: [
    {
      hosts: 'all',
      async run(host) {
        const { motd, token } = host.vars as { motd: string; token: string }
        await packages({ names: ['haproxy'] })
        await service({ name: 'haproxy', state: 'started', enabled: true })
        await file({ path: '/etc/havn-plan.motd', content: `${motd}\n`, mode: 0o644 })
        await file({ path: '/etc/havn-plan.token', content: secret(token), mode: 0o600 })
      },
    },
  ],
})
