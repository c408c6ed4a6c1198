import { definePlaybook, mount } from 'havn'

/** A tmpfs at /mnt/havn-e2e in the state HAVN_E2E_MOUNT_STATE (default mounted), of size HAVN_E2E_MOUNT_SIZE (default 16m). */
export default definePlaybook({
  name: 'mount',
  plays: [
    {
      hosts: 'all',
      async run() {
        const state = (process.env.HAVN_E2E_MOUNT_STATE ?? 'mounted') as 'mounted' | 'absent'
        await mount({ path: '/mnt/havn-e2e', src: 'tmpfs', fstype: 'tmpfs', opts: `size=${process.env.HAVN_E2E_MOUNT_SIZE ?? '16m'},mode=0755`, state })
      },
    },
  ],
})
