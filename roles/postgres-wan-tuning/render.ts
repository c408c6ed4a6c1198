import type { AllowedPeer, PostgresWanTuningVars } from './schema.ts'

/** Debian's snakeoil pair from ssl-cert, the default certificate (the postgres user reads the key via the ssl-cert group). */
export const SNAKEOIL = { cert: '/etc/ssl/certs/ssl-cert-snakeoil.pem', key: '/etc/ssl/private/ssl-cert-snakeoil.key' } as const

/** Where a cluster's configuration lives on Debian. */
export function clusterDir(version: string, cluster: string): string {
  return `/etc/postgresql/${version}/${cluster}`
}

/** The role's conf.d file; Debian's postgresql.conf reads `conf.d` through `include_dir`. */
export function wanConfPath(version: string, cluster: string): string {
  return `${clusterDir(version, cluster)}/conf.d/60-havn-wan.conf`
}

/** Where a given certificate and key are written, next to the cluster's config. */
export function sslPaths(version: string, cluster: string): { cert: string; key: string } {
  return { cert: `${clusterDir(version, cluster)}/havn-server.crt`, key: `${clusterDir(version, cluster)}/havn-server.key` }
}

/** One `name = value` setting of the conf.d file. */
export interface Setting {
  readonly name: string
  /** As written in the file (already quoted where PostgreSQL needs quotes). */
  readonly text: string
  /** As `SHOW` / `pg_settings.setting` prints it when in effect, for the restart check. */
  readonly shown: string
}

function quoted(s: string): string {
  return `'${s.replace(/'/g, "''")}'`
}

/** Every setting the role manages, sorted by name, from the vars and the certificate paths in use. */
export function wanSettings(v: PostgresWanTuningVars, ssl: { cert: string; key: string }): Setting[] {
  const plain = (name: string, value: string | number): Setting => ({ name, text: String(value), shown: String(value) })
  const str = (name: string, value: string): Setting => ({ name, text: quoted(value), shown: value })
  return [
    str('listen_addresses', v.listenAddress),
    plain('maintenance_work_mem', v.maintenanceWorkMem),
    str('password_encryption', 'scram-sha-256'),
    plain('ssl', 'on'),
    str('ssl_cert_file', ssl.cert),
    str('ssl_key_file', ssl.key),
    plain('tcp_keepalives_count', v.tcpKeepalivesCount),
    plain('tcp_keepalives_idle', v.tcpKeepalivesIdle),
    plain('tcp_keepalives_interval', v.tcpKeepalivesInterval),
    plain('work_mem', v.workMem),
  ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/** The conf.d file: a header, then one line per setting in name order, so reruns write the same bytes. */
export function renderWanConf(settings: readonly Setting[]): string {
  const lines = [
    '# Managed by havn (role postgres-wan-tuning); local edits are overwritten.',
    '# WAN tuning behind WireGuard: keepalives detect dead tunnels, SSL and SCRAM even inside the tunnel.',
    ...settings.map((s) => `${s.name} = ${s.text}`),
  ]
  return `${lines.join('\n')}\n`
}

/** The `name = value` pairs of a file {@link renderWanConf} wrote (for the restart prediction). */
export function parseWanConf(text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+) = (?:'((?:[^']|'')*)'|(\S+))$/.exec(line)
    if (m?.[1]) out.set(m[1], m[2] !== undefined ? m[2].replace(/''/g, "'") : (m[3] ?? ''))
  }
  return out
}

function peerKey(p: AllowedPeer): string {
  return `${p.address} ${p.database ?? 'all'} ${p.user ?? 'all'}`
}

/**
 * The whole pg_hba.conf: Debian's local socket lines (peer auth, so `postgres` can administer the
 * server and the role can run psql), then one `hostssl … scram-sha-256` line per allowed peer,
 * sorted and de-duplicated (all peer lines have the same type and method, so order cannot matter).
 * No other TCP client matches a line, so the server refuses it.
 */
export function renderHba(peers: readonly AllowedPeer[]): string {
  const unique = [...new Map(peers.map((p) => [peerKey(p), p])).values()].sort((a, b) => (peerKey(a) < peerKey(b) ? -1 : peerKey(a) > peerKey(b) ? 1 : 0))
  const row = (type: string, db: string, user: string, address: string, method: string) =>
    [type.padEnd(8), db.padEnd(16), user.padEnd(16), address.padEnd(24), method].join('').trimEnd()
  const lines = [
    '# Managed by havn (role postgres-wan-tuning); local edits are overwritten.',
    '# Local socket: peer authentication (administration as the postgres user).',
    '# Network: only the listed WireGuard peers, over SSL, with scram-sha-256.',
    row('# TYPE', 'DATABASE', 'USER', 'ADDRESS', 'METHOD'),
    row('local', 'all', 'postgres', '', 'peer'),
    row('local', 'all', 'all', '', 'peer'),
    row('local', 'replication', 'all', '', 'peer'),
    ...unique.map((p) => row('hostssl', p.database ?? 'all', p.user ?? 'all', p.address, 'scram-sha-256')),
  ]
  return `${lines.join('\n')}\n`
}
