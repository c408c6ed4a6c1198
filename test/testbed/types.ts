import type { HostKind } from './kinds.ts'

/** A host the controller reaches directly over the bed's bridge. */
export interface TestbedHost {
  name: string
  address: string
  port: 22
  /** Release and init system, e.g. `bookworm-sysv`, `trixie-systemd`. */
  kind: HostKind
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
  /** Kinds assigned to host1..hostN round-robin (default: all `bookworm-sysv`); hidden hosts take the default. */
  kinds?: readonly HostKind[]
}
