import { readFile, writeFile } from 'node:fs/promises'
import { sh as $ } from './sh.ts'
import { GATEWAY_SUFFIX, HIDDEN_SUBNET, PREFIX_LENGTH, SUBNET } from './layout.ts'
import { log } from './log.ts'
import type { BedState } from './state.ts'

async function ipBatch(lines: string[], force: boolean): Promise<{ ok: boolean; stderr: string }> {
  if (lines.length === 0) return { ok: true, stderr: '' }
  const args = force ? ['-force', '-batch', '-'] : ['-batch', '-']
  const out = await $({ input: `${lines.join('\n')}\n`, nothrow: true })`ip ${args}`
  return { ok: out.exitCode === 0, stderr: out.stderr.trim() }
}

/**
 * Lists root-namespace devices that already hold an address in our subnets: another bed (or
 * anything else) there would make routing ambiguous, so `up` refuses instead.
 */
export async function subnetConflicts(): Promise<string[]> {
  const out = await $`ip -4 -o addr show to ${`${SUBNET}.0.0/${PREFIX_LENGTH}`}`
  const routes = await $`ip -4 route show exact ${`${HIDDEN_SUBNET}.0.0/${PREFIX_LENGTH}`}`
  const lines = [...out.stdout.split('\n'), ...routes.stdout.split('\n')].map((l) => l.trim()).filter(Boolean)
  return lines
}

const NEIGH = '/proc/sys/net/ipv4/neigh/default'

/**
 * Raises the controller's ARP table thresholds so `hosts` more hosts fit. The table is one for
 * every network namespace, and each host costs two entries (its gateway inside its namespace, its
 * address on the bridge), so Debian's hard limit of 1024 (gc_thresh3) is full at about 510 hosts,
 * fewer with another bed up, after which new neighbours fail to resolve. Never lowers a threshold.
 */
export async function ensureNeighbourRoom(hosts: number): Promise<void> {
  // Hard limit first: the kernel wants gc_thresh2 <= gc_thresh3 to make sense.
  for (const [name, base] of [['gc_thresh3', 1024], ['gc_thresh2', 512]] as const) {
    const file = `${NEIGH}/${name}`
    const current = Number((await readFile(file, 'utf8')).trim())
    const need = base + 2 * hosts
    if (current >= need) continue
    await writeFile(file, `${need}\n`)
    log(`raised net.ipv4.neigh.default.${name} from ${current} to ${need} for ${hosts} host(s)`)
  }
}

/**
 * Creates the bridges, namespaces and veth pairs recorded in `state` (in-namespace addresses are
 * set by each host's init script), after making room for its hosts in the ARP table. Throws with
 * ip's stderr on the first failure.
 */
export async function createNetwork(state: BedState): Promise<void> {
  await ensureNeighbourRoom(state.hosts.length)
  const lines = [
    `link add name ${state.bridge} type bridge`,
    `addr add ${SUBNET}.${GATEWAY_SUFFIX}/${PREFIX_LENGTH} dev ${state.bridge}`,
    `link set ${state.bridge} up`,
  ]
  if (state.hiddenBridge) {
    // No address on this bridge: the controller must not be able to reach hidden hosts.
    lines.push(`link add name ${state.hiddenBridge} type bridge`, `link set ${state.hiddenBridge} up`)
  }
  if (state.unreachableRoute) lines.push(`route add unreachable ${state.unreachableRoute}`)
  for (const host of state.hosts) {
    const bridge = host.hidden ? state.hiddenBridge : state.bridge
    lines.push(
      `netns add ${host.netns}`,
      `link add ${host.veth} type veth peer name eth0 netns ${host.netns}`,
      `link set ${host.veth} master ${bridge} up`,
    )
  }
  const jumpHost = state.hosts.find((h) => !h.hidden)
  if (state.jumpVeth && state.hiddenBridge && jumpHost) {
    lines.push(
      `link add ${state.jumpVeth} type veth peer name eth1 netns ${jumpHost.netns}`,
      `link set ${state.jumpVeth} master ${state.hiddenBridge} up`,
    )
  }
  const result = await ipBatch(lines, false)
  if (!result.ok) throw new Error(`testbed: creating the network failed: ${result.stderr}`)
}

/**
 * Removes every network object recorded in `state`, ignoring ones already gone; idempotent.
 * Call after the hosts' processes are dead so the namespaces are freed at once.
 */
export async function removeNetwork(state: BedState): Promise<void> {
  const existing = new Set((await $`ip netns list`).stdout.split('\n').map((l) => l.split(' ')[0]).filter(Boolean))
  const links = new Set((await $`ip -o link show`).stdout.split('\n').map((l) => l.split(':')[1]?.trim().split('@')[0]).filter(Boolean))
  const lines: string[] = []
  // Root-side veth ends first: deleting a namespace also deletes the peers it holds.
  for (const host of state.hosts) if (links.has(host.veth)) lines.push(`link del ${host.veth}`)
  if (state.jumpVeth && links.has(state.jumpVeth)) lines.push(`link del ${state.jumpVeth}`)
  for (const host of state.hosts) if (existing.has(host.netns)) lines.push(`netns del ${host.netns}`)
  for (const bridge of [state.bridge, state.hiddenBridge]) if (bridge && links.has(bridge)) lines.push(`link del ${bridge}`)
  if (state.unreachableRoute) {
    const route = await $`ip -4 route show exact ${state.unreachableRoute}`
    if (route.stdout.trim()) lines.push(`route del unreachable ${state.unreachableRoute}`)
  }
  const result = await ipBatch(lines, true)
  // Objects that vanished meanwhile (e.g. a peer taken down with its partner) are already removed.
  const gone = /Cannot find device|No such file|No such process|Command failed/
  const real = result.stderr.split('\n').filter((l) => l.trim() && !gone.test(l))
  if (!result.ok && real.length > 0) throw new Error(`testbed: removing the network failed: ${real.join('; ')}`)
}
