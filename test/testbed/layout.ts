import { createHash } from 'node:crypto'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Which pair of /16 subnets this process's beds use: `HAVN_TESTBED_SLOT` (0–19, default 0) lets
 * several beds run side by side, e.g. one per developer task, each with its own state folder.
 */
export const SLOT = parseSlot(process.env.HAVN_TESTBED_SLOT)
/** Root-namespace subnet of reachable hosts; the bridge holds the gateway address. */
export const SUBNET = `10.${213 + 2 * SLOT}`
/** Subnet behind host 1; the root namespace has an `unreachable` route for it, never an address. */
export const HIDDEN_SUBNET = `10.${214 + 2 * SLOT}`

function parseSlot(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 0
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 0 || n > 19) throw new Error(`testbed: HAVN_TESTBED_SLOT must be a whole number from 0 to 19, got '${raw}'`)
  return n
}
/** Gateway address on each subnet (on the bridge for SUBNET, on host 1's eth1 for HIDDEN_SUBNET). */
export const GATEWAY_SUFFIX = '0.1'
/** Prefix length of both subnets. */
export const PREFIX_LENGTH = 16

/**
 * Address of the `index`-th host (1-based) in `subnet`: host 1 is x.y.0.11, and numbering skips
 * the .0 and .255 last octets, so a /16 holds thousands of hosts.
 */
export function hostAddress(subnet: string, index: number): string {
  if (!Number.isInteger(index) || index < 1) throw new Error(`testbed: host index must be a positive integer, got ${index}`)
  const offset = index + 10 - 1
  const third = Math.floor(offset / 254)
  if (third > 255) throw new Error(`testbed: host index ${index} does not fit in ${subnet}.0.0/${PREFIX_LENGTH}`)
  return `${subnet}.${third}.${(offset % 254) + 1}`
}

/** Short tag derived from the state folder, so interface and netns names of different beds never collide. */
export function bedTag(stateDir: string): string {
  return createHash('sha256').update(stateDir).digest('hex').slice(0, 4)
}

/** Kernel names (each ≤ 15 chars for interfaces) of one bed's root-namespace objects. */
export interface BedNames {
  bridge: string
  hiddenBridge: string
  netns(host: string): string
  veth(kind: 'h' | 'j', index: number): string
  /** Root-side end of host 1's second link (eth1, onto the hidden bridge). */
  jumpVeth: string
}

/** Names for the bed rooted at `stateDir`. */
export function bedNames(stateDir: string): BedNames {
  const tag = bedTag(stateDir)
  return {
    bridge: `hv${tag}br`,
    hiddenBridge: `hv${tag}bj`,
    netns: (host) => `havn-${tag}-${host}`,
    veth: (kind, index) => `hv${tag}${kind}${index}`,
    jumpVeth: `hv${tag}x1`,
  }
}

/** Fixed file locations inside a state folder. */
export function statePaths(stateDir: string) {
  return {
    state: join(stateDir, 'state.json'),
    inventoryDir: join(stateDir, 'inventory'),
    inventory: join(stateDir, 'inventory', 'hosts.yaml'),
    knownHosts: join(stateDir, 'known_hosts'),
    sshConfig: join(stateDir, 'ssh_config'),
    identityFile: join(stateDir, 'id_ed25519'),
    becomePasswordFile: join(stateDir, 'become-password'),
    /** Bed-wide overlay layer (shadow, authorized_keys, /etc/hosts) stacked on the base. */
    layer: join(stateDir, 'layer'),
    hostsDir: join(stateDir, 'hosts'),
    hostDir: (name: string) => join(stateDir, 'hosts', name),
  }
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** The default state folder, `<repo>/.testbed` (gitignored). */
export const DEFAULT_STATE_DIR = join(REPO_ROOT, '.testbed')

/** Entries `up` creates in a state folder; `down` removes exactly these, nothing else. */
export const OWNED_ENTRIES = ['hosts', 'layer', 'inventory', 'known_hosts', 'ssh_config', 'id_ed25519', 'id_ed25519.pub', 'become-password', 'state.json', 'state.json.tmp']
