import { mkdir, readdir, rm, rmdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { inventoryYaml, knownHosts, sshConfig, type ArtifactHost } from './artifacts.ts'
import { cacheDir, ensureBaseImage } from './base-image.ts'
import { withLock } from './cache-lock.ts'
import { killRecorded, startHost, SYSTEMD_CGROUP_ROOT } from './host-process.ts'
import { hostStartOf, kindStack } from './host-start.ts'
import { assignKinds, DEFAULT_KIND, kindParts, type HostKind, type Suite } from './kinds.ts'
import { removeCgroup, requireSystemdCgroups } from './cgroups.ts'
import type { BaseImage } from './base-image.ts'
import { ensureInotifyInstances } from './host-limits.ts'
import { generateKey, randomPassword, shadowHash } from './keys.ts'
import { writeBedLayer, writeHostUpper } from './layers.ts'
import { bedNames, DEFAULT_STATE_DIR, HIDDEN_SUBNET, hostAddress, OWNED_ENTRIES, PREFIX_LENGTH, statePaths, SUBNET } from './layout.ts'
import { log, timed } from './log.ts'
import { createNetwork, removeNetwork, subnetConflicts } from './network.ts'
import { mapLimit } from './pool.ts'
import { RUNTIME_TOOLS, requireTools } from './preflight.ts'
import { readState, writeState, type BedState, type HostRecord } from './state.ts'
import type { Testbed, UpOptions } from './types.ts'

async function refuseSubnetConflicts(): Promise<void> {
  const conflicts = await subnetConflicts()
  if (conflicts.length > 0) {
    throw new Error(`testbed: subnet ${SUBNET}.0.0/${PREFIX_LENGTH} or ${HIDDEN_SUBNET}.0.0/${PREFIX_LENGTH} is already in use (another bed? run 'npm run testbed -- down' with its state folder):\n${conflicts.join('\n')}`)
  }
}

function toTestbed(state: BedState): Testbed {
  const paths = statePaths(state.stateDir)
  const via = state.hosts.find((h) => !h.hidden)?.name ?? ''
  return {
    stateDir: state.stateDir,
    hosts: state.hosts.filter((h) => !h.hidden).map((h) => ({ name: h.name, address: h.address, port: 22, kind: h.kind })),
    hiddenHosts: state.hosts.filter((h) => h.hidden).map((h) => ({ name: h.name, address: h.address, port: 22, kind: h.kind, via })),
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
  await refuseSubnetConflicts()

  const kinds = assignKinds(count, opts.kinds)
  const allKinds = [...new Set<HostKind>([...kinds, ...(jumpOnly > 0 ? [DEFAULT_KIND] : [])])]
  const systemdHosts = kinds.filter((k) => kindParts(k).init === 'systemd').length
  if (systemdHosts > 0) {
    await requireSystemdCgroups()
    await ensureInotifyInstances(systemdHosts)
  }
  const suites = [...new Set(allKinds.map((k) => kindParts(k).suite))]
  const images: Partial<Record<Suite, BaseImage>> = {}
  // One at a time: each build saturates the mirror link and both cores.
  for (const suite of suites) images[suite] = await ensureBaseImage(suite)
  const stackOf = (kind: HostKind) => kindStack({ images, stateDir }, kind)
  const names = bedNames(stateDir)
  const record = (name: string, index: number, hidden: boolean, kind: HostKind): HostRecord => ({
    name,
    address: hostAddress(hidden ? HIDDEN_SUBNET : SUBNET, index),
    kind,
    ...(kindParts(kind).init === 'systemd' ? { cgroup: join(SYSTEMD_CGROUP_ROOT, names.netns(name)) } : {}),
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
    images,
    bridge: names.bridge,
    ...(jumpOnly > 0 ? { hiddenBridge: names.hiddenBridge, jumpVeth: names.jumpVeth, unreachableRoute: `${HIDDEN_SUBNET}.0.0/${PREFIX_LENGTH}` } : {}),
    hosts: [
      ...Array.from({ length: count }, (_, i) => record(`${prefix}${i + 1}`, i + 1, false, kinds[i] as HostKind)),
      ...Array.from({ length: jumpOnly }, (_, i) => record(`hidden${i + 1}`, i + 1, true, DEFAULT_KIND)),
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
    // A bed-wide layer per kind: /etc/shadow differs between releases and once systemd is installed.
    for (const kind of allKinds) {
      const { image, systemd, layer } = stackOf(kind)
      await writeBedLayer({
        rootfs: image.rootfs,
        ...(systemd ? { middle: image.systemdLayer } : {}),
        layer,
        clientPublicKey: clientKey,
        deployPasswordHash: hash,
        hosts: state.hosts,
      })
    }
    const hostKeys = await timed('host keys generated', () =>
      mapLimit(state.hosts, 8, async (h) => {
        for (const sub of ['upper', 'work', 'merged']) await mkdir(join(h.dir, sub), { recursive: true })
        if (h.cgroup) await mkdir(h.cgroup)
        const { image, systemd } = stackOf(h.kind)
        return writeHostUpper(image.rootfs, join(h.dir, 'upper'), h.name, generateKey, systemd)
      }),
    )
    // Checked again under a lock: two beds racing past the first check would share a subnet.
    await withLock(join(cacheDir(), 'network.lock'), async () => {
      await refuseSubnetConflicts()
      await timed('network created', () => createNetwork(state))
    })
    await timed('hosts listening', () =>
      mapLimit(state.hosts, 12, async (h) => {
        Object.assign(h, await startHost(hostStartOf(state, h)))
      }),
    )
    state.phase = 'up'
    await writeState(paths.state, state)

    const artifacts: ArtifactHost[] = state.hosts.map((h, i) => ({
      name: h.name,
      address: h.address,
      hostKey: hostKeys[i] as string,
      ...(h.hidden ? { via: (state.hosts[0] as HostRecord).name } : {}),
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
    for (const h of state.hosts) if (h.cgroup) await removeCgroup(h.cgroup)
  }
  for (const entry of OWNED_ENTRIES) await rm(join(dir, entry), { recursive: true, force: true })
  await rmdir(dir).catch(() => undefined) // fails, as wanted, unless now empty
  if (state) log(`down: ${state.hosts.length} host(s) removed in ${((performance.now() - started) / 1000).toFixed(1)} s`)
}

/** Reads the bed recorded in `stateDir` (default `<repo>/.testbed`), or undefined when none is up. */
export async function currentBed(stateDir: string = DEFAULT_STATE_DIR): Promise<Testbed | undefined> {
  const state = await readState(statePaths(resolve(stateDir)).state)
  return state?.phase === 'up' ? toTestbed(state) : undefined
}
