import { predict, runStep, shQuote, type Change, type Handler, type PlanContext, type StepResult } from 'havn'
import { CLIENT_SH, liveServer, oDirectProbe, type LiveServer } from './facts.ts'
import { sameValue, STATIC_FALLBACK, type Setting } from './settings.ts'

/**
 * Fails, before anything is written, when the datadir's filesystem rejects O_DIRECT (with an
 * O_DIRECT flush method), or when the running server uses another datadir and this one holds no
 * initialised data (a restart would bring up an empty server). The role never moves data.
 */
export function checkDatadir(datadir: string, flushMethod: string): Promise<StepResult> {
  return runStep({
    name: `datadir ${datadir}`,
    async plan(ctx) {
      const probe = await ctx.fact(oDirectProbe, datadir)
      if (flushMethod.startsWith('O_DIRECT') && !probe.ok) {
        const where = probe.probed === datadir ? datadir : `${datadir} (probed at ${probe.probed}, its nearest existing parent)`
        throw new Error(
          `host ${ctx.host.name}: the filesystem of datadir ${where} is ${probe.fsType} and rejects O_DIRECT (${probe.error}); ` +
            `innodb_flush_method = ${flushMethod} would keep the server from starting. Nothing was changed: ` +
            `put the datadir on a filesystem that supports O_DIRECT (ext4, xfs) or set flushMethod: 'fsync'.`,
        )
      }
      const live = await ctx.fact(liveServer)
      const running = live.values.datadir?.replace(/\/+$/, '')
      if (live.reachable && running !== undefined && running !== datadir.replace(/\/+$/, '') && !probe.initialised) {
        throw new Error(
          `host ${ctx.host.name}: the server runs on datadir ${running}, and ${datadir} holds no initialised data directory (no ${datadir}/mysql); ` +
            'a restart would bring up an empty server. Nothing was changed: copy the data there first (server stopped), or keep datadir as it is.',
        )
      }
      return { changes: [] }
    },
  })
}

function isStatic(live: LiveServer, variable: string): boolean {
  return live.readOnly?.[variable] ?? STATIC_FALLBACK.has(variable)
}

/** The settings whose running value differs, split by whether `SET GLOBAL` can apply them. */
export function liveDifferences(settings: readonly Setting[], live: LiveServer): { dynamic: Setting[]; static: Setting[] } {
  const dynamic: Setting[] = []
  const fixed: Setting[] = []
  for (const s of settings) if (!sameValue(s, live.values[s.variable])) (isStatic(live, s.variable) ? fixed : dynamic).push(s)
  return { dynamic, static: fixed }
}

/** Whether the server must answer now; when an install or start was only predicted, it will start with the config file. */
export interface LiveOptions {
  /** False when an earlier step of this check run only predicted the install or start. */
  readonly expectRunning: boolean
}

async function readLive(ctx: PlanContext, opts: LiveOptions): Promise<LiveServer | undefined> {
  const live = await ctx.fact(liveServer)
  if (live.reachable) return live
  if (!opts.expectRunning) return undefined
  throw new Error(`host ${ctx.host.name}: cannot read the running server's variables as root over the unix socket: ${live.error}`)
}

/**
 * Applies differing dynamic settings to the running server with `SET GLOBAL`, in one client call,
 * and verifies that the server kept the exact values (one that adjusts a value would make every
 * run change it again). A server that is not running yet is left to start with the config file.
 */
export function applyDynamic(settings: readonly Setting[], opts: LiveOptions): Promise<StepResult> {
  return runStep({
    name: 'mysql-nvme: dynamic settings (SET GLOBAL)',
    async plan(ctx) {
      const live = await readLive(ctx, opts)
      if (!live) return { changes: [] }
      const { dynamic } = liveDifferences(settings, live)
      if (dynamic.length === 0) return { changes: [] }
      const changes: Change[] = dynamic.map((s) => ({ resource: 'mysql:global', action: 'update', field: s.variable, before: live.values[s.variable] ?? '(unset)', after: s.live }))
      const sets: string[] = []
      const io = dynamic.find((s) => s.variable === 'innodb_io_capacity')
      const ioMax = Number(live.values.innodb_io_capacity_max)
      // The server refuses an io_capacity above io_capacity_max; raise it as a restart would (2x, at least 2000).
      if (io && Number.isFinite(ioMax) && Number(io.sql) > ioMax) sets.push(`SET GLOBAL innodb_io_capacity_max = ${Math.max(2000, 2 * Number(io.sql))}`)
      for (const s of dynamic) sets.push(`SET GLOBAL ${s.variable} = ${s.sql}`)
      const names = dynamic.map((s) => `'${s.variable}'`).join(',')
      const sql = `${sets.join('; ')}; SHOW GLOBAL VARIABLES WHERE Variable_name IN (${names})`
      const display = `${live.client ?? 'mariadb'} -e "${sets.join('; ')}"`
      const after: LiveServer = { ...live, values: { ...live.values, ...Object.fromEntries(dynamic.map((s) => [s.variable, s.live])) } }
      return {
        changes,
        predict: [predict(liveServer, [], after)],
        commands: [{ script: `${CLIENT_SH}\nout=$("$c" --protocol=socket -N -B -e ${shQuote(sql)} </dev/null) || exit $?\nprintf '%s\\n' "$out" | ${keptCheck(dynamic)}`, display }],
      }
    },
  })
}

function awkString(text: string): string {
  return `"${text.toLowerCase().replace(/[\\"]/g, '\\$&')}"`
}

/**
 * Shell that reads `SHOW GLOBAL VARIABLES` lines on stdin and fails (exit 6) naming every setting
 * the server adjusted instead of keeping it: a value it adjusts would make every run change it again.
 */
function keptCheck(dynamic: readonly Setting[]): string {
  const wanted = dynamic.map((s) => `w[${awkString(s.variable)}] = ${awkString(s.live)}`).join('; ')
  const program = [
    `BEGIN { FS = "\\t"; ${wanted} }`,
    '{ v = tolower($2); gsub(/^ +| +$/, "", v); got[tolower($1)] = v }',
    'END { for (k in w) { g = (k in got) ? got[k] : "?"; if (g != w[k]) bad = bad sprintf("%s%s to %s (wanted %s)", bad == "" ? "" : ", ", k, g, w[k]) }',
    '  if (bad != "") { print "havn: the server adjusted " bad "; pick a value the server accepts as is" > "/dev/stderr"; exit 6 } }',
  ].join('\n')
  return `awk ${shQuote(program)}`
}

/** What {@link staticSettings} needs besides the settings. */
export interface StaticOptions extends LiveOptions {
  readonly service: string
  readonly allowRestart: boolean
  readonly restart: Handler
}

/**
 * Settings that only take effect at server start and differ from the running values: with
 * `allowRestart` it notifies the restart handler (derived from state, so a run that dies before
 * the handler restarts on the next run); otherwise it reports "restart pending" and restarts nothing.
 */
export function staticSettings(settings: readonly Setting[], opts: StaticOptions): Promise<StepResult> {
  return runStep({
    name: 'mysql-nvme: static settings',
    notify: opts.allowRestart ? [opts.restart] : [],
    async plan(ctx) {
      const live = await readLive(ctx, opts)
      if (!live) return { changes: [] }
      const differ = liveDifferences(settings, live).static
      if (differ.length === 0) return { changes: [] }
      const running = differ.map((s) => `${s.variable}=${live.values[s.variable] ?? '(unset)'}`).join(', ')
      const wanted = differ.map((s) => `${s.variable}=${s.live}`).join(', ')
      const resource = `service:${opts.service}`
      const change: Change = opts.allowRestart
        ? { resource, action: 'update', field: 'static settings', before: running, after: `${wanted} (restart at the end of the play)` }
        : { resource, action: 'update', field: 'restart', before: `running with ${running}`, after: `restart pending (allowRestart: false): ${wanted}` }
      return {
        changes: [change],
        // The handler restarts; this command only records the notification on the host, so it survives a dying run.
        ...(opts.allowRestart ? { commands: [{ script: ':', display: `notify ${opts.restart.name}` }] } : {}),
      }
    },
  })
}
