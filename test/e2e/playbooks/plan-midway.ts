import { command, definePlaybook, file } from 'havn'

/** Two files with a pause between them, so a test can change the host while an apply is half done. */
export default definePlaybook({
  name: 'plan-midway',
  plays: [
    {
      hosts: 'all',
      async run() {
        await file({ path: '/etc/havn-mid.a', content: 'a\n', mode: 0o644 })
        await command('sleep 3', { name: 'pause' })
        await file({ path: '/etc/havn-mid.b', content: 'b\n', mode: 0o644 })
      },
    },
  ],
})
