import { readFileSync } from 'node:fs'
import { authorizedKey, definePlaybook, file, git, line, packages, secret } from 'havn'

const env = (name: string): string => process.env[name] ?? ''

/**
 * The host with `gitRole: server` (holding the bare repository HAVN_E2E_GIT_REPO) lets root in
 * with the key pair at HAVN_E2E_GIT_KEY; the `client` gets git, that key, the server's host key
 * (HAVN_E2E_GIT_KNOWN) and a checkout of the repository at HAVN_E2E_GIT_VERSION in /srv/app.
 */
export default definePlaybook({
  name: 'git',
  plays: [
    {
      name: 'server',
      hosts: 'all',
      async run(host) {
        if (host.vars.gitRole !== 'server') return
        await authorizedKey({ user: 'root', key: readFileSync(`${env('HAVN_E2E_GIT_KEY')}.pub`, 'utf8').trim() })
      },
    },
    {
      name: 'client',
      hosts: 'all',
      async run(host) {
        if (host.vars.gitRole !== 'client') return
        await packages({ names: ['git'] })
        await file({ path: '/root/.ssh/havn_git', content: secret(readFileSync(env('HAVN_E2E_GIT_KEY'), 'utf8')), mode: '0600' })
        await line({ path: '/root/.ssh/known_hosts', line: env('HAVN_E2E_GIT_KNOWN'), create: true })
        await git({ repo: env('HAVN_E2E_GIT_REPO'), dest: '/srv/app', version: env('HAVN_E2E_GIT_VERSION'), sshKeyFile: '/root/.ssh/havn_git' })
      },
    },
  ],
})
