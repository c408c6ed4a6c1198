import { command, definePlaybook } from 'havn'

export default definePlaybook({
  name: 'become',
  plays: [
    {
      hosts: 'all',
      become: true,
      async run() {
        await command('id -u', { name: 'id' })
      },
    },
  ],
})
