import { withHost, type Remote } from './context.ts'
import type { Playbook, Play } from './define.ts'
import type { Emit, ErrorInfo, HostRecap, RunEvent } from './events.ts'
import { createLimit } from './limit.ts'
import { RecapBuilder } from './recap.ts'
import { InterruptedError, StepFailedError } from './step.ts'
import { bindPlay, type BoundRole, type EngineHost } from './vars.ts'

/** A connected host; closed by the engine when the run ends. */
export interface Session extends Remote {
  close(): Promise<void>
}

/** Everything a run needs; all I/O arrives through `connect` and `emit`. */
export interface RunOptions {
  readonly playbook: Playbook
  readonly playbookFile: string
  readonly hosts: ReadonlyMap<string, EngineHost>
  /** Resolves a play's host pattern, already narrowed by `--limit`; throws InputError on no match. */
  readonly select: (pattern: string, where: string) => readonly string[]
  readonly check: boolean
  readonly connect: (host: EngineHost) => Promise<Session>
  /** Maps a connection or step error to what the user sees. */
  readonly classify: (err: unknown) => ErrorInfo
  readonly emit: Emit
  readonly forks?: number
  readonly signal?: AbortSignal
}

/** Default cap on parallel hosts when `--forks` is not given. */
export const DEFAULT_FORKS = 256

interface PreparedPlay {
  readonly play: Play
  readonly name: string
  readonly hosts: readonly EngineHost[]
  readonly roles: Map<string, BoundRole[]>
}

/**
 * Validates every play against the inventory (throws InputError before any host is contacted),
 * then runs the plays in order. Hosts run in parallel within a play; each play is a barrier.
 * A failed or unreachable host stops only itself.
 */
export async function runPlaybook(opts: RunOptions): Promise<{ recap: Record<string, HostRecap>; durationMs: number }> {
  const prepared = preparePlays(opts)
  const started = Date.now()
  const recap = new RecapBuilder()
  const emit: Emit = (e: RunEvent) => {
    recap.observe(e)
    opts.emit(e)
  }
  const allHosts = [...new Set(prepared.flatMap((p) => p.hosts.map((h) => h.name)))]
  recap.expect(allHosts)
  emit({ type: 'run:start', playbook: opts.playbook.name, mode: opts.check ? 'check' : 'apply', hosts: allHosts })

  const sessions = new Map<string, Promise<Session>>()
  const dead = new Set<string>()
  const limit = createLimit(Math.max(1, opts.forks ?? DEFAULT_FORKS))

  try {
    for (const p of prepared) {
      if (opts.signal?.aborted) break
      const hosts = p.hosts.filter((h) => !dead.has(h.name))
      emit({ type: 'play:start', play: p.name, hosts: hosts.map((h) => h.name) })
      await Promise.all(hosts.map((host) => limit(() => runHost(host, p))))
      emit({ type: 'play:end', play: p.name })
    }
  } finally {
    await Promise.all([...sessions.values()].map(async (s) => (await s.catch(() => undefined))?.close()))
  }
  const durationMs = Date.now() - started
  const result = recap.result()
  emit({ type: 'recap', mode: opts.check ? 'check' : 'apply', hosts: result, durationMs })
  return { recap: result, durationMs }

  async function runHost(host: EngineHost, p: PreparedPlay): Promise<void> {
    if (opts.signal?.aborted) return
    let session: Session
    try {
      let pending = sessions.get(host.name)
      if (!pending) {
        pending = opts.connect(host)
        sessions.set(host.name, pending)
      }
      session = await pending
    } catch (err) {
      dead.add(host.name)
      emit({ type: 'host:unreachable', host: host.name, error: opts.classify(err) })
      return
    }
    emit({ type: 'host:start', host: host.name, play: p.name })
    let failed = false
    const become = p.play.become ?? false
    const remote: Remote = { host: host.name, exec: (script, o) => session.exec(script, { ...o, become: o?.become ?? become }) }
    const run = { host, remote, check: opts.check, become, emit, signal: opts.signal, role: undefined as string | undefined }
    try {
      await withHost(run, async () => {
        for (const bound of p.roles.get(host.name) ?? []) {
          run.role = bound.use.role.name
          await bound.use.role.run(bound.vars as never, host)
        }
        run.role = undefined
        await p.play.run?.(host)
      })
    } catch (err) {
      failed = true
      if (!(err instanceof StepFailedError) && !(err instanceof InterruptedError)) {
        // An exception in role code outside any step: report it as a failed pseudo-step.
        emit({ type: 'step:end', host: host.name, role: run.role, step: '(role code)', status: 'failed', changes: [], error: opts.classify(err) })
      }
      if (!(err instanceof InterruptedError)) dead.add(host.name)
    }
    emit({ type: 'host:end', host: host.name, play: p.name, failed })
  }
}

function preparePlays(opts: RunOptions): PreparedPlay[] {
  return opts.playbook.plays.map((play, i) => {
    const name = play.name ?? `play ${i + 1} (${play.hosts})`
    const names = opts.select(play.hosts, `play '${name}' hosts`)
    const hosts = names.map((n) => opts.hosts.get(n)).filter((h): h is EngineHost => h !== undefined)
    return { play, name, hosts, roles: bindPlay(play, hosts, opts.playbookFile) }
  })
}
