import { definePlaybook, file, packages, secret, service } from 'havn'

/**
 * A small estate for the plan workflow: a package and its service, a plain config file, one
 * holding a secret (the host var `token`) and one whose content is marked sensitive (the host var
 * `note`), so drift of each kind can be made by hand.
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
        // Plain text marked sensitive: masked by the module, not by a registered secret.
        await file({ path: '/etc/havn-plan.note', content: `note ${String(host.vars.note ?? '')}\n`, mode: 0o600, sensitive: true })
      },
    },
  ],
})
