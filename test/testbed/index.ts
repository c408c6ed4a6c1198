import { spawn } from 'node:child_process'
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { inventoryYaml, knownHosts, sshConfig, type ArtifactHost } from './artifacts.ts'
import { ensureBaseImage } from './base-image.ts'
import { HOST_ENV, killRecorded, startHost } from './host-process.ts'
import { generateKey, randomPassword, shadowHash } from './keys.ts'
import { writeBedLayer, writeHostUpper } from './layers.ts'
import { bedNames, GATEWAY_SUFFIX, HIDDEN_SUBNET, hostAddress, PREFIX_LENGTH, statePaths, SUBNET } from './layout.ts'
import { log, timed } from './log.ts'
import { createNetwork, removeNetwork, subnetConflicts } from './network.ts'
import { mapLimit } from './pool.ts'
import { RUNTIME_TOOLS, requireTools } from './preflight.ts'
import { readState, updateState, writeState, type BedState, type HostRecord } from './state.ts'

/** A host the controller reaches directly over the bed's bridge. */
export interface TestbedHost {
  name: string
  address: string
  port: 22
}

/** A jump-only host: reachable only through `via` (host 1), via ProxyJump in ssh_config. */
export interface HiddenTestbedHost extends TestbedHost {
  via: string
}

/** A running bed: its hosts and the client-side files that reach them. Plain JSON data. */
export interface Testbed {
  /** Absolute path of the state folder. */
  stateDir: string
  /** Directly reachable hosts, in order (host1 first). */
  hosts: TestbedHost[]
  /** Jump-only hosts (`hidden1..K`), empty unless `jumpOnly` was set. */
  hiddenHosts: HiddenTestbedHost[]
  /** stateDir/inventory, holding hosts.yaml. */
  inventoryDir: string
  /** stateDir/known_hosts, one plain-address line per host key. */
  knownHosts: string
  /** stateDir/ssh_config, one block per host. */
  sshConfig: string
  /** stateDir/id_ed25519, the client key (no passphrase) authorised for root and deploy. */
  identityFile: string
  /** stateDir/become-password: deploy's sudo password, random per bed, no trailing newline. */
  becomePasswordFile: string
}

/** Options of `up`. */
export interface UpOptions {
  /** Number of directly reachable hosts (≥ 1). */
  count: number
  /** State folder; default `<repo>/.testbed`. */
  stateDir?: string
  /** Host name prefix; default 'host'. */
  prefix?: string
  /** Number of extra hosts (`hidden1..K`) reachable only through host 1. */
  jumpOnly?: number
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** The default state folder, `<repo>/.testbed`. */
export const DEFAULT_STATE_DIR = join(REPO_ROOT, '.testbed')

/** Files and folders `up` creates in the state folder; `down` removes exactly these. */
const OWNED_ENTRIES = ['hosts', 'layer', 'inventory', 'known_hosts', 'ssh_config', 'id_ed25519', 'id_ed25519.pub', 'become-password', 'state.json', 'state.json.tmp']

function toTestbed(state: BedState): Testbed {
  const paths = statePaths(state.stateDir)
  const via = state.hosts.find((h) => !h.hidden)?.name ?? ''
  return {
    stateDir: state.stateDir,
    hosts: state.hosts.filter((h) => !h.hidden).map((h) => ({ name: h.name, address: h.address, port: 22 })),
    hiddenHosts: state.hosts.filter((h) => h.hidden).map((h) => ({ name: h.name, address: h.address, port: 22, via })),
    inventoryDir: paths.inventoryDir,
    knownHosts: paths.knownHosts,
    sshConfig: paths.sshConfig,
    identityFile: paths.identityFile,
    becomePasswordFile: paths.becomePasswordFile,
  }
}

/**
 * Starts a bed of `count` hosts (plus `jumpOnly` hidden ones) and writes inventory, known_hosts,
 * ssh_config, keys and state.json into the state folder. An existing bed in the same folder is torn
 * down first. Builds the cached base image on first use. On failure, removes what it made and
 * rethrows.
 */
export async function up(opts: UpOptions): Promise<Testbed> {
  const started = performance.now()
  const count = opts.count
  const jumpOnly = opts.jumpOnly ?? 0
  const prefix = opts.prefix ?? 'host'
  if (!Number.isInteger(count) || count < 1) throw new Error(`testbed: count must be a positive integer, got ${count}`)
  if (!Number.isInteger(jumpOnly) || jumpOnly < 0) throw new Error(`testbed: jumpOnly must be a non-negative integer, got ${jumpOnly}`)
  if (!/^[a-z][a-z0-9-]{0,30}$/.test(prefix)) throw new Error(`testbed: prefix must match [a-z][a-z0-9-]*, got '${prefix}'`)
  await requireTools(RUNTIME_TOOLS)

  const stateDir = resolve(opts.stateDir ?? DEFAULT_STATE_DIR)
  const paths = statePaths(stateDir)
  if (await readState(paths.state)) {
    log(`a bed is already up in ${stateDir}; tearing it down first`)
    await down(stateDir)
  }
  const leftovers = (await readdir(stateDir).catch(() => [] as string[])).filter((n) => !OWNED_ENTRIES.includes(n))
  if (leftovers.length > 0) throw new Error(`testbed: refusing to use ${stateDir}: it holds files the test bed did not make (${leftovers.slice(0, 5).join(', ')})`)
  const conflicts = await subnetConflicts()
  if (conflicts.length > 0) {
    throw new Error(`testbed: subnet ${SUBNET}.0.0/${PREFIX_LENGTH} or ${HIDDEN_SUBNET}.0.0/${PREFIX_LENGTH} is already in use (another bed? run 'npm run testbed -- down' with its state folder):\n${conflicts.join('\n')}`)
  }

  const image = await ensureBaseImage()
  const names = bedNames(stateDir)
  const record = (name: string, index: number, hidden: boolean): HostRecord => ({
    name,
    address: hostAddress(hidden ? HIDDEN_SUBNET : SUBNET, index),
    hidden,
    netns: names.netns(name),
    veth: names.veth(hidden ? 'j' : 'h', index),
    dir: paths.hostDir(name),
  })
  const state: BedState = {
    version: 1,
    stateDir,
    phase: 'starting',
    createdAt: new Date().toISOString(),
    image,
    bridge: names.bridge,
    ...(jumpOnly > 0 ? { hiddenBridge: names.hiddenBridge, jumpVeth: names.jumpVeth, unreachableRoute: `${HIDDEN_SUBNET}.0.0/${PREFIX_LENGTH}` } : {}),
    hosts: [
      ...Array.from({ length: count }, (_, i) => record(`${prefix}${i + 1}`, i + 1, false)),
      ...Array.from({ length: jumpOnly }, (_, i) => record(`hidden${i + 1}`, i + 1, true)),
    ],
  }
  // Recorded before anything exists, so a crash at any point leaves `down` a complete list.
  await mkdir(stateDir, { recursive: true })
  await writeState(paths.state, state)

  try {
    log(`starting ${count} host(s)${jumpOnly ? ` + ${jumpOnly} jump-only` : ''} in ${stateDir}`)
    const password = randomPassword()
    const [clientKey, hash] = await Promise.all([generateKey(paths.identityFile, 'havn-testbed'), shadowHash(password)])
    await writeFile(paths.becomePasswordFile, password, { mode: 0o600 })
    await writeBedLayer({ rootfs: image.rootfs, layer: paths.layer, clientPublicKey: clientKey, deployPasswordHash: hash, hosts: state.hosts })
    const hostKeys = await timed('host keys generated', () =>
      mapLimit(state.hosts, 8, async (h) => {
        for (const sub of ['upper', 'work', 'merged']) await mkdir(join(h.dir, sub), { recursive: true })
        return writeHostUpper(image.rootfs, join(h.dir, 'upper'), h.name, generateKey)
      }),
    )
    await timed('network created', () => createNetwork(state))
    const jumpHost = state.hosts[0] as HostRecord
    await timed('hosts listening', () =>
      mapLimit(state.hosts, 12, async (h) => {
        const pids = await startHost({
          record: h,
          rootfs: image.rootfs,
          layer: paths.layer,
          repo: image.repo,
          gateway: h.hidden ? `${HIDDEN_SUBNET}.${GATEWAY_SUFFIX}` : `${SUBNET}.${GATEWAY_SUFFIX}`,
          ...(h === jumpHost && jumpOnly > 0 ? { secondAddress: `${HIDDEN_SUBNET}.${GATEWAY_SUFFIX}` } : {}),
        })
        Object.assign(h, pids)
      }),
    )
    state.phase = 'up'
    await writeState(paths.state, state)

    const artifacts: ArtifactHost[] = state.hosts.map((h, i) => ({
      name: h.name,
      address: h.address,
      hostKey: hostKeys[i] as string,
      ...(h.hidden ? { via: jumpHost.name } : {}),
    }))
    await mkdir(paths.inventoryDir, { recursive: true })
    await writeFile(paths.inventory, inventoryYaml(artifacts))
    await writeFile(paths.knownHosts, knownHosts(artifacts))
    await writeFile(paths.sshConfig, sshConfig(artifacts, paths.identityFile, paths.knownHosts))
  } catch (error) {
    // Persist the PIDs gathered so far, then clean up; the original error is what the user needs.
    await writeState(paths.state, state).catch(() => undefined)
    await down(stateDir).catch((cleanup: unknown) => log(`cleanup after failed up also failed: ${String(cleanup)}`))
    throw error
  }
  log(`up: ${state.hosts.length} host(s) in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return toTestbed(state)
}

/**
 * Tears down the bed recorded in `stateDir` (default `<repo>/.testbed`): kills every recorded
 * process by PID, deletes namespaces, veths, bridges and the route, and removes the files `up`
 * made. Idempotent: a missing or half-made bed is not an error.
 */
export async function down(stateDir: string = DEFAULT_STATE_DIR): Promise<void> {
  const started = performance.now()
  const dir = resolve(stateDir)
  const paths = statePaths(dir)
  const state = await readState(paths.state)
  if (state) {
    // PID 1 first: the kernel then kills every process in that host's PID namespace.
    await Promise.all(state.hosts.map(async (h) => {
      await killRecorded(h.pid, h.startTime)
      await killRecorded(h.parentPid, h.parentStartTime)
    }))
    await removeNetwork(state)
  }
  for (const entry of OWNED_ENTRIES) await rm(join(dir, entry), { recursive: true, force: true })
  await rm(dir).catch(() => undefined) // only if now empty
  if (state) log(`down: ${state.hosts.length} host(s) removed in ${((performance.now() - started) / 1000).toFixed(1)} s`)
}

async function loadBed(bed: Testbed, host: string): Promise<HostRecord> {
  const state = await readState(statePaths(bed.stateDir).state)
  if (!state) throw new Error(`testbed: no bed is up in ${bed.stateDir}`)
  const record = state.hosts.find((h) => h.name === host)
  if (!record) throw new Error(`testbed: no host '${host}' in ${bed.stateDir} (have: ${state.hosts.map((h) => h.name).join(', ')})`)
  return record
}

/**
 * Runs `script` with /bin/sh as root inside `host` (all its namespaces and its root, entered via
 * nsenter on its PID 1), with a clean environment. Never throws for a non-zero exit; throws if the
 * host is not running or the script outlives `timeoutMs` (default 300 s).
 */
export async function hostExec(bed: Testbed, host: string, script: string, timeoutMs = 300_000): Promise<{ code: number; stdout: string; stderr: string }> {
  const record = await loadBed(bed, host)
  if (record.pid === undefined || !(await stat(`/proc/${record.pid}`).then(() => true, () => false))) {
    throw new Error(`testbed: host ${host} is not running`)
  }
  const args = ['--target', String(record.pid), '--mount', '--uts', '--ipc', '--net', '--pid', '--root', '--wd', '--', '/usr/bin/env', '-i', ...HOST_ENV, 'HOME=/root', '/bin/sh', '-c', script]
  return new Promise((resolvePromise, reject) => {
    const child = spawn('nsenter', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      if (signal === 'SIGKILL' && code === null) reject(new Error(`testbed: script on ${host} timed out after ${timeoutMs / 1000} s; stderr: ${stderr.slice(-500)}`))
      else resolvePromise({ code: code ?? 128, stdout, stderr })
    })
  })
}

/**
 * Makes `host` unreachable by killing its PID 1 (sshd) by PID, which ends every process in it.
 * Its namespace and address stay, so a TCP connect is answered at once with RST: connection
 * refused, not a timeout. Idempotent.
 */
export async function stopHost(bed: Testbed, host: string): Promise<void> {
  const record = await loadBed(bed, host)
  await killRecorded(record.pid, record.startTime)
  await killRecorded(record.parentPid, record.parentStartTime)
  await updateState(statePaths(bed.stateDir).state, (state) => {
    const stored = state.hosts.find((h) => h.name === host)
    if (!stored) return
    delete stored.pid
    delete stored.startTime
    delete stored.parentPid
    delete stored.parentStartTime
  })
}

/** Reads the bed recorded in `stateDir` (default `<repo>/.testbed`), or undefined when none is up. */
export async function currentBed(stateDir: string = DEFAULT_STATE_DIR): Promise<Testbed | undefined> {
  const state = await readState(statePaths(resolve(stateDir)).state)
  return state?.phase === 'up' ? toTestbed(state) : undefined
}
