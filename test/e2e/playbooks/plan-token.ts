import { definePlaybook, file, secret } from 'havn'

/** A secret that comes from outside the inventory (the environment of the run), as a vault or a password file would. */
export default definePlaybook({
  name: 'plan-token',
  plays: [
    {
      hosts: 'all',
      async run() {
        await file({ path: '/etc/havn-plan.token2', content: secret(process.env.HAVN_E2E_TOKEN ?? ''), mode: 0o600 })
      },
    },
  ],
})
