import { readFile, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { startLatencyProxy, type LatencyProxy } from '../testbed/latency-proxy.ts'
import { runHavn, type BedFiles } from './havn-run.ts'
import { measure, type Measured } from './measure.ts'
import type { Row } from './report.ts'
import { APP_ENV, hostVars, type BenchHost } from './workspace.ts'

/** One side of the WAN case: its runs, and the round trips each host took in each run. */
export interface WanRow extends Row {
  /** Per run, the round trips of each host (summed over its connections), in host order. */
  readonly roundTrips: readonly (readonly number[])[]
  /** Per run, the connections each host opened through its proxy, in host order. */
  readonly connections: readonly (readonly number[])[]
}

/** The WAN case: the floor and havn's no-change run with `delayMs` on every host's path, each way. */
export interface WanResult {
  readonly hosts: number
  readonly delayMs: number
  readonly floor: WanRow
  readonly havn: WanRow
  /** What went wrong converging the hosts through the proxies before the timed runs. */
  readonly setupProblems: readonly string[]
}

/** What the WAN case needs from the bench. */
export interface WanSetup {
  readonly hosts: readonly BenchHost[]
  readonly n: number
  readonly delayMs: number
  readonly reps: number
  readonly work: string
  readonly floorJs: string
  readonly files: BedFiles
  /** Removes W5's files from the first n hosts. */
  readonly reset: (n: number) => Promise<void>
  readonly say: (msg: string) => void
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Writes the WAN twins of the bench's files, every host at 127.0.0.1:<its proxy's port>: a havn
 * inventory (same names and vars, so converged hosts stay converged), a known_hosts with
 * `[127.0.0.1]:PORT` names (as havn and OpenSSH look up a port other than 22), an ssh_config
 * for 127.0.0.1 using it, and the floor's target list. `vars` are added to the inventory's group vars.
 */
export async function writeWanTargets(dir: string, hosts: readonly BenchHost[], proxies: readonly LatencyProxy[], files: BedFiles, vars: Readonly<Record<string, string>> = {}): Promise<{ inventory: string; floorHosts: string; files: BedFiles }> {
  const keys = new Map<string, string>()
  for (const line of (await readFile(files.knownHosts, 'utf8')).split('\n')) {
    const [address, type, key] = line.trim().split(/\s+/)
    if (address && type && key) keys.set(address, `${type} ${key}`)
  }
  const inventory = join(dir, `wan-havn-${hosts.length}`)
  await mkdir(inventory, { recursive: true })
  const inv = ['all:', '  vars:', `    app_env: ${APP_ENV}`, ...Object.entries(vars).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`), '  hosts:']
  const known: string[] = []
  hosts.forEach((h, i) => {
    const port = (proxies[i] as LatencyProxy).port
    const key = keys.get(h.address)
    if (!key) throw new Error(`wan: no host key for ${h.address} in ${files.knownHosts}`)
    inv.push(`    ${h.name}: { address: 127.0.0.1, port: ${port}, user: root, app_port: ${hostVars(i).app_port} }`)
    known.push(`[127.0.0.1]:${port} ${key}`)
  })
  await writeFile(join(inventory, 'hosts.yaml'), `${inv.join('\n')}\n`)
  const knownHosts = join(dir, 'wan-known_hosts')
  await writeFile(knownHosts, `${known.join('\n')}\n`)
  const sshConfig = join(dir, 'wan-ssh_config')
  await writeFile(sshConfig, ['Host 127.0.0.1', '  User root', `  IdentityFile ${files.identityFile}`, '  IdentitiesOnly yes', `  UserKnownHostsFile ${knownHosts}`, '  GlobalKnownHostsFile /dev/null', '  StrictHostKeyChecking yes', ''].join('\n'))
  const floorHosts = join(dir, `wan-floor-${hosts.length}.json`)
  await writeFile(floorHosts, JSON.stringify(proxies.map((p) => ({ address: '127.0.0.1', port: p.port }))))
  return { inventory, floorHosts, files: { sshConfig, knownHosts, identityFile: files.identityFile } }
}

/** Runs `work` with fresh proxy counters, then (after anything still in flight has passed) reads each host's round trips. */
export async function counted(proxies: readonly LatencyProxy[], delayMs: number, work: () => Promise<Measured & { problems?: readonly string[] }>): Promise<{ m: Measured; problems: readonly string[]; roundTrips: number[]; connections: number[] }> {
  for (const p of proxies) p.resetStats()
  const m = await work()
  // A server's answer to the client's last burst may still be on its way through the proxy.
  await sleep(2 * delayMs + 100)
  const roundTrips = proxies.map((p) => p.connections().reduce((sum, c) => sum + c.roundTrips, 0))
  const connections = proxies.map((p) => p.connections().length)
  return { m, problems: m.problems ?? [], roundTrips, connections }
}

/** A WAN row being filled: `add` takes one {@link counted} run. */
export function countedRow(): WanRow & { add(r: Awaited<ReturnType<typeof counted>>): void } {
  const row = { runs: [] as Measured[], problems: [] as string[], roundTrips: [] as number[][], connections: [] as number[][] }
  return {
    ...row,
    add(r) {
      row.runs.push(r.m)
      row.problems.push(...r.problems)
      row.roundTrips.push(r.roundTrips)
      row.connections.push(r.connections)
    },
  }
}

/**
 * The WAN case: a latency proxy per host (`delayMs` each way), the hosts converged through them
 * (unmeasured), then `reps` interleaved repetitions of the floor and havn's no-change run, both
 * through the proxies. Always closes every proxy.
 */
export async function measureWan(s: WanSetup): Promise<WanResult> {
  const subset = s.hosts.slice(0, s.n)
  const proxies: LatencyProxy[] = []
  try {
    for (const h of subset) proxies.push(await startLatencyProxy({ targetHost: h.address, targetPort: 22, delayMs: s.delayMs }))
    const t = await writeWanTargets(s.work, subset, proxies, s.files)
    await s.reset(s.n)
    const converge = await runHavn('first', t.inventory, s.n, t.files)
    s.say(`WAN N=${s.n}, ${s.delayMs} ms each way: converging first run ${converge.wallS.toFixed(2)} s${converge.problems.length ? ` PROBLEM: ${converge.problems[0]}` : ''}`)
    const floor = countedRow()
    const havn = countedRow()
    for (let r = 0; r < s.reps; r++) {
      const f = await counted(proxies, s.delayMs, async () => {
        const m = await measure(process.execPath, [s.floorJs, t.floorHosts, t.files.identityFile, t.files.knownHosts], { timeoutMs: 120_000 })
        return { ...m, problems: m.code === 0 ? [] : [`floor exit ${String(m.code)}: ${m.stdout.slice(0, 300)} ${m.stderr.slice(-300)}`] }
      })
      floor.add(f)
      const h = await counted(proxies, s.delayMs, () => runHavn('second', t.inventory, s.n, t.files))
      havn.add(h)
      s.say(`WAN N=${s.n} rep ${r + 1}/${s.reps}: floor ${f.m.wallS.toFixed(2)} s, havn no-change ${h.m.wallS.toFixed(2)} s${h.problems.length ? ` PROBLEM: ${h.problems[0]}` : ''}`)
    }
    return { hosts: s.n, delayMs: s.delayMs, floor, havn, setupProblems: converge.problems }
  } finally {
    await Promise.all(proxies.map((p) => p.close()))
  }
}
