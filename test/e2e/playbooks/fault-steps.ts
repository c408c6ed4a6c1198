import { command, definePlaybook, file } from 'havn'

/** A config file of HAVN_E2E_SIZE bytes at HAVN_E2E_PATH, then a command that takes HAVN_E2E_SLEEP seconds. */
export default definePlaybook({
  name: 'fault-steps',
  plays: [
    {
      hosts: 'all',
      async run() {
        await file({ path: process.env.HAVN_E2E_PATH ?? '/srv/fault/app.conf', content: `${'x'.repeat(Number(process.env.HAVN_E2E_SIZE ?? 16))}\n`, mode: 0o644 })
        await command(`sleep ${Number(process.env.HAVN_E2E_SLEEP ?? 0)}; echo done`, { name: 'slow step' })
      },
    },
  ],
})
