import { definePlaybook, directory, download, packages } from 'havn'

/**
 * Downloads HAVN_E2E_URL (sum HAVN_E2E_SHA256) to HAVN_E2E_DEST. A host with `installCurl: true`
 * gets curl first and fetches itself; the others have neither curl nor wget, so the controller fetches.
 */
export default definePlaybook({
  name: 'download',
  plays: [
    {
      hosts: 'all',
      async run(host) {
        if (host.vars.installCurl === true) await packages({ names: ['curl'] })
        await directory({ path: '/opt/havn-download', mode: '0755' })
        await download({
          url: process.env.HAVN_E2E_URL ?? 'http://192.0.2.1/unset',
          dest: process.env.HAVN_E2E_DEST ?? '/opt/havn-download/tool.bin',
          sha256: process.env.HAVN_E2E_SHA256 ?? '',
          mode: '0750',
          timeout: 60,
        })
      },
    },
  ],
})
