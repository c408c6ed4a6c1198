import { copy, definePlaybook, directory, packages, unarchive } from 'havn'

/** The tar.gz at HAVN_E2E_TGZ and the zip at HAVN_E2E_ZIP (both made by the test) extracted from the controller, and the tar.gz again from a copy on the host. */
export default definePlaybook({
  name: 'unarchive',
  plays: [
    {
      hosts: 'all',
      async run() {
        const tgz = process.env.HAVN_E2E_TGZ ?? '/nonexistent.tar.gz'
        await packages({ names: ['unzip'] })
        await directory({ path: '/srv/havn-unarchive', mode: '0755' })
        await unarchive({ src: tgz, dest: '/srv/havn-unarchive/tgz', createDest: true, stripComponents: 1, owner: 'daemon', group: 'daemon' })
        await unarchive({ src: process.env.HAVN_E2E_ZIP ?? '/nonexistent.zip', dest: '/srv/havn-unarchive/zip', createDest: true })
        await copy({ src: tgz, dest: '/root/app.tar.gz', mode: '0600' })
        await unarchive({ src: '/root/app.tar.gz', remoteSrc: true, dest: '/srv/havn-unarchive' })
      },
    },
  ],
})
