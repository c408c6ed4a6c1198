import { command, defineFact, defineHandler, defineRole, file, packages, packagesState, pendingChanges, secret, service } from 'havn'
import { clusterDir, renderHba, renderWanConf, SNAKEOIL, sslPaths, wanConfPath, wanSettings } from './render.ts'
import { defaults, schema, type PostgresWanTuningVars } from './schema.ts'
import { ensureUsers, restartWhenPending, type UserSpec } from './steps.ts'

export type { AllowedPeer, DatabaseUser, PostgresWanTuningVars } from './schema.ts'
export { parseWanConf, renderHba, renderWanConf, wanSettings, type Setting } from './render.ts'
export { scramMatches, scramVerifier } from './scram.ts'

/** Version and cluster of every cluster on the host (`pg_lsclusters`); empty without PostgreSQL. */
const clustersOnHost = defineFact({
  name: 'postgres-wan-tuning.clusters',
  command: () => 'command -v pg_lsclusters >/dev/null 2>&1 && pg_lsclusters -h; true',
  parse: (res): { version: string; cluster: string }[] =>
    res.stdout.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => /^\d+(\.\d+)?$/.test(f[0] ?? '') && /^[A-Za-z0-9_-]+$/.test(f[1] ?? '')).map((f) => ({ version: f[0]!, cluster: f[1]! })),
})

/** Clusters the role configured on each host in this run: what a check run cannot yet find with pg_lsclusters. */
const configured = new Map<string, { version: string; cluster: string }>()

/**
 * Reloads PostgreSQL, then restarts a cluster only when a setting waits for a restart
 * (`pending_restart`, e.g. `listen_addresses`). It finds the clusters on the host, so a notification
 * left by an interrupted run is honoured by the next run without the role's vars.
 */
export const reloadPostgres = defineHandler('postgres-wan-tuning: reload', async (host) => {
  await service.reload('postgresql')
  const found = await host.fact(clustersOnHost)
  const mine = configured.get(host.name)
  const targets = mine && !found.some((c) => c.version === mine.version && c.cluster === mine.cluster) ? [...found, mine] : found
  for (const t of targets) await restartWhenPending(t.version, t.cluster)
})

/** The major version of the installed, or else installable, `postgresql` package (`15+248…` → `15`). */
function majorVersion(state: { readonly packages: Readonly<Record<string, { readonly installed?: string; readonly candidate?: string }>> }, hostName: string): string {
  const p = state.packages.postgresql
  const v = /^(\d+)/.exec(p?.installed ?? p?.candidate ?? '')?.[1]
  if (!v) throw new Error(`host ${hostName}: cannot tell the PostgreSQL version (no postgresql package installed or available); set the 'version' var`)
  return v
}

/**
 * PostgreSQL behind a WireGuard hub, tuned for WAN clients (seed 001): keepalives, memory, SSL,
 * SCRAM, `listen_addresses` on the tunnel address, a pg_hba.conf that admits only the listed
 * tunnel peers over SSL, and optional login roles. Config changes reload the server; it restarts
 * only when PostgreSQL reports a setting as pending a restart.
 */
export default defineRole<PostgresWanTuningVars>({
  name: 'postgres-wan-tuning',
  schema,
  defaults,
  platforms: [{ id: 'debian', versions: ['12', '13'] }],
  async run(v, host) {
    const version = v.version ?? majorVersion(await host.fact(packagesState, ['postgresql'], false), host.name)
    const dir = clusterDir(version, v.cluster)
    if (v.installPackage) await packages({ names: ['postgresql', 'ssl-cert'] })
    // Installing creates and starts the cluster (also an install a check run only predicts): then this changes nothing.
    await service({ name: 'postgresql', state: 'started' })
    // Changes earlier steps make but the host does not show yet: a cluster the install creates or the
    // start brings up (nothing to ask it before), and the snakeoil pair ssl-cert makes.
    const pending = await host.fact(pendingChanges)
    const expectRunning = !pending.includes('package:postgresql') && !pending.includes('service:postgresql')
    configured.set(host.name, { version, cluster: v.cluster })

    let ssl: { cert: string; key: string } = SNAKEOIL
    if (v.sslCert !== undefined && v.sslKey !== undefined) {
      ssl = sslPaths(version, v.cluster)
      await file({ path: ssl.cert, content: v.sslCert, mode: 0o644, owner: 'postgres', group: 'postgres', notify: [reloadPostgres] })
      await file({ path: ssl.key, content: v.sslKey, mode: 0o600, owner: 'postgres', group: 'postgres', sensitive: true, notify: [reloadPostgres] })
    } else if (!pending.includes('package:ssl-cert')) {
      // ssl-cert makes the snakeoil pair on install; this only restores it if it was removed.
      await command('make-ssl-cert generate-default-snakeoil', { creates: SNAKEOIL.key, name: `snakeoil certificate ${SNAKEOIL.cert}` })
    }

    await file({ path: wanConfPath(version, v.cluster), content: renderWanConf(wanSettings(v, ssl)), mode: 0o644, owner: 'postgres', group: 'postgres', notify: [reloadPostgres] })
    // Debian's install writes pg_hba.conf as postgres:postgres 0640 already; naming the attributes
    // only once it exists keeps a check run's prediction (no file yet) equal to what the run changes.
    const hba = `${dir}/pg_hba.conf`
    const hbaAttrs = pending.includes('package:postgresql') ? {} : { mode: 0o640, owner: 'postgres', group: 'postgres' }
    await file({ path: hba, content: renderHba(v.allowedPeers), ...hbaAttrs, notify: [reloadPostgres] })

    if (v.users.length > 0) {
      const users: UserSpec[] = v.users.map((u) => {
        const password = typeof u.password === 'string' ? secret(u.password).reveal() : u.password.reveal()
        return { name: u.name, password, ...(u.database !== undefined ? { database: u.database } : {}) }
      })
      await ensureUsers({ version, cluster: v.cluster, expectRunning }, users)
    }
  },
})
