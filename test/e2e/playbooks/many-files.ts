import { command, definePlaybook, directory, file } from 'havn'

/** Host var `files` files of 256 KiB each, with a pause between them, so a run can be interrupted midway. */
export default definePlaybook({
  name: 'many-files',
  plays: [
    {
      hosts: 'all',
      async run(host) {
        await directory({ path: '/srv/many', mode: 0o755 })
        for (let i = 0; i < Number(host.vars.files ?? 20); i++) {
          await file({ path: `/srv/many/f${i}.txt`, content: `${host.name} ${i}\n`.repeat(16384).slice(0, 262144), mode: 0o644 })
          await command('sleep 0.2', { name: `pause ${i}` })
        }
      },
    },
  ],
})
