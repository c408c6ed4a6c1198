import { readFileSync } from 'node:fs'
import { aptRepository, copy, definePlaybook, packages } from 'havn'

/**
 * Copies the signed repository at HAVN_E2E_REPO to /srv/havn-e2e-repo, ensures it as apt
 * repository `havn-e2e` signed by the key in HAVN_E2E_KEY (given as text where the host var
 * `keyAsText` is set, else as a controller file), and installs its package.
 */
export default definePlaybook({
  name: 'apt-repository',
  plays: [
    {
      hosts: 'all',
      async run(host) {
        const keyFile = process.env.HAVN_E2E_KEY ?? '/nonexistent'
        await copy({ src: process.env.HAVN_E2E_REPO ?? '/nonexistent', dest: '/srv/havn-e2e-repo', owner: 'root', group: 'root' })
        const key = host.vars.keyAsText === true ? { key: readFileSync(keyFile, 'utf8') } : { keyFile }
        await aptRepository({ name: 'havn-e2e', uris: 'file:/srv/havn-e2e-repo', suites: 'havn', components: ['main'], architectures: ['amd64'], ...key })
        await packages({ names: ['havn-e2e-hello'] })
      },
    },
  ],
})
