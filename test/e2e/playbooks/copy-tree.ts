import { copy, definePlaybook } from 'havn'

/** Copies the tree at HAVN_E2E_SRC to /srv/havn-copy (HAVN_E2E_DELETE=1 removes what the source lacks). */
export default definePlaybook({
  name: 'copy-tree',
  plays: [
    {
      hosts: 'all',
      async run() {
        await copy({ src: process.env.HAVN_E2E_SRC ?? '/nonexistent', dest: '/srv/havn-copy', owner: 'root', group: 'root', delete: process.env.HAVN_E2E_DELETE === '1' })
      },
    },
  ],
})
