import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Remote } from '../../src/engine/context.ts'
import { fileState, type FileState } from '../../src/facts/file.ts'
import { sysctlLive } from '../../src/facts/sysctl.ts'
import { sysctlStep } from '../../src/modules/sysctl.ts'
import { planWith, recorded, planOn, applyPlan } from '../support/plan-with.ts'
import { localRemote } from '../support/local-remote.ts'

const FILE = '/etc/sysctl.d/99-havn.conf'
// fileState of a real one-line sysctl.d file (sha256 from sha256sum).
const PERSISTED: FileState = {
  kind: 'file', mode: 0o644, uid: 0, gid: 0, owner: 'root', group: 'root', size: 24,
  sha256: 'e2c2ac17097616ee184af9965776f83ad87dcf9e82ada5c8a3ea0f8371813fe8', content: 'net.ipv4.ip_forward = 1\n',
}
const facts = (file: FileState, live: { value: string; writable: boolean } | undefined) => ({
  ...recorded(fileState, [FILE], file),
  ...recorded(sysctlLive, ['net.ipv4.ip_forward'], live),
})

describe('sysctl: planning from recorded facts', () => {
  it('does nothing when the file and the live value match', async () => {
    const plan = await planWith(sysctlStep({ key: 'net.ipv4.ip_forward', value: 1 }), facts(PERSISTED, { value: '1', writable: true }))
    expect(plan.changes).toEqual([])
    expect(plan.commands).toBeUndefined()
  })
  it('persists and sets live in one change set, predicting both facts', async () => {
    const plan = await planWith(sysctlStep({ key: 'net.ipv4.ip_forward', value: '1' }), facts({ kind: 'absent', parentIsDirectory: true }, { value: '0', writable: true }))
    expect(plan.changes).toEqual([
      { resource: `file:${FILE}`, action: 'create', field: 'content', after: 'net.ipv4.ip_forward = 1\n' },
      { resource: 'sysctl:net.ipv4.ip_forward', action: 'update', field: 'value', before: '0', after: '1' },
    ])
    expect(plan.predict?.map((p) => p.key)).toEqual([`file.state ["${FILE}"]`, 'sysctl.live ["net.ipv4.ip_forward"]'])
  })
  it('reports an unwritable live value in the change, without failing or predicting it', async () => {
    const plan = await planWith(sysctlStep({ key: 'net.ipv4.ip_forward', value: 1 }), facts(PERSISTED, { value: '0', writable: false }))
    expect(plan.changes).toEqual([{ resource: 'sysctl:net.ipv4.ip_forward', action: 'update', field: 'value', before: '0', after: '1 (live value not writable here)' }])
    expect(plan.missing).toBeUndefined()
    expect(plan.predict).toEqual([])
  })
  it('is missing when the kernel has no such key', async () => {
    const plan = await planWith(sysctlStep({ key: 'net.ipv4.ip_forward', value: 1 }), facts(PERSISTED, undefined))
    expect(plan.missing).toMatch(/sysctl key net.ipv4.ip_forward does not exist on this host/)
  })
  it('with live: false reads only the file', async () => {
    const plan = await planWith(sysctlStep({ key: 'net.ipv4.ip_forward', value: 1, live: false }), recorded(fileState, [FILE], PERSISTED))
    expect(plan.changes).toEqual([])
  })
})

/** A long-lived process holding fresh namespaces; commands join them with nsenter. Killed by PID. */
function namespaceHolder(args: string[]): Promise<ChildProcess> {
  const child = spawn('unshare', [...args, 'sh', '-c', 'echo ready; exec sleep 120'], { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.stdout!.once('data', () => resolve(child))
  })
}


describe('sysctl: applied for real inside private namespaces', () => {
  const dir = mkdtempSync(join(tmpdir(), 'havn-sysctl-'))
  const held: ChildProcess[] = []
  const hostValue = readFileSync('/proc/sys/net/ipv4/tcp_rmem', 'utf8')
  let rw: Remote & { log: string[] }
  let ro: Remote & { log: string[] }
  beforeAll(async () => {
    const a = await namespaceHolder(['-n'])
    // The read-only bind mount lives in the holder's private mount namespace and dies with it.
    const b = await namespaceHolder(['-n', '-m', '--propagation', 'private', 'sh', '-c', 'mount -o bind,ro /proc/sys /proc/sys && exec "$@"', 'x'])
    held.push(a, b)
    rw = localRemote('ns-rw', ['nsenter', '-t', String(a.pid), '-n'])
    ro = localRemote('ns-ro', ['nsenter', '-t', String(b.pid), '-n', '-m'])
  })
  afterAll(() => {
    for (const c of held) c.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
    // The host's own value must never have been touched.
    expect(readFileSync('/proc/sys/net/ipv4/tcp_rmem', 'utf8')).toBe(hostValue)
  })

  it('persists the line and sets the live value; the next plan sees tabs as spaces and is a no-op', async () => {
    const file = join(dir, 'rw.conf')
    writeFileSync(file, '# tuned by havn\n')
    const spec = sysctlStep({ key: 'net.ipv4.tcp_rmem', value: '4096  87380\t1234567', file })
    const plan = await planOn(spec, rw)
    expect(plan.changes.map((c) => [c.resource, c.after])).toEqual([
      [`file:${file}`, '# tuned by havn\nnet.ipv4.tcp_rmem = 4096 87380 1234567\n'],
      ['sysctl:net.ipv4.tcp_rmem', '4096 87380 1234567'],
    ])
    rw.log.length = 0
    await applyPlan(plan, rw)
    expect(rw.log).toHaveLength(1)
    expect((await rw.exec('cat /proc/sys/net/ipv4/tcp_rmem')).stdout).toBe('4096\t87380\t1234567\n')
    expect(readFileSync(file, 'utf8')).toBe('# tuned by havn\nnet.ipv4.tcp_rmem = 4096 87380 1234567\n')
    expect((await planOn(spec, rw)).changes).toEqual([])
  })

  it('where /proc/sys is read-only, persists the file and reports the live part without failing', async () => {
    const file = join(dir, 'ro.conf')
    const before = (await ro.exec('cat /proc/sys/net/ipv4/tcp_rmem')).stdout
    const plan = await planOn(sysctlStep({ key: 'net.ipv4.tcp_rmem', value: '4096 87380 7654321', file }), ro)
    expect(plan.changes.at(-1)).toMatchObject({ resource: 'sysctl:net.ipv4.tcp_rmem', after: '4096 87380 7654321 (live value not writable here)' })
    await applyPlan(plan, ro)
    expect(readFileSync(file, 'utf8')).toBe('net.ipv4.tcp_rmem = 4096 87380 7654321\n')
    expect((await ro.exec('cat /proc/sys/net/ipv4/tcp_rmem')).stdout).toBe(before)
  })
})
