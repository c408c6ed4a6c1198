import type { HostKind } from '../testbed/index.ts'

/**
 * Which test bed hosts each e2e file may use, so files never disturb each other's hosts.
 * The global setup starts BED_HOSTS hosts plus one jump-only host (`hidden1`, behind host1).
 */
export const BED_HOSTS = 48

/** Hosts that boot systemd as PID 1, by kind; every other host is `bookworm-sysv`. */
export const SYSTEMD_HOSTS = {
  /** host47/48: the service module; host40-43: the site's pg1, db1, edge1 and app1 (a mixed estate). */
  'bookworm-systemd': ['host47', 'host40', 'host43'],
  'trixie-systemd': ['host48', 'host41', 'host42'],
} as const satisfies Partial<Record<HostKind, readonly string[]>>

/** The kind of each of host1..hostBED_HOSTS, in order, as `up` takes them. */
export function bedKinds(): HostKind[] {
  const kinds: HostKind[] = Array.from({ length: BED_HOSTS }, () => 'bookworm-sysv')
  for (const [kind, names] of Object.entries(SYSTEMD_HOSTS) as [HostKind, readonly string[]][]) {
    for (const name of names) kinds[Number(name.slice('host'.length)) - 1] = kind
  }
  return kinds
}

/** host1..host20: fleet tests (read-mostly; see each file), host21: stopped by cli-basics, host22: engine-durability. */
export const ROLE_HOSTS = {
  /** Hub first, then spokes; the last spoke is added to the mesh by a second run. */
  wireguard: ['host23', 'host24', 'host25', 'host26', 'host27'],
  /** A database host and a WireGuard hub + spoke of its own mesh; the spoke is the allowed client. */
  postgres: ['host28', 'host29', 'host30'],
  mysql: ['host31', 'host32'],
  /** The HAProxy host, two core backends and one burst backend. */
  haproxy: ['host33', 'host34', 'host35', 'host36'],
  /** A client to back up and a host that offers an sftp repository. */
  restic: ['host37', 'host38'],
  /** The whole site playbook on fresh hosts of mixed kinds (see SYSTEMD_HOSTS): hub, db, mysql, edge, app, burst. */
  site: ['host39', 'host40', 'host41', 'host42', 'host43', 'host44'],
  /** A hub and a spoke reached as the non-root `deploy` login, every step through sudo. */
  wireguardBecome: ['host45', 'host46'],
} as const
