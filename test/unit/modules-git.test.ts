import { readFact } from '../../src/engine/facts.ts'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { commandsFound } from '../../src/facts/command.ts'
import { fileState, type FileState } from '../../src/facts/file.ts'
import { gitCheckout, gitRemoteRefs } from '../../src/facts/git.ts'
import { pendingInstalls } from '../../src/facts/packages.ts'
import { gitStep, type GitArgs } from '../../src/modules/git.ts'
import { localRemote } from '../support/local-remote.ts'
import { applyPlan, planOn, planWith, recorded } from '../support/plan-with.ts'

const REPO = 'ssh://root@10.221.0.107/srv/app.git'
const DEST = '/srv/app'
const A = 'a'.repeat(40)
const B = 'b'.repeat(40)
const TAG = 'c'.repeat(40)
const ABSENT: FileState = { kind: 'absent', parentIsDirectory: true, creator: { owner: 'root', group: 'root', umask: 0o022 } }
const DIR: FileState = { kind: 'directory', mode: 0o755, owner: 'root', group: 'root', uid: 0, gid: 0 }
const hasGit = recorded(commandsFound, [['git']], ['git'])
// As `git ls-remote` prints them for a repository with branch main and annotated tag v1.0.
const refs = (version: string, key = '') => recorded(gitRemoteRefs, [REPO, version, key], { HEAD: A, 'refs/heads/main': A, 'refs/tags/v1.0': 'd'.repeat(40), 'refs/tags/v1.0^{}': TAG })
const args: GitArgs = { repo: REPO, dest: DEST, version: 'main', sshKeyFile: '/root/.ssh/id_ed25519' }

describe('git: planned on recorded facts', () => {
  it('clones into an absent dest at the branch commit, with the key for ssh, and predicts the checkout and the directory', async () => {
    const plan = await planWith(gitStep(args), { ...hasGit, ...recorded(fileState, [DEST], ABSENT), ...refs('main', '/root/.ssh/id_ed25519') })
    expect(plan.changes).toEqual([{ resource: `git:${DEST}`, action: 'create', field: 'commit', before: '(absent)', after: A }])
    const [cmd] = plan.commands ?? []
    expect(cmd?.display).toBe(`git clone ${REPO} ${DEST} at main (${A.slice(0, 12)})`)
    expect(cmd?.script).toContain(`GIT_SSH_COMMAND='ssh -o BatchMode=yes -o IdentitiesOnly=yes -i '\\''/root/.ssh/id_ed25519'\\'''`)
    expect(cmd?.script).toContain(`git checkout -q --force -B 'main' ${A}`)
    expect(plan.predict).toEqual([
      { key: `git.checkout ${JSON.stringify([DEST])}`, value: { kind: 'repository', head: A, origin: REPO, modified: false } },
      { key: `file.state ${JSON.stringify([DEST])}`, value: { kind: 'directory', mode: 0o755, owner: 'root', group: 'root' } },
    ])
  })

  it('changes nothing when HEAD is the branch commit', async () => {
    const facts = { ...hasGit, ...recorded(fileState, [DEST], DIR), ...recorded(gitCheckout, [DEST], { kind: 'repository', head: A, origin: REPO, modified: false }), ...refs('main', '/root/.ssh/id_ed25519') }
    expect((await planWith(gitStep(args), facts)).changes).toEqual([])
  })

  it('moves to the peeled commit of an annotated tag, reporting before and after', async () => {
    const facts = { ...hasGit, ...recorded(fileState, [DEST], DIR), ...recorded(gitCheckout, [DEST], { kind: 'repository', head: A, origin: REPO, modified: false }), ...refs('v1.0') }
    const plan = await planWith(gitStep({ repo: REPO, dest: DEST, version: 'v1.0' }), facts)
    expect(plan.changes).toEqual([{ resource: `git:${DEST}`, action: 'update', field: 'commit', before: A, after: TAG }])
    expect(plan.commands?.[0]?.script).toContain(`git checkout -q --force --detach ${TAG}`)
    expect(plan.commands?.[0]?.script).toContain(`'+refs/tags/v1.0:refs/tags/v1.0'`)
  })

  it('a full commit id needs no read of the remote', async () => {
    const facts = { ...hasGit, ...recorded(fileState, [DEST], DIR), ...recorded(gitCheckout, [DEST], { kind: 'repository', head: A, origin: REPO, modified: false }) }
    const plan = await planWith(gitStep({ repo: REPO, dest: DEST, version: B }), facts)
    expect(plan.changes).toEqual([{ resource: `git:${DEST}`, action: 'update', field: 'commit', before: A, after: B }])
  })

  it('local modifications fail unless force discards them', async () => {
    const facts = { ...hasGit, ...recorded(fileState, [DEST], DIR), ...recorded(gitCheckout, [DEST], { kind: 'repository', head: A, origin: REPO, modified: true }), ...refs('main') }
    const step = { repo: REPO, dest: DEST, version: 'main' }
    await expect(planWith(gitStep(step), facts)).rejects.toThrow(`git ${DEST}: tracked files in ${DEST} have local modifications; commit or discard them, or set force: true to discard them`)
    const plan = await planWith(gitStep({ ...step, force: true }), facts)
    expect(plan.changes).toEqual([{ resource: `git:${DEST}`, action: 'update', field: 'modifications', before: 'modified files', after: 'discarded' }])
    expect(plan.commands?.[0]?.script).toContain('git reset -q --hard')
  })

  it('an unknown version fails naming the repository with its credentials masked', async () => {
    const repo = 'https://bot:tok-1234@git.example/app.git'
    const facts = { ...hasGit, ...recorded(fileState, [DEST], ABSENT), ...recorded(gitRemoteRefs, [repo, 'abc1234', ''], { HEAD: A }) }
    await expect(planWith(gitStep({ repo, dest: DEST, version: 'abc1234' }), facts)).rejects.toThrow(`git ${DEST}: https://***@git.example/app.git has no branch or tag abc1234 (give a commit as its full id)`)
  })

  it('without git fails saying to install it, and is uncertain in a check run where an earlier step installs it', async () => {
    const none = recorded(commandsFound, [['git']], [])
    await expect(planWith(gitStep(args), { ...none, ...recorded(pendingInstalls, [], []) })).rejects.toThrow(`git ${DEST}: git is not installed on host h1; install it first (packages({ names: ['git'] }))`)
    const plan = await planWith(gitStep(args), { ...none, ...recorded(pendingInstalls, [], ['git']), ...recorded(fileState, [DEST], ABSENT) })
    expect(plan.changes).toEqual([{ resource: `git:${DEST}`, action: 'create', field: 'commit', before: '(absent)', after: 'main' }])
    expect(plan.missing).toBe("git is not installed on host h1; install it first (packages({ names: ['git'] }))")
    expect(plan.uncertain).toBe('git is installed by an earlier step, so the commit of main is not read yet')
  })

  it('a repository URL holding credentials reaches the host on stdin only', async () => {
    const repo = 'https://bot:tok-1234@git.example/app.git'
    const facts = { ...hasGit, ...recorded(fileState, [DEST], ABSENT), ...recorded(gitRemoteRefs, [repo, 'main', ''], { 'refs/heads/main': A }) }
    const [cmd] = (await planWith(gitStep({ repo, dest: DEST, version: 'main' }), facts)).commands ?? []
    expect(cmd?.display).toBe(`git clone https://***@git.example/app.git ${DEST} at main (${A.slice(0, 12)})`)
    expect(cmd?.script).not.toContain('tok-1234')
    expect(cmd?.stdin).toBe(`${repo}\n`)
    expect(cmd?.sensitiveStdin).toBe(true)
  })

  it('refuses a directory with files but no repository, and a version that is no ref name', async () => {
    const facts = { ...hasGit, ...recorded(fileState, [DEST], DIR), ...recorded(gitCheckout, [DEST], { kind: 'not-a-repository' }) }
    await expect(planWith(gitStep(args), facts)).rejects.toThrow(`${DEST} is a directory with files and no git repository`)
    await expect(planWith(gitStep({ ...args, version: '--upload-pack=x' }), {})).rejects.toThrow('is not a branch, tag or commit name')
  })
})

describe('git: applied for real on local repositories', () => {
  const root = mkdtempSync(join(tmpdir(), 'havn-git-'))
  afterAll(() => rmSync(root, { recursive: true, force: true }))
  const run = (cwd: string, ...argv: string[]) => execFileSync('git', argv, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' } }).trim()
  const bare = join(root, 'app.git')
  const work = join(root, 'work')
  mkdirSync(work)
  run(root, 'init', '-q', '--bare', '-b', 'main', bare)
  run(work, 'init', '-q', '-b', 'main')
  const commit = (text: string) => {
    writeFileSync(join(work, 'app.txt'), text)
    run(work, 'add', 'app.txt')
    run(work, 'commit', '-q', '-m', text)
    run(work, 'push', '-q', bare, 'main')
    return run(work, 'rev-parse', 'HEAD')
  }

  it('clones at a branch, changes nothing again, follows a new commit, pins an annotated tag, and discards edits only with force', async () => {
    const first = commit('one\n')
    run(work, 'tag', '-a', '-m', 'v1', 'v1', first)
    run(work, 'push', '-q', bare, 'v1')
    const dest = join(root, 'checkout')
    mkdirSync(dest)
    chmodSync(dest, 0o750)
    const remote = localRemote()
    const converge = async (a: GitArgs) => {
      const plan = await planOn(gitStep(a), remote)
      await applyPlan(plan, remote)
      for (const p of plan.predict ?? []) {
        if (p.key.startsWith('git.checkout')) expect(gitCheckout.parse(await remote.exec(gitCheckout.command(dest)), dest)).toEqual(p.value)
        if (p.key.startsWith('file.state')) expect(await readFact(remote, fileState, [dest])).toMatchObject(p.value as object)
      }
      expect((await planOn(gitStep(a), remote)).changes).toEqual([])
      return plan.changes
    }
    expect(await converge({ repo: bare, dest, version: 'main', depth: 1 })).toEqual([{ resource: `git:${dest}`, action: 'create', field: 'commit', before: '(absent)', after: first }])
    expect(statSync(dest).mode & 0o777).toBe(0o750)
    expect(readdirSync(root).filter((n) => n.includes('havn-'))).toEqual([])
    const second = commit('two\n')
    expect(await converge({ repo: bare, dest, version: 'main', depth: 1 })).toEqual([{ resource: `git:${dest}`, action: 'update', field: 'commit', before: first, after: second }])
    expect(readFileSync(join(dest, 'app.txt'), 'utf8')).toBe('two\n')
    expect(run(dest, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('main')
    expect(await converge({ repo: bare, dest, version: 'v1' })).toEqual([{ resource: `git:${dest}`, action: 'update', field: 'commit', before: second, after: first }])
    expect(readFileSync(join(dest, 'app.txt'), 'utf8')).toBe('one\n')

    writeFileSync(join(dest, 'app.txt'), 'edited\n')
    await expect(planOn(gitStep({ repo: bare, dest, version: second }), remote)).rejects.toThrow('have local modifications')
    expect(await converge({ repo: bare, dest, version: second, force: true })).toEqual([
      { resource: `git:${dest}`, action: 'update', field: 'modifications', before: 'modified files', after: 'discarded' },
      { resource: `git:${dest}`, action: 'update', field: 'commit', before: first, after: second },
    ])
    expect(readFileSync(join(dest, 'app.txt'), 'utf8')).toBe('two\n')
  })
})
