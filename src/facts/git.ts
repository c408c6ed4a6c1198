import { maskUrl, shQuote } from '../connection/quote.ts'
import type { Executed } from '../engine/context.ts'
import { defineFact } from '../engine/facts.ts'

/** What a directory holds as a git checkout: none (empty or not a repository), or its HEAD, origin and whether tracked files are modified. */
export type GitCheckout =
  | { readonly kind: 'empty' }
  | { readonly kind: 'not-a-repository' }
  | {
      readonly kind: 'repository'
      /** Commit of HEAD; empty for a repository without commits. */
      readonly head: string
      /** URL of the `origin` remote; empty when it has none. */
      readonly origin: string
      /** Tracked files differ from HEAD (untracked files do not count, as in Ansible). */
      readonly modified: boolean
    }

/**
 * Environment that makes git on the host non-interactive (no prompt ever waits for input),
 * with `sshKeyFile` as the only key ssh offers.
 */
export function gitEnv(sshKeyFile: string): string {
  const ssh = `ssh -o BatchMode=yes${sshKeyFile ? ` -o IdentitiesOnly=yes -i ${shQuote(sshKeyFile)}` : ''}`
  return `GIT_TERMINAL_PROMPT=0 GIT_SSH_COMMAND=${shQuote(ssh)}`
}

function fail(subject: string, res: Executed, why: string, url = ''): never {
  const err = url ? res.stderr.trim().replaceAll(url, maskUrl(url)) : res.stderr.trim()
  throw new Error(`cannot read ${subject}: ${why}${res.code ? ` (exit ${res.code})` : ''}${err ? `: ${err}` : ''}`)
}

/**
 * The checkout in a directory that exists. Reads never write: no optional index refresh, and the
 * directory is trusted whoever owns it (git refuses repositories of other users otherwise).
 */
export const gitCheckout = defineFact({
  name: 'git.checkout',
  command: (dir: string) => {
    const d = shQuote(dir)
    return [
      `cd ${d} || exit 2`,
      `if [ -z "$(ls -A)" ]; then echo empty; exit 0; fi`,
      `if [ ! -e .git ]; then echo not-a-repository; exit 0; fi`,
      `g() { GIT_OPTIONAL_LOCKS=0 git -c safe.directory=${d} "$@"; }`,
      `echo "head $(g rev-parse --verify -q HEAD)"`,
      `echo "origin $(g config --get remote.origin.url)"`,
      `s=$(g status --porcelain --untracked-files=no) || exit 2`,
      `[ -z "$s" ] && echo clean || echo modified`,
    ].join('\n')
  },
  parse: (res: Executed, dir: string): GitCheckout => {
    if (res.code !== 0) fail(`the git checkout in ${dir}`, res, 'the command failed')
    const lines = res.stdout.split('\n')
    if (lines[0] === 'empty' || lines[0] === 'not-a-repository') return { kind: lines[0] }
    const head = /^head ?(.*)$/.exec(lines[0] ?? '')?.[1]
    const origin = /^origin ?(.*)$/.exec(lines[1] ?? '')?.[1]
    if (head === undefined || origin === undefined || (lines[2] !== 'clean' && lines[2] !== 'modified')) fail(`the git checkout in ${dir}`, res, `unexpected output '${res.stdout.trim()}'`)
    return { kind: 'repository', head, origin, modified: lines[2] === 'modified' }
  },
})

/**
 * The commits a remote's refs named `version` point at (`git ls-remote`), by full ref name:
 * `refs/heads/<v>`, `refs/tags/<v>` and, for an annotated tag, `refs/tags/<v>^{}` (its commit).
 * `sshKeyFile` is the key ssh uses on the host; empty for its defaults.
 */
export const gitRemoteRefs = defineFact({
  name: 'git.remoteRefs',
  command: (repo: string, version: string, sshKeyFile: string) =>
    `${gitEnv(sshKeyFile)} git ls-remote -- ${shQuote(repo)} ${['HEAD', `refs/heads/${version}`, `refs/tags/${version}`, `refs/tags/${version}^{}`].map(shQuote).join(' ')}`,
  parse: (res: Executed, repo: string): Readonly<Record<string, string>> => {
    if (res.code !== 0) fail(`the remote refs of ${maskUrl(repo)}`, res, 'git ls-remote failed', repo)
    const refs: Record<string, string> = {}
    for (const line of res.stdout.split('\n')) {
      const m = /^([0-9a-f]{40,64})\t(\S+)$/.exec(line)
      if (m?.[1] && m[2]) refs[m[2]] = m[1]
    }
    return refs
  },
})
