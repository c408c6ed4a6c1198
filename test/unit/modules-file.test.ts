import { readFact } from '../../src/engine/facts.ts'
import { randomBytes } from 'node:crypto'
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { secret } from '../../src/connection/quote.ts'
import { CommandFailedError } from '../../src/connection/errors.ts'
import type { StepPlan, StepSpec } from '../../src/engine/step.ts'
import { fileState, type FileState } from '../../src/facts/file.ts'
import { absentStep, directoryStep, fileStep, parseMode } from '../../src/modules/file.ts'
import { lineStep } from '../../src/modules/line.ts'
import { planWith, recorded, type RecordedFacts, planOn, applyPlan } from '../support/plan-with.ts'
import { localRemote } from '../support/local-remote.ts'
import { tempPrefix } from '../../src/modules/atomic-write.ts'


// Fact values as parseFileState returns them for outputs recorded on Debian 12 (see facts-file.test.ts).
const HELLO: FileState = {
  kind: 'file', mode: 0o644, uid: 0, gid: 0, owner: 'root', group: 'root', size: 12,
  sha256: '4a1e67f2fe1d1cc7b31d0ca2ec441da4778203a036a77da10344c85e24ff0f92', content: 'hello\nworld\n',
}
const ABSENT: FileState = { kind: 'absent', parentIsDirectory: true, creator: { owner: 'root', group: 'root', umask: 0o022 } }
const at = (path: string, state: FileState) => recorded(fileState, [path], state)
const predicted = (plan: StepPlan): RecordedFacts => Object.fromEntries((plan.predict ?? []).map((p) => [p.key, p.value]))

describe('file: planning from recorded facts', () => {
  it('does nothing, with no apply, when content and attributes match', async () => {
    const plan = await planWith(fileStep({ path: '/etc/motd', content: 'hello\nworld\n', mode: '0644', owner: 'root', group: '0' }), at('/etc/motd', HELLO))
    expect(plan.changes).toEqual([])
    expect(plan.commands).toBeUndefined()
  })

  it('creates an absent file: content plus each managed attribute, and predicts the new state', async () => {
    const plan = await planWith(fileStep({ path: '/etc/motd', content: 'hi\n', mode: 0o600 }), at('/etc/motd', ABSENT))
    expect(plan.changes).toEqual([
      { resource: 'file:/etc/motd', action: 'create', field: 'content', after: 'hi\n' },
      { resource: 'file:/etc/motd', action: 'create', field: 'mode', after: '0600' },
    ])
    expect(predicted(plan)).toEqual(at('/etc/motd', {
      kind: 'file', mode: 0o600, owner: 'root', group: 'root', size: 3,
      sha256: '98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3f55dc48c5d3fb1107be4', content: 'hi\n',
    }))
    expect(plan.missing).toBeUndefined()
  })

  it('updates content and every differing attribute, one change per field', async () => {
    const plan = await planWith(fileStep({ path: '/etc/motd', content: 'bye\n', mode: '0640', owner: 'nobody', group: 'root' }), at('/etc/motd', HELLO))
    expect(plan.changes).toEqual([
      { resource: 'file:/etc/motd', action: 'update', field: 'content', before: 'hello\nworld\n', after: 'bye\n' },
      { resource: 'file:/etc/motd', action: 'update', field: 'mode', before: '0644', after: '0640' },
      { resource: 'file:/etc/motd', action: 'update', field: 'owner', before: 'root', after: 'nobody' },
    ])
    expect(predicted(plan)[Object.keys(at('/etc/motd', HELLO))[0]!]).toMatchObject({ mode: 0o640, owner: 'nobody', group: 'root', gid: 0, content: 'bye\n', size: 4 })
  })

  it('never reports an attribute the arguments do not manage, and keeps it in the prediction', async () => {
    const plan = await planWith(fileStep({ path: '/etc/motd', content: 'x' }), at('/etc/motd', { ...HELLO, mode: 0o600, owner: 'www-data', uid: 33 }))
    expect(plan.changes.map((c) => c.field)).toEqual(['content'])
    expect(Object.values(predicted(plan))[0]).toMatchObject({ mode: 0o600, owner: 'www-data', uid: 33 })
  })

  it('summarises binary or large content instead of showing it', async () => {
    const bin: FileState = { kind: 'file', mode: 0o644, uid: 0, gid: 0, owner: 'root', group: 'root', size: 6, sha256: 'f525e4bb4f90cc8f9872921265dce151b9624664d02c85a5e3363897b88b52be' }
    const plan = await planWith(fileStep({ path: '/b', content: 'y'.repeat(300_000) }), at('/b', bin))
    expect(plan.changes).toEqual([{ resource: 'file:/b', action: 'update', field: 'content', before: 'sha256:f525e4bb4f90… (6 bytes)', after: expect.stringMatching(/^sha256:[0-9a-f]{12}… \(300000 bytes\)$/) }])
  })

  it('reports a missing parent directory as missing, not as an exception', async () => {
    const plan = await planWith(fileStep({ path: '/opt/app/x', content: 'a' }), { ...at('/opt/app/x', { kind: 'absent', parentIsDirectory: false }), ...at('/opt/app', { kind: 'absent' }) })
    expect(plan.missing).toBe('parent directory /opt/app of /opt/app/x does not exist')
    expect(plan.changes).toHaveLength(1)
  })

  it('trusts a parent directory that an earlier step of the run creates (a predicted fact)', async () => {
    const parent: FileState = { kind: 'directory', mode: 0o755, owner: 'root', group: 'root' }
    const plan = await planWith(fileStep({ path: '/opt/app/x', content: 'a' }), { ...at('/opt/app/x', { kind: 'absent', parentIsDirectory: false }), ...at('/opt/app', parent) })
    expect(plan.missing).toBeUndefined()
    expect(plan.changes).toEqual([{ resource: 'file:/opt/app/x', action: 'create', field: 'content', after: 'a' }])
  })

  it('marks secret content sensitive and never carries it in changes', async () => {
    const canary = `canary-${randomBytes(8).toString('hex')}`
    for (const spec of [fileStep({ path: '/etc/k', content: secret(canary) }), fileStep({ path: '/etc/k', content: canary, sensitive: true })]) {
      const plan = await planWith(spec, at('/etc/k', HELLO))
      expect(plan.changes).toEqual([{ resource: 'file:/etc/k', action: 'update', field: 'content', sensitive: true }])
      expect(JSON.stringify(plan.changes) + spec.name).not.toContain(canary)
    }
  })

  it('rejects bad input clearly', async () => {
    await expect(planWith(fileStep({ path: 'etc/x', content: '' }), {})).rejects.toThrow(/must be absolute/)
    await expect(planWith(fileStep({ path: '/x', content: '', validate: 'visudo -c' }), {})).rejects.toThrow(/must contain %s/)
    await expect(planWith(fileStep({ path: '/x', content: '', mode: 644 }), {})).rejects.toThrow(/decimal typo/)
    await expect(planWith(fileStep({ path: '/d', content: '' }), at('/d', { kind: 'directory', mode: 0o755, owner: 'root', group: 'root' }))).rejects.toThrow(/is a directory/)
    expect(parseMode('2755')).toBe(0o2755)
    expect(parseMode(0o1777)).toBe(0o1777)
  })

  it('composes with a later line step in a check run through the prediction', async () => {
    const write = await planWith(fileStep({ path: '/etc/app.conf', content: 'a = 1\n' }), at('/etc/app.conf', ABSENT))
    const edit = await planWith(lineStep({ path: '/etc/app.conf', line: 'b = 2' }), predicted(write))
    expect(edit.changes).toEqual([{ resource: 'file:/etc/app.conf', action: 'update', field: 'content', before: 'a = 1\n', after: 'a = 1\nb = 2\n' }])
  })
})

describe('directory and absent: planning from recorded facts', () => {
  const DIR: FileState = { kind: 'directory', mode: 0o2750, uid: 0, gid: 0, owner: 'root', group: 'root' }
  it('directory: no-op, create, update', async () => {
    expect((await planWith(directoryStep({ path: '/d', mode: '2750' }), at('/d', DIR))).changes).toEqual([])
    const create = await planWith(directoryStep({ path: '/d', owner: 'nobody' }), at('/d', ABSENT))
    expect(create.changes).toEqual([{ resource: 'directory:/d', action: 'create' }, { resource: 'directory:/d', action: 'create', field: 'owner', after: 'nobody' }])
    expect(Object.values(predicted(create))[0]).toEqual({ kind: 'directory', mode: 0o755, owner: 'nobody', group: 'root' })
    const update = await planWith(directoryStep({ path: '/d', mode: 0o755 }), at('/d', DIR))
    expect(update.changes).toEqual([{ resource: 'directory:/d', action: 'update', field: 'mode', before: '2750', after: '0755' }])
  })
  it('absent: no-op when absent, delete by kind otherwise', async () => {
    const none = await planWith(absentStep({ path: '/x' }), at('/x', ABSENT))
    expect(none.changes).toEqual([])
    expect(none.commands).toBeUndefined()
    expect((await planWith(absentStep({ path: '/x' }), at('/x', HELLO))).changes).toEqual([{ resource: 'file:/x', action: 'delete', before: 'file (12 bytes)' }])
    const link = await planWith(absentStep({ path: '/x' }), at('/x', { kind: 'symlink', target: '/y' }))
    expect(link.changes).toEqual([{ resource: 'symlink:/x', action: 'delete', before: 'symlink -> /y' }])
    expect(predicted(link)).toEqual(at('/x', { kind: 'absent', parentIsDirectory: true }))
  })
})


describe('file, directory, absent: applied for real in a temp dir', () => {
  const root = mkdtempSync(join(tmpdir(), 'havn-file-'))
  let dir = root
  let n = 0
  beforeEach(() => {
    dir = join(root, String(n++))
    mkdirSync(dir)
  })
  afterAll(() => rmSync(root, { recursive: true, force: true }))

  /** Plan, apply, check the prediction against a real read, and check the step is now a no-op. */
  async function converge(spec: StepSpec): Promise<{ plan: StepPlan; execs: string[] }> {
    const remote = localRemote()
    const plan = await planOn(spec, remote)
    await applyPlan(plan, remote)
    for (const p of plan.predict ?? []) {
      const [, path] = /^file\.state \["(.*)"\]$/.exec(p.key) ?? []
      if (path === undefined) continue
      const real = await readFact(remote, fileState, [path])
      // A numeric owner/group given by the user predicts the id; its name is unknowable before applying.
      const want = { ...(p.value as Record<string, unknown>) }
      if ('uid' in want && /^\d+$/.test(String(want.owner))) delete want.owner
      if ('gid' in want && /^\d+$/.test(String(want.group))) delete want.group
      expect(real).toMatchObject(want)
    }
    const again = await planOn(spec, localRemote())
    expect(again.changes).toEqual([])
    return { plan, execs: remote.log }
  }

  it('creates a file with one read and one apply exec, leaving no temp file', async () => {
    const path = join(dir, 'new.conf')
    const { plan, execs } = await converge(fileStep({ path, content: "it's $(not) run\n", mode: 0o640 }))
    expect(plan.changes.map((c) => `${c.action} ${c.field}`)).toEqual(['create content', 'create mode'])
    expect(readFileSync(path, 'utf8')).toBe("it's $(not) run\n")
    expect(statSync(path).mode & 0o7777).toBe(0o640)
    expect(readdirSync(dir)).toEqual(['new.conf'])
    expect(execs).toHaveLength(2 + 1 /* prediction check read */)
  })

  it('creates an empty file when content is not managed, with the umask mode', async () => {
    const path = join(dir, 'empty')
    await converge(fileStep({ path }))
    expect(readFileSync(path, 'utf8')).toBe('')
    expect(statSync(path).mode & 0o777).toBe(0o666 & ~process.umask())
  })

  it('empties a file whose managed content is the empty string', async () => {
    const path = join(dir, 'to-empty')
    writeFileSync(path, 'old content\n', { mode: 0o640 })
    await converge(fileStep({ path, content: '' }))
    expect(readFileSync(path, 'utf8')).toBe('')
    expect(statSync(path).mode & 0o777).toBe(0o640)
  })

  it('updates content atomically (new inode) and keeps an unmanaged mode', async () => {
    const path = join(dir, 'f')
    writeFileSync(path, 'old\n', { mode: 0o600 })
    const ino = statSync(path).ino
    await converge(fileStep({ path, content: 'new\n' }))
    expect(readFileSync(path, 'utf8')).toBe('new\n')
    expect(statSync(path).mode & 0o7777).toBe(0o600)
    expect(statSync(path).ino).not.toBe(ino)
  })

  it('removes the temp file a killed earlier write of the same path left, and no other file', async () => {
    const path = join(dir, 'app.conf')
    writeFileSync(path, 'old\n')
    const stale = `${tempPrefix(path)}${'a'.repeat(18)}`
    writeFileSync(join(dir, stale), 'half')
    const otherTemp = `${tempPrefix(join(dir, 'app.conf.havn-x'))}${'b'.repeat(18)}`
    writeFileSync(join(dir, otherTemp), 'other file in flight')
    await converge(fileStep({ path, content: 'new\n' }))
    expect(readdirSync(dir).sort()).toEqual([otherTemp, 'app.conf'].sort())
  })

  it('changes only the mode in place (same inode) when the content matches', async () => {
    const path = join(dir, 'f')
    writeFileSync(path, 'same\n', { mode: 0o644 })
    const ino = statSync(path).ino
    const { plan, execs } = await converge(fileStep({ path, content: 'same\n', mode: '0600' }))
    expect(plan.changes).toEqual([{ resource: `file:${path}`, action: 'update', field: 'mode', before: '0644', after: '0600' }])
    expect(statSync(path).ino).toBe(ino)
    expect(statSync(path).mode & 0o7777).toBe(0o600)
    expect(execs[1]).not.toContain('mktemp')
  })

  it('changes owner and group (root only), and keeps them across a content rewrite', async () => {
    const path = join(dir, 'owned')
    writeFileSync(path, 'a\n')
    chownSync(path, 0, 0)
    await converge(fileStep({ path, owner: 'nobody', group: 'nogroup' }))
    expect(statSync(path)).toMatchObject({ uid: 65534, gid: 65534 })
    await converge(fileStep({ path, content: 'b\n' }))
    expect(statSync(path)).toMatchObject({ uid: 65534, gid: 65534 })
    const back = await converge(fileStep({ path, owner: 'root', group: '0' }))
    expect(back.plan.changes.map((c) => [c.field, c.before, c.after])).toEqual([['owner', 'nobody', 'root'], ['group', 'nogroup', '0']])
    expect(statSync(path)).toMatchObject({ uid: 0, gid: 0 })
  })

  it('sets setgid after chown, so chown cannot clear it', async () => {
    const path = join(dir, 'sg')
    await converge(fileStep({ path, content: '#!/bin/sh\n', mode: '2755', group: 'nogroup' }))
    expect(statSync(path).mode & 0o7777).toBe(0o2755)
  })

  it('leaves the live file byte-identical when the validator rejects, and reports its output', async () => {
    const path = join(dir, 'sudoers')
    writeFileSync(path, 'good old\n', { mode: 0o440 })
    const remote = localRemote('web1')
    const plan = await planOn(fileStep({ path, content: 'bad new\n', validate: 'grep -q good %s || { echo "syntax error near bad" >&2; exit 3; }' }), remote)
    const err = await applyPlan(plan, remote).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(CommandFailedError)
    expect(err).toMatchObject({ host: 'web1', code: 3 })
    expect((err as Error).message).toMatch(/^host web1: command failed \(exit 3\): write .*sudoers \(validate: grep -q good %s/)
    expect((err as Error).message).toContain('syntax error near bad')
    expect((err as Error).message).toContain('havn: validate command failed (exit 3)')
    expect(readFileSync(path, 'utf8')).toBe('good old\n')
    expect(readdirSync(dir)).toEqual(['sudoers'])
  })

  it('installs content the validator accepts', async () => {
    const path = join(dir, 'ok')
    await converge(fileStep({ path, content: 'good\n', validate: 'grep -q good %s' }))
    expect(readFileSync(path, 'utf8')).toBe('good\n')
  })

  it('backs up the old file with its attributes before replacing it', async () => {
    const path = join(dir, 'cfg')
    writeFileSync(path, 'v1\n', { mode: 0o640 })
    await converge(fileStep({ path, content: 'v2\n', backup: true }))
    const backups = readdirSync(dir).filter((f) => /^cfg\.\d{8}T\d{6}Z~$/.test(f))
    expect(backups).toHaveLength(1)
    expect(readFileSync(join(dir, backups[0]!), 'utf8')).toBe('v1\n')
    expect(statSync(join(dir, backups[0]!)).mode & 0o777).toBe(0o640)
    expect(readFileSync(path, 'utf8')).toBe('v2\n')
  })

  it('fails clearly when the parent directory is missing', async () => {
    const remote = localRemote()
    const plan = await planOn(fileStep({ path: join(dir, 'no', 'x'), content: 'a' }), remote)
    expect(plan.missing).toMatch(/parent directory .*\/no of .*\/no\/x does not exist/)
    await expect(applyPlan(plan, remote)).rejects.toThrow(/parent directory .*\/no does not exist/)
  })

  it('replaces a symlink with a regular file, reporting the type change', async () => {
    const path = join(dir, 'link')
    writeFileSync(join(dir, 'target'), 'target\n')
    symlinkSync('target', path)
    const { plan } = await converge(fileStep({ path, content: 'mine\n' }))
    expect(plan.changes[0]).toEqual({ resource: `file:${path}`, action: 'update', field: 'type', before: 'symlink -> target', after: 'file' })
    expect(readFileSync(join(dir, 'target'), 'utf8')).toBe('target\n')
    expect(statSync(path).isFile()).toBe(true)
  })

  it('never lets secret content reach changes, displays or errors, even when the validator prints it', async () => {
    const canary = `canary-${randomBytes(8).toString('hex')}`
    const path = join(dir, 'secret.env')
    writeFileSync(path, 'old\n')
    const remote = localRemote()
    const spec = fileStep({ path, content: secret(`PASSWORD=${canary}\n`), validate: 'cat %s >&2; echo "rejected: $(cat %s)"; false' })
    const plan = await planOn(spec, remote)
    const err = (await applyPlan(plan, remote).then(() => undefined, (e: unknown) => e)) as CommandFailedError
    expect(err).toBeInstanceOf(CommandFailedError)
    expect(err.message).toContain('rejected: ***')
    const shown = [JSON.stringify(plan.changes), spec.name, err.message, err.display, err.stderrTail, ...remote.log].join('\n')
    expect(shown).not.toContain(canary)
    expect(readFileSync(path, 'utf8')).toBe('old\n')
    const good = await planOn(fileStep({ path, content: secret(`PASSWORD=${canary}\n`) }), remote)
    await applyPlan(good, remote)
    expect(readFileSync(path, 'utf8')).toBe(`PASSWORD=${canary}\n`)
    expect([JSON.stringify(good.changes), ...remote.log].join('\n')).not.toContain(canary)
  })

  it('directory: creates missing parents and the leaf with its mode, then fixes mode and owner in place', async () => {
    const path = join(dir, 'a', 'b')
    await converge(directoryStep({ path, mode: 0o750 }))
    expect(statSync(path).isDirectory()).toBe(true)
    expect(statSync(path).mode & 0o7777).toBe(0o750)
    chmodSync(path, 0o700)
    const { plan } = await converge(directoryStep({ path, mode: 0o750, owner: 'nobody' }))
    expect(plan.changes.map((c) => c.field)).toEqual(['mode', 'owner'])
    expect(statSync(path)).toMatchObject({ uid: 65534 })
  })

  it('absent: removes a directory tree, a file and a dangling symlink', async () => {
    mkdirSync(join(dir, 't', 'u'), { recursive: true })
    writeFileSync(join(dir, 't', 'u', 'f'), 'x')
    writeFileSync(join(dir, 'f'), 'x')
    symlinkSync('nowhere', join(dir, 'l'))
    for (const p of ['t', 'f', 'l']) await converge(absentStep({ path: join(dir, p) }))
    expect(readdirSync(dir)).toEqual([])
    expect(existsSync(join(dir, 't'))).toBe(false)
  })
})
