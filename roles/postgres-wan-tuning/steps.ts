import { fileState, runStep, secret, shQuote, type Change, type PlanContext, type StepResult } from 'havn'
import { liveCluster, PSQL_SH, type LiveCluster } from './facts.ts'
import { parseWanConf, wanConfPath } from './render.ts'
import { scramMatches, scramVerifier } from './scram.ts'

/** A login role as the step needs it: the password already revealed, kept only in memory. */
export interface UserSpec {
  readonly name: string
  readonly password: string
  readonly database?: string
}

/** Which cluster a step talks to, and whether it must be running now. */
export interface ClusterRef {
  readonly version: string
  readonly cluster: string
  /** False when an earlier step of this check run only predicted the install: it will run then. */
  readonly expectRunning: boolean
}

async function readCluster(ctx: PlanContext, ref: ClusterRef, settings: readonly string[], roles: readonly string[]): Promise<LiveCluster | undefined> {
  const live = await ctx.fact(liveCluster, ref.version, ref.cluster, settings, roles)
  if (live.reachable) return live
  if (!ref.expectRunning) return undefined
  throw new Error(`host ${ctx.host.name}: cannot query PostgreSQL ${ref.version}/${ref.cluster} as the postgres user over the local socket: ${live.error ?? 'unknown error'}`)
}

function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

/**
 * Ensures login roles with their passwords and the databases they own. A password is compared with
 * the stored SCRAM verifier on the controller and, when it differs, replaced by a verifier computed
 * there: the clear password never reaches the host, and the verifier travels only on stdin.
 */
export function ensureUsers(ref: ClusterRef, users: readonly UserSpec[]): Promise<StepResult> {
  return runStep({
    name: `postgres-wan-tuning: login roles ${users.map((u) => u.name).join(', ')}`,
    async plan(ctx) {
      const live = await readCluster(ctx, ref, [], users.map((u) => u.name))
      const roles = live?.roles ?? {}
      const dbs = live?.databases ?? {}
      const changes: Change[] = []
      const sql: string[] = []
      const shown: string[] = []
      for (const u of users) {
        const resource = `postgres:role/${u.name}`
        const have = roles[u.name]
        if (!have || !have.canLogin || !scramMatches(have.verifier, u.password)) {
          const verifier = scramVerifier(u.password)
          secret(verifier) // scrubbed from output should psql ever echo the statement
          const verb = have ? 'ALTER' : 'CREATE'
          if (!have) changes.push({ resource, action: 'create', field: 'password', sensitive: true })
          else {
            if (!have.canLogin) changes.push({ resource, action: 'update', field: 'login', before: 'false', after: 'true' })
            if (!scramMatches(have.verifier, u.password)) changes.push({ resource, action: 'update', field: 'password', sensitive: true })
          }
          sql.push(`${verb} ROLE ${ident(u.name)} LOGIN PASSWORD '${verifier}';`)
          shown.push(`${verb} ROLE ${u.name} LOGIN PASSWORD (sensitive)`)
        }
        if (u.database !== undefined) {
          const owner = dbs[u.database]
          const dbRes = `postgres:database/${u.database}`
          if (owner === undefined) {
            changes.push({ resource: dbRes, action: 'create', field: 'owner', after: u.name })
            sql.push(`CREATE DATABASE ${ident(u.database)} OWNER ${ident(u.name)};`)
            shown.push(`CREATE DATABASE ${u.database} OWNER ${u.name}`)
          } else if (owner !== u.name) {
            changes.push({ resource: dbRes, action: 'update', field: 'owner', before: owner, after: u.name })
            sql.push(`ALTER DATABASE ${ident(u.database)} OWNER TO ${ident(u.name)};`)
            shown.push(`ALTER DATABASE ${u.database} OWNER TO ${u.name}`)
          }
        }
      }
      if (changes.length === 0) return { changes: [] }
      const display = `psql as postgres: ${shown.join('; ')}`
      // The port is the running cluster's; only a check run plans without one, and it runs nothing.
      const port = live?.port ?? `$(pg_lsclusters -h ${shQuote(ref.version)} ${shQuote(ref.cluster)} | awk '{print $3}')`
      return {
        changes,
        // The statements (with the SCRAM verifiers) travel on stdin only.
        commands: [{ script: `port=${port}\n${PSQL_SH}`, display, stdin: `${sql.join('\n')}\n`, sensitiveStdin: true }],
        sensitiveValues: users.map((u) => `${u.name}\n${u.password}`),
      }
    },
  })
}

/**
 * Restart-only settings the role manages, with PostgreSQL's built-in default: what a cluster that
 * does not exist yet (check run on a fresh host) will start with before the role's file is read.
 */
const RESTART_DEFAULTS: Readonly<Record<string, string>> = { listen_addresses: 'localhost' }

/** The settings that need a restart to take effect, from the cluster's state and the role's conf.d file (as written, or as a check run predicts it). */
async function restartNeeded(ctx: PlanContext, version: string, cluster: string): Promise<{ names: string[]; live?: LiveCluster }> {
  const conf = await ctx.fact(fileState, wanConfPath(version, cluster))
  const wanted = conf.kind === 'file' && conf.content !== undefined ? parseWanConf(conf.content) : new Map<string, string>()
  const live = await ctx.fact(liveCluster, version, cluster, [...wanted.keys()].sort(), [])
  const names = new Set<string>()
  if (live.reachable) {
    for (const n of live.pendingRestart) names.add(n)
    // Before a reload (a check run, or the handler's reload still in flight) pending_restart cannot say it yet.
    for (const [n, value] of wanted) {
      const s = live.settings[n]
      if (s?.context === 'postmaster' && s.setting !== value) names.add(n)
    }
  } else if (live.state === 'absent' || live.state === 'nocluster') {
    for (const [n, value] of wanted) if (RESTART_DEFAULTS[n] !== undefined && RESTART_DEFAULTS[n] !== value) names.add(n)
  }
  return { names: [...names].sort(), live }
}

/**
 * Restarts the cluster only when a setting waits for one: PostgreSQL's `pending_restart` after the
 * reload, or a restart-only setting in the role's file that differs from the running value (which
 * is what a check run can see before any reload). Everything else took effect with the reload.
 */
export function restartWhenPending(version: string, cluster: string): Promise<StepResult> {
  return runStep({
    name: `postgres-wan-tuning: restart ${version}/${cluster} if a setting needs it`,
    async plan(ctx) {
      const { names } = await restartNeeded(ctx, version, cluster)
      if (names.length === 0) return { changes: [] }
      const display = `pg_ctlcluster ${version} ${cluster} restart`
      return {
        changes: [{ resource: `postgres:cluster/${version}/${cluster}`, action: 'update', field: 'restart', before: `pending restart: ${names.join(', ')}`, after: 'restarted' }],
        // Output goes to a file: the restarted postmaster must not hold the SSH channel's pipes open.
        commands: [{ script: `t=$(mktemp) || exit 1\npg_ctlcluster ${shQuote(version)} ${shQuote(cluster)} restart </dev/null >"$t" 2>&1; rc=$?; cat "$t" >&2; rm -f "$t"; exit $rc`, display }],
      }
    },
  })
}
