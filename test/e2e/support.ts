import { execFileSync, spawn } from 'node:child_process'
import { expect } from 'vitest'
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hostExec, type Testbed } from '../testbed/index.ts'
import { events, havn, REPO, type JsonEvent } from './cli.ts'

/** The bed's hosts whose names match, in bed order. */
export function bedHosts(bed: Testbed, names: readonly string[]): Testbed['hosts'] {
  return names.map((n) => {
    const h = bed.hosts.find((x) => x.name === n)
    if (!h) throw new Error(`test bed has no host ${n}`)
    return h
  })
}

/** `host1`…`hostN`. */
export function hostNames(from: number, to: number): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => `host${from + i}`)
}

/** Writes an inventory directory with the given files (relative path → text) and returns its path. */
export function writeInventory(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'havn-inv-'))
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true })
    writeFileSync(join(dir, rel), text)
  }
  return dir
}

/** hosts.yaml text for some bed hosts, each with extra YAML fields (e.g. `user: deploy`). */
export function hostsYaml(hosts: Testbed['hosts'], extra: (name: string) => string = () => ''): string {
  const lines = ['all:', '  hosts:']
  for (const h of hosts) lines.push(`    ${h.name}: { address: ${h.address}, port: ${h.port}${extra(h.name) ? `, ${extra(h.name)}` : ''} }`)
  return `${lines.join('\n')}\n`
}

/** A TCP listener on loopback that counts connection attempts, to prove nothing was contacted. */
export async function connectionCounter(): Promise<{ port: number; count: () => number; close: () => Promise<void> }> {
  let n = 0
  const server: Server = createServer((s) => {
    n++
    s.destroy()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const addr = server.address()
  if (addr === null || typeof addr === 'string') throw new Error('listener has no port')
  return { port: addr.port, count: () => n, close: () => new Promise((resolve) => server.close(() => resolve())) }
}

/**
 * A listing of everything a host has written outside its tmpfs mounts: every path in its overlay
 * upper layer with type, mode, owner, size and content hash. Login accounting that sshd itself
 * writes on every connection (wtmp, lastlog, btmp) is left out; it is not havn's doing.
 */
export function hostWrites(bed: Testbed, host: string): string {
  const upper = join(bed.stateDir, 'hosts', host, 'upper')
  const out = execFileSync(
    'sh',
    ['-c', `cd "$1" && find . \\( -path ./var/log/wtmp -o -path ./var/log/lastlog -o -path ./var/log/btmp \\) -prune -o -printf '%p %y %m %u %g %s\\n' | sort && find . -type f ! -path ./var/log/wtmp ! -path ./var/log/lastlog ! -path ./var/log/btmp -print0 | sort -z | xargs -0r sha256sum`, 'sh', upper],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  )
  return out
}

/** `host resource field` of every change a JSON run reported with one of `statuses`, sorted. */
export function changeSet(evs: readonly JsonEvent[], statuses: readonly string[]): string[] {
  const out = new Set<string>()
  for (const e of evs) {
    if (e.type !== 'step:end' || !statuses.includes(e.status)) continue
    for (const c of e.changes as { resource: string; field?: string }[]) out.add(`${e.host} ${c.resource} ${c.field ?? '-'}`)
  }
  return [...out].sort()
}

/** The failed steps and unreachable hosts of a JSON run. */
export function failures(evs: readonly JsonEvent[]): JsonEvent[] {
  return evs.filter((e) => (e.type === 'step:end' && e.status === 'failed') || e.type === 'host:unreachable')
}

/** Runs a script inside a bed host and returns its stdout; a non-zero exit fails the test. */
export async function hostSh(bed: Testbed, host: string, script: string): Promise<string> {
  const res = await hostExec(bed, host, script)
  if (res.code !== 0) throw new Error(`${host}: ${script} exited ${res.code}: ${res.stderr}`)
  return res.stdout
}

/** Starts havn in the background and resolves once its stdout matches `marker` (bounded: 60 s). */
export function startUntil(args: readonly string[], marker: RegExp): Promise<{ pid: number; done: Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`${REPO}bin/havn.js`, ...args], { cwd: REPO, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] })
    const done = new Promise<number | null>((r) => child.on('close', r))
    let out = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`havn never printed ${marker}: ${out}`))
    }, 60_000)
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      if (marker.test(out)) {
        clearTimeout(timer)
        resolve({ pid: child.pid!, done })
      }
    })
  })
}

/**
 * The proof every module's e2e makes: `havn check ARGS` exits 2 and writes nothing on `hosts`, then
 * `havn run ARGS` exits 0 and changes exactly what the check predicted. ARGS end in `--output json`.
 * Returns the events of both, and all that both printed (for canaries).
 */
export async function checkThenRun(bed: Testbed, hosts: readonly string[], args: readonly string[], env?: Record<string, string>): Promise<{ check: JsonEvent[]; run: JsonEvent[]; printed: string }> {
  const before = hosts.map((h) => hostWrites(bed, h))
  const checked = await havn(['check', ...args], env ? { env } : {})
  const check = events(checked.stdout)
  expect(failures(check), checked.stderr).toEqual([])
  expect(checked.code).toBe(2)
  expect(hosts.map((h) => hostWrites(bed, h))).toEqual(before)
  const ran = await havn(['run', ...args], env ? { env } : {})
  const run = events(ran.stdout)
  expect(failures(run), ran.stderr).toEqual([])
  expect(ran.code).toBe(0)
  expect(changeSet(run, ['changed'])).toEqual(changeSet(check, ['would-change', 'uncertain']))
  return { check, run, printed: [checked.stdout, checked.stderr, ran.stdout, ran.stderr].join('\n') }
}
