import { command, definePlaybook } from 'havn'

/**
 * The site playbook. Until the five roles land it inventories each host, which exercises the whole
 * path: inventory, SSH, parallel plays and the recap.
 */
export default definePlaybook({
  name: 'site',
  plays: [
    {
      name: 'survey',
      hosts: 'all',
      async run() {
        await command('uname -srm', { name: 'kernel' })
        await command('. /etc/os-release && echo "$PRETTY_NAME"', { name: 'os release' })
      },
    },
  ],
})
