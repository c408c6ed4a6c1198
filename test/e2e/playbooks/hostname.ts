import { command, definePlaybook } from 'havn'

export default definePlaybook({
  name: 'hostname',
  plays: [
    {
      hosts: 'all',
      async run() {
        await command('hostname')
      },
    },
  ],
})
