import type { HostKind } from '../testbed/index.ts'

/**
 * Which test bed hosts each e2e file may use, so files never disturb each other's hosts.
 * The global setup starts BED_HOSTS hosts plus one jump-only host (`hidden1`, behind host1).
 */
export const BED_HOSTS = 104

/** The kinds every role is proven on: each role's e2e runs once per kind, on its own hosts. */
export const ROLE_KINDS = ['bookworm-sysv', 'bookworm-systemd', 'trixie-systemd'] as const

/** A kind a role is proven on. */
export type RoleKind = (typeof ROLE_KINDS)[number]

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
  /** Saved plans: check --out, drift by hand on the second host, apply; the last host drifts in the middle of an apply. */
  plan: ['host77', 'host78', 'host79'],
  planMidway: ['host80'],
  /** The site playbook from fresh hosts while its controller is SIGKILLed again and again (faults). */
  faultSite: ['host81', 'host82', 'host83', 'host84', 'host85', 'host86'],
  /** group, user, authorizedKey and cron on each kind: bookworm sysv, bookworm systemd, trixie systemd. */
  accounts: ['host88', 'host89', 'host90'],
  /** copy: one host logged in as root, one as deploy through sudo. */
  copy: ['host91', 'host92'],
  /** template: one host. */
  template: ['host93'],
  /** download: a host with curl (fetches itself) and one with neither curl nor wget (the controller fetches). */
  download: ['host94', 'host95'],
  /** git: the checkout host, then the host holding the bare repository it clones over SSH. */
  git: ['host96', 'host97'],
  /** unarchive: one host. */
  unarchive: ['host98'],
  /** mount: bookworm sysv, bookworm systemd, trixie systemd. */
  mount: ['host99', 'host100', 'host101'],
  /** aptRepository: bookworm sysv (gpgv) and trixie systemd (apt 3). */
  aptRepository: ['host102', 'host103'],
  /** The example role of playbooks/examples/ops-baseline (trixie systemd). */
  example: ['host104'],
} as const

/**
 * The ProxyJump case of the fault suite: a bastion and 50 hosts reached only through it. The
 * targets are other files' hosts; the case only reads how each was reached.
 */
export const BASTION = { jump: 'host87', targets: Array.from({ length: 50 }, (_, i) => `host${i + 37}`) } as const

/** The role sets that run on every kind of ROLE_KINDS; on systemd kinds the mesh is a hub and two spokes. */
export type RoleHosts = { readonly [R in 'wireguard' | 'postgres' | 'mysql' | 'haproxy' | 'restic']: readonly string[] }

/** The same sets on hosts of one systemd kind, numbered from `first`: wireguard 3, postgres 3, mysql 2, haproxy 4, restic 2. */
function systemdRoleHosts(first: number): RoleHosts {
  let next = first
  const take = (n: number): string[] => Array.from({ length: n }, () => `host${next++}`)
  return { wireguard: take(3), postgres: take(3), mysql: take(2), haproxy: take(4), restic: take(2) }
}

/** Each role's hosts per kind: host49..host62 are bookworm-systemd, host63..host76 trixie-systemd (host77-80 are sysv again). */
export const ROLE_HOSTS_BY_KIND: Readonly<Record<RoleKind, RoleHosts>> = {
  'bookworm-sysv': ROLE_HOSTS,
  'bookworm-systemd': systemdRoleHosts(49),
  'trixie-systemd': systemdRoleHosts(63),
}

/** Hosts that boot systemd as PID 1, by kind; every other host is `bookworm-sysv`. */
export const SYSTEMD_HOSTS: Readonly<Partial<Record<HostKind, readonly string[]>>> = {
  /** host47/48: the service and systemdUnit modules; host40-43: the site's pg1, db1, edge1 and app1 (a mixed estate); host89/90: accounts; host100/101: mount; host103: aptRepository; host104: the example role. */
  'bookworm-systemd': ['host47', 'host40', 'host43', 'host89', 'host100', ...Object.values(ROLE_HOSTS_BY_KIND['bookworm-systemd']).flat()],
  'trixie-systemd': ['host48', 'host41', 'host42', 'host90', 'host101', 'host103', 'host104', ...Object.values(ROLE_HOSTS_BY_KIND['trixie-systemd']).flat()],
}

/** The kind of each of host1..hostBED_HOSTS, in order, as `up` takes them. */
export function bedKinds(): HostKind[] {
  const kinds: HostKind[] = Array.from({ length: BED_HOSTS }, () => 'bookworm-sysv')
  for (const [kind, names] of Object.entries(SYSTEMD_HOSTS) as [HostKind, readonly string[]][]) {
    for (const name of names) kinds[Number(name.slice('host'.length)) - 1] = kind
  }
  return kinds
}

/** Debian's major versions on a kind's release, for paths such as /etc/postgresql/<major>. */
export function releaseOf(kind: RoleKind): { readonly debian: '12' | '13'; readonly postgres: '15' | '17' } {
  return kind.startsWith('trixie') ? { debian: '13', postgres: '17' } : { debian: '12', postgres: '15' }
}
