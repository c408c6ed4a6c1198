import { command, defineHandler, definePlaybook, directory, file, packages } from 'havn'

const recorded = defineHandler('e2e-fault-kill-recorded', async () => {
  await command('echo handled >> /srv/fault-kill/handler.log', { name: 'record handler' })
})

/**
 * A change that notifies a handler, then the work a test kills the host in the middle of:
 * HAVN_E2E_WORK=write writes HAVN_E2E_SIZE bytes to /srv/fault-kill/big.bin (notifying too),
 * HAVN_E2E_WORK=install installs HAVN_E2E_PACKAGE.
 */
export default definePlaybook({
  name: 'fault-kill',
  plays: [
    {
      hosts: 'all',
      async run() {
        await directory({ path: '/srv/fault-kill', mode: 0o755 })
        await file({ path: '/srv/fault-kill/trigger.conf', content: `${process.env.HAVN_E2E_TRIGGER ?? 'one'}\n`, notify: [recorded] })
        if (process.env.HAVN_E2E_WORK === 'write') {
          await file({ path: '/srv/fault-kill/big.bin', content: 'y'.repeat(Number(process.env.HAVN_E2E_SIZE ?? 1)), notify: [recorded] })
        } else {
          await packages({ names: [process.env.HAVN_E2E_PACKAGE ?? 'python3'] })
        }
      },
    },
  ],
})
