import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { commandSucceeds } from '../../src/facts/command.ts'
import { fileState, parseFileState } from '../../src/facts/file.ts'
import { markerPath, unarchiveStep, type UnarchiveArgs } from '../../src/modules/unarchive.ts'
import { localRemote } from '../support/local-remote.ts'
import { applyPlan, planOn, planWith, recorded } from '../support/plan-with.ts'
import { tempDirs } from '../support/temp-dirs.ts'

const fresh = tempDirs('havn-unarchive-')

/** A tree `app-1.0/{bin/run, conf/app.conf}` packed with the controller's tar or zip; returns the archive. */
function pack(kind: 'tar' | 'tar.gz' | 'tar.xz' | 'tar.bz2' | 'zip', conf = 'port = 8080\n'): string {
  const dir = fresh()
  mkdirSync(join(dir, 'app-1.0', 'bin'), { recursive: true })
  mkdirSync(join(dir, 'app-1.0', 'conf'))
  writeFileSync(join(dir, 'app-1.0', 'bin', 'run'), '#!/bin/sh\necho run\n', { mode: 0o755 })
  writeFileSync(join(dir, 'app-1.0', 'conf', 'app.conf'), conf)
  const out = join(dir, `app.${kind}`)
  if (kind === 'zip') execFileSync('zip', ['-qr', out, 'app-1.0'], { cwd: dir })
  else execFileSync('tar', ['-caf', out, 'app-1.0'], { cwd: dir })
  return out
}
const sum = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex')

// fileState output as a Debian 12 bed host prints it.
const DIR = parseFileState({ code: 0, stdout: 'directory 755 0 0 4096 root root\n', stderr: '' }, '/srv/app')
const ABSENT = parseFileState({ code: 0, stdout: 'absent 1 root root 0022\n', stderr: '' }, '/srv/app')
const markerFile = (text: string) => parseFileState({ code: 0, stdout: `file 644 0 0 ${text.length} root root\ncontent\n${Buffer.from(text).toString('base64')}\n`, stderr: '' }, '/srv/app/x')

describe('unarchive (recorded facts)', () => {
  const archive = pack('tar.gz')
  const sha = sum(archive)
  const marker = markerPath('/srv/app', 'app.tar.gz')
  const facts = (markerState = parseFileState({ code: 0, stdout: 'absent 1 root root 0022\n', stderr: '' }, marker)) => ({
    ...recorded(fileState, ['/srv/app'], DIR),
    ...recorded(fileState, [marker], markerState),
  })

  it('extracts a controller archive (streamed from its file) when no marker is there, then writes the marker and predicts it', async () => {
    const plan = await planWith(unarchiveStep({ src: archive, dest: '/srv/app', stripComponents: 1, owner: 'www-data' }), facts())
    const text = `app.tar.gz sha256=${sha} strip=1 owner=www-data`
    expect(plan.changes).toEqual([{ resource: 'directory:/srv/app', action: 'update', field: 'extracted', after: text }])
    expect(plan.commands?.map((c) => c.display)).toEqual(['extract app.tar.gz into /srv/app', `write ${marker}`])
    expect(plan.commands?.[0]).toMatchObject({ stdinFile: archive })
    expect(plan.commands?.[0]?.script).toContain('--strip-components=1')
    expect(plan.commands?.[1]?.stdin).toBe(`${text}\n`)
    expect(plan.predict).toEqual([{ key: `file.state ${JSON.stringify([marker])}`, value: expect.objectContaining({ kind: 'file', content: `${text}\n` }) }])
    expect(plan.missing).toBeUndefined()
  })

  it('changes nothing when the marker holds this archive and these options, and extracts again when either differs', async () => {
    const same = `app.tar.gz sha256=${sha} strip=1 owner=www-data\n`
    expect((await planWith(unarchiveStep({ src: archive, dest: '/srv/app', stripComponents: 1, owner: 'www-data' }), facts(markerFile(same)))).changes).toEqual([])
    const other = await planWith(unarchiveStep({ src: archive, dest: '/srv/app', stripComponents: 1 }), facts(markerFile(same)))
    expect(other.changes).toEqual([{ resource: 'directory:/srv/app', action: 'update', field: 'extracted', before: same.trim(), after: `app.tar.gz sha256=${sha} strip=1` }])
  })

  it('creates dest with createDest, and otherwise says it is missing', async () => {
    const absent = recorded(fileState, ['/srv/app'], ABSENT)
    const plan = await planWith(unarchiveStep({ src: archive, dest: '/srv/app', createDest: true }), absent)
    expect(plan.changes.map((c) => `${c.action} ${c.field ?? '-'}`)).toEqual(['create -', 'create extracted'])
    expect(plan.commands?.[0]?.script).toMatch(/^mkdir -p -- "\$d"/m)
    expect(plan.predict?.[0]).toEqual({ key: 'file.state ["/srv/app"]', value: { kind: 'directory', mode: 0o755, owner: 'root', group: 'root' } })
    const noCreate = await planWith(unarchiveStep({ src: archive, dest: '/srv/app' }), absent)
    expect(noCreate.missing).toBe('unarchive /srv/app: directory /srv/app does not exist; create it first or set createDest')
  })

  it('reads a remote archive\'s sum from the host; a zip needs unzip there, a .tar.xz xz', async () => {
    const bigSum = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    const remote = parseFileState({ code: 0, stdout: `file 644 0 0 9000000 root root\n${bigSum}  -\n`, stderr: '' }, '/tmp/app.zip')
    const zipMarker = markerPath('/srv/app', 'app.zip')
    const base = { ...recorded(fileState, ['/tmp/app.zip'], remote), ...recorded(fileState, ['/srv/app'], DIR), ...recorded(fileState, [zipMarker], ABSENT) }
    const withUnzip = await planWith(unarchiveStep({ src: '/tmp/app.zip', remoteSrc: true, dest: '/srv/app' }), { ...base, ...recorded(commandSucceeds, ['command -v unzip >/dev/null 2>&1'], true) })
    expect(withUnzip.changes[0]?.after).toBe(`app.zip sha256=${bigSum}`)
    expect(withUnzip.commands?.[0]?.script).toContain(`a='/tmp/app.zip'`)
    expect(withUnzip.commands?.[0]?.script).toContain('unzip -q -o "$a" -d "$s"')
    expect(withUnzip.commands?.[0]?.stdinFile).toBeUndefined()
    const without = await planWith(unarchiveStep({ src: '/tmp/app.zip', remoteSrc: true, dest: '/srv/app' }), { ...base, ...recorded(commandSucceeds, ['command -v unzip >/dev/null 2>&1'], false) })
    expect(without.missing).toBe("unarchive /srv/app: unzip is not installed on the host; install the package unzip first (packages({ names: ['unzip'] }))")
    const xz = parseFileState({ code: 0, stdout: `file 644 0 0 9000000 root root\n${bigSum}  -\n`, stderr: '' }, '/tmp/app.tar.xz')
    const noXz = await planWith(unarchiveStep({ src: '/tmp/app.tar.xz', remoteSrc: true, dest: '/srv/app' }), { ...base, ...recorded(fileState, ['/tmp/app.tar.xz'], xz), ...recorded(fileState, [markerPath('/srv/app', 'app.tar.xz')], ABSENT), ...recorded(commandSucceeds, ['command -v xz >/dev/null 2>&1'], false) })
    expect(noXz.missing).toBe("unarchive /srv/app: xz is not installed on the host; install the package xz-utils first (packages({ names: ['xz-utils'] }))")
    const gone = await planWith(unarchiveStep({ src: '/tmp/app.tar', remoteSrc: true, dest: '/srv/app' }), { ...base, ...recorded(fileState, ['/tmp/app.tar'], ABSENT), ...recorded(fileState, [markerPath('/srv/app', 'app.tar')], ABSENT) })
    expect(gone.missing).toBe('unarchive /srv/app: the archive /tmp/app.tar does not exist on the host')
  })

  it('refuses bad arguments naming dest', async () => {
    await expect(planWith(unarchiveStep({ src: '/tmp/a.zip', remoteSrc: true, dest: '/srv/app', stripComponents: 1 }), {})).rejects.toThrow('unarchive /srv/app: stripComponents applies to tar archives only')
    await expect(planWith(unarchiveStep({ src: archive, dest: '/srv/app', mode: '644; rm' }), {})).rejects.toThrow("unarchive /srv/app: mode '644; rm' is neither octal")
    await expect(planWith(unarchiveStep({ src: 'app.tar.gz', dest: '/srv/app' }), {})).rejects.toThrow('unarchive: src must be an absolute path')
    await expect(planWith(unarchiveStep({ src: '/nonexistent/app.tar.gz', dest: '/srv/app' }), {})).rejects.toThrow('unarchive: cannot read /nonexistent/app.tar.gz on the controller: no such file or directory')
    const file = parseFileState({ code: 0, stdout: 'file 644 0 0 0 root root\ncontent\n', stderr: '' }, '/srv/app')
    await expect(planWith(unarchiveStep({ src: archive, dest: '/srv/app' }), recorded(fileState, ['/srv/app'], file))).rejects.toThrow('unarchive /srv/app: the host has a file there, not a directory')
  })
})

describe('unarchive: applied for real in a temp dir', () => {
  /** Plans, applies, and checks that planning again changes nothing. */
  async function converge(args: UnarchiveArgs) {
    const remote = localRemote()
    const plan = await planOn(unarchiveStep(args), remote)
    await applyPlan(plan, remote)
    expect((await planOn(unarchiveStep(args), localRemote())).changes).toEqual([])
    return plan
  }

  it('extracts a tar.gz with stripComponents and mode, keeps what dest had, and extracts a changed archive again', async () => {
    const dest = join(fresh(), 'app')
    const archive = pack('tar.gz')
    const plan = await converge({ src: archive, dest, createDest: true, stripComponents: 1, mode: 'go-w' })
    expect(plan.changes.map((c) => c.action)).toEqual(['create', 'create'])
    expect(readFileSync(join(dest, 'conf', 'app.conf'), 'utf8')).toBe('port = 8080\n')
    expect(statSync(join(dest, 'bin', 'run')).mode & 0o777).toBe(0o755)
    expect(readdirSync(dest).sort()).toEqual(['.havn-unarchive-app.tar.gz', 'bin', 'conf'])
    writeFileSync(join(dest, 'conf', 'local.conf'), 'mine\n')
    writeFileSync(archive, readFileSync(pack('tar.gz', 'port = 9090\n')))
    const again = await converge({ src: archive, dest, createDest: true, stripComponents: 1, mode: 'go-w' })
    expect(again.changes).toHaveLength(1)
    expect(readFileSync(join(dest, 'conf', 'app.conf'), 'utf8')).toBe('port = 9090\n')
    expect(readFileSync(join(dest, 'conf', 'local.conf'), 'utf8')).toBe('mine\n')
  })

  it('extracts a zip already on the host, through a symlink to the directory', async () => {
    const real = fresh()
    const dest = join(fresh(), 'current')
    symlinkSync(real, dest)
    await converge({ src: pack('zip'), dest, remoteSrc: true })
    expect(readFileSync(join(real, 'app-1.0', 'conf', 'app.conf'), 'utf8')).toBe('port = 8080\n')
  })

  it.each(['tar', 'tar.xz', 'tar.bz2'] as const)('extracts a .%s, the compression found by tar', async (kind) => {
    const dest = fresh()
    await converge({ src: pack(kind), dest, stripComponents: 1 })
    expect(readFileSync(join(dest, 'conf', 'app.conf'), 'utf8')).toBe('port = 8080\n')
  })

  it('writes no marker when the extraction fails, so the next run tries again', async () => {
    const dest = fresh()
    const bad = join(fresh(), 'broken.tar.gz')
    writeFileSync(bad, 'this is not a tar archive\n')
    const remote = localRemote()
    const plan = await planOn(unarchiveStep({ src: bad, dest }), remote)
    await expect(applyPlan(plan, remote)).rejects.toThrow(/extract broken\.tar\.gz/)
    expect(existsSync(markerPath(dest, 'broken.tar.gz'))).toBe(false)
    expect(readdirSync(dest)).toEqual([])
    expect((await planOn(unarchiveStep({ src: bad, dest }), localRemote())).changes).toHaveLength(1)
  })
})
