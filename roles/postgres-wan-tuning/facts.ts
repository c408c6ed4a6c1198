import { defineFact, shQuote } from 'havn'

/** One row of `pg_settings`: the value in effect and when it can change (`postmaster` = at start only). */
export interface LiveSetting {
  readonly setting: string
  readonly context: string
}

/** A managed login role as the server stores it. */
export interface LiveRole {
  readonly canLogin: boolean
  /** `pg_authid.rolpassword` (a verifier, not the password); empty when unset. Kept out of every output. */
  readonly verifier: string
}

/** A cluster as `pg_lsclusters` and, when it runs, its own SQL views describe it. */
export interface LiveCluster {
  /** `absent`: PostgreSQL is not installed; `nocluster`: no such cluster; else pg_lsclusters' status word. */
  readonly state: 'absent' | 'nocluster' | 'online' | 'down' | string
  /** Whether psql as the postgres user got answers over the local socket. */
  readonly reachable: boolean
  readonly error?: string
  readonly port?: number
  readonly settings: Readonly<Record<string, LiveSetting>>
  /** Settings PostgreSQL reports as `pending_restart` (changed in a reloaded file, effective at the next start). */
  readonly pendingRestart: readonly string[]
  readonly roles: Readonly<Record<string, LiveRole>>
  /** Database name → owner. */
  readonly databases: Readonly<Record<string, string>>
}

/** Runs psql as the postgres user over the cluster's local socket; `$port` must be set. Needs root (or become). */
export const PSQL_SH = 'cd / && runuser -u postgres -- psql -X -q -A -t -F "$(printf \'\\t\')" -v ON_ERROR_STOP=1 -p "$port" -d postgres'

function sqlList(names: readonly string[]): string {
  return names.length ? names.map((n) => `'${n.replace(/'/g, "''")}'`).join(',') : "''"
}

/**
 * The cluster's state, the named settings (plus every `pending_restart` one), and the named login
 * roles and all databases, read in one psql session as the postgres user. Only reads.
 */
export const liveCluster = defineFact({
  name: 'postgres-wan-tuning.cluster',
  command: (version: string, cluster: string, settings: readonly string[], roles: readonly string[]) => {
    const sql = [
      `SELECT 'set', name, setting, context, pending_restart FROM pg_settings WHERE name IN (${sqlList(settings)}) OR pending_restart;`,
      `SELECT 'role', rolname, rolcanlogin, coalesce(rolpassword, '') FROM pg_authid WHERE rolname IN (${sqlList(roles)});`,
      `SELECT 'db', datname, pg_get_userbyid(datdba) FROM pg_database;`,
    ].join('\n')
    return [
      'command -v pg_lsclusters >/dev/null 2>&1 || { echo state=absent; exit 0; }',
      `l=$(pg_lsclusters -h ${shQuote(version)} ${shQuote(cluster)} 2>/dev/null); [ -n "$l" ] || { echo state=nocluster; exit 0; }`,
      'set -f; set -- $l; port=$3; echo "state=$4"; echo "port=$3"',
      'case "$4" in online*) ;; *) exit 0 ;; esac',
      `${PSQL_SH} <<'HAVN_SQL'\n${sql}\nHAVN_SQL`,
      'echo "rc=$?"',
    ].join('\n')
  },
  parse: (res): LiveCluster => parseLiveCluster(res.stdout, res.stderr),
})

/** Parses the output of {@link liveCluster}'s command. */
export function parseLiveCluster(stdout: string, stderr: string): LiveCluster {
  const state = /^state=(\S+)$/m.exec(stdout)?.[1] ?? 'absent'
  const port = Number(/^port=(\d+)$/m.exec(stdout)?.[1])
  const rc = /^rc=(\d+)$/m.exec(stdout)?.[1]
  const settings: Record<string, LiveSetting> = {}
  const pendingRestart: string[] = []
  const roles: Record<string, LiveRole> = {}
  const databases: Record<string, string> = {}
  for (const line of stdout.split('\n')) {
    const f = line.split('\t')
    if (f[0] === 'set' && f[1] !== undefined && f.length === 5) {
      settings[f[1]] = { setting: f[2] ?? '', context: f[3] ?? '' }
      if (f[4] === 't') pendingRestart.push(f[1])
    } else if (f[0] === 'role' && f[1] !== undefined && f.length === 4) roles[f[1]] = { canLogin: f[2] === 't', verifier: f[3] ?? '' }
    else if (f[0] === 'db' && f[1] !== undefined && f.length === 3) databases[f[1]] = f[2] ?? ''
  }
  const base = { state, ...(Number.isFinite(port) && port > 0 ? { port } : {}), settings, pendingRestart: pendingRestart.sort(), roles, databases }
  if (!state.startsWith('online')) return { ...base, reachable: false, error: state === 'absent' ? 'PostgreSQL is not installed' : state === 'nocluster' ? 'the cluster does not exist' : `the cluster is ${state}` }
  if (rc !== '0') {
    const tail = stderr.trim().split('\n').slice(-3).join('\n')
    return { ...base, reachable: false, error: `psql as postgres exited ${rc ?? '?'}${tail ? `: ${tail}` : ''}` }
  }
  return { ...base, reachable: true }
}
