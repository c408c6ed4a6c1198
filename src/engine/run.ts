import { Limiter } from '../connection/limiter.ts'
import { settled, withHost, type ChainedExec, type HostRun, type Remote, type RemoteExecOptions, type StepExpectation } from './context.ts'
import type { Host, Playbook, Play } from './define.ts'
import type { Emit, ErrorInfo, HostRecap, RunEvent } from './events.ts'
import { FactCache } from './facts.ts'
import { runNotified } from './handlers.ts'
import { hostLock } from './lock.ts'
import { RecapBuilder } from './recap.ts'
import { InterruptedError, StepFailedError } from './step.ts'
import { bindPlay, type BoundRole, type EngineHost } from './vars.ts'
import { batchesOf } from './batches.ts'
import { supports, UnsupportedPlatformError, type PlatformIdentity } from './platforms.ts'

/** A connected host; closed by the engine when the run ends. */
export interface Session extends Remote {
  /** Runs `script` on the host when the session ends, even if this process dies first; without it the engine runs it before close(). */
  atClose?(script: string): Promise<void>
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
  /** Remove a run lock left on a host by a crashed run. */
  readonly breakLock?: boolean
  /** Run only plays and roles carrying one of these tags (`always` always runs). */
  readonly tags?: readonly string[]
  /** Skip plays and roles carrying any of these tags. */
  readonly skipTags?: readonly string[]
  /** Fingerprint the facts of every step with this key (for plans that are saved or checked against). */
  readonly fingerprintKey?: Buffer
  /** Apply exactly a saved plan: every step is compared with it before anything of it is applied. */
  readonly expect?: StepExpectation
  /** Reads what a host runs, for roles that declare `platforms`; without it they are not checked. */
  readonly platformOf?: (host: Host) => Promise<PlatformIdentity>
}

/** Default cap on parallel hosts when `--forks` is not given. */
export const DEFAULT_FORKS = 256

interface PreparedPlay {
  readonly play: Play
  readonly name: string
  readonly hosts: readonly EngineHost[]
  readonly roles: Map<string, BoundRole[]>
}

/** What the engine keeps per host for the whole run. */
interface HostState {
  readonly session: Session
  readonly facts: FactCache
  readonly notified: Set<string>
  readonly release: () => Promise<void>
  predicted: number
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

  const states = new Map<string, Promise<HostState | undefined>>()
  const lock = hostLock({ playbook: opts.playbookFile, breakLock: opts.breakLock ?? false })
  /** Values published in finished plays (visible) and in the current one (visible after it). */
  const published = new Map<string, Map<string, unknown>>()
  let publishing = new Map<string, Map<string, unknown>>()
  const dead = new Set<string>()
  const platformsChecked = new Set<string>()
  const limiter = new Limiter(Math.max(1, opts.forks ?? DEFAULT_FORKS))

  let stopped: string | undefined
  try {
    for (const p of prepared) {
      if (stopped || opts.signal?.aborted) break
      const hosts = p.hosts.filter((h) => !dead.has(h.name))
      emit({ type: 'play:start', play: p.name, hosts: hosts.map((h) => h.name) })
      const batches = batchesOf(hosts, p.play.serial, `play '${p.name}'`)
      let failures = 0
      for (const [i, batch] of batches.entries()) {
        if (opts.signal?.aborted) break
        if (batches.length > 1) emit({ type: 'batch:start', play: p.name, batch: i + 1, of: batches.length, hosts: batch.map((h) => h.name) })
        const outcomes = await Promise.all(batch.map((host) => limiter.run(() => runHost(host, p))))
        failures += outcomes.filter((ok) => !ok).length
        const budget = p.play.maxFailPercent
        if (budget !== undefined && (failures * 100) / hosts.length > budget) {
          stopped = `play '${p.name}': ${failures} of ${hosts.length} host(s) failed, over maxFailPercent ${budget}%; no further batch or play was started`
          emit({ type: 'run:stopped', reason: stopped })
          break
        }
      }
      for (const [key, byHost] of publishing) published.set(key, new Map([...(published.get(key) ?? []), ...byHost]))
      publishing = new Map()
      emit({ type: 'play:end', play: p.name })
    }
  } finally {
    await Promise.all([...states.values()].map(closeHost))
  }
  if (!stopped && opts.signal?.aborted) stopped = 'interrupted: no new step was started'
  const durationMs = Date.now() - started
  const result = recap.result()
  emit({ type: 'recap', mode: opts.check ? 'check' : 'apply', hosts: result, durationMs, ...(stopped ? { stopped } : {}) })
  return { recap: result, durationMs }

  /** Connects and locks a host once per run; undefined when it cannot be used (already reported). */
  function hostState(host: EngineHost, play: string): Promise<HostState | undefined> {
    let pending = states.get(host.name)
    if (!pending) {
      pending = openHost(host, play)
      states.set(host.name, pending)
    }
    return pending
  }

  async function openHost(host: EngineHost, play: string): Promise<HostState | undefined> {
    let session: Session
    try {
      session = await opts.connect(host)
    } catch (err) {
      emit({ type: 'host:unreachable', host: host.name, error: opts.classify(err) })
      return undefined
    }
    try {
      const atClose = session.atClose?.bind(session)
      // Left to the session when it can: released without a round trip, and even if this run dies.
      // Armed before the lock is taken, so no moment passes with the lock held and nothing to free it.
      const [, { pending }] = await Promise.all([atClose?.(lock.release), lock.take(session)])
      const release = atClose ? async () => undefined : async () => void (await session.exec(lock.release, { display: 'release run lock' }))
      return { session, facts: new FactCache(session), notified: new Set(pending), release, predicted: 0 }
    } catch (err) {
      emit({ type: 'host:start', host: host.name, play })
      emit({ type: 'step:end', host: host.name, step: 'take run lock', status: 'failed', changes: [], error: opts.classify(err) })
      emit({ type: 'host:end', host: host.name, play, failed: true })
      await session.close().catch(() => undefined)
      return undefined
    }
  }

  async function closeHost(pending: Promise<HostState | undefined>): Promise<void> {
    const state = await pending.catch(() => undefined)
    if (!state) return
    await state.release().catch(() => undefined)
    await state.session.close().catch(() => undefined)
  }

  /** Runs one play on one host; false when the host failed or could not be reached. */
  async function runHost(host: EngineHost, p: PreparedPlay): Promise<boolean> {
    if (opts.signal?.aborted) return true
    const state = await hostState(host, p.name)
    if (!state) {
      dead.add(host.name)
      return false
    }
    emit({ type: 'host:start', host: host.name, play: p.name })
    const become = host.become ?? p.play.become ?? false
    const withBecome = (o: RemoteExecOptions | undefined): RemoteExecOptions => ({ ...o, become: o?.become ?? become })
    const chain = state.session.execChain?.bind(state.session)
    const remote: Remote = {
      host: host.name,
      exec: (script, o) => state.session.exec(script, withBecome(o)),
      ...(chain ? { execChain: (commands: readonly ChainedExec[]) => chain(commands.map((c) => ({ ...c, opts: withBecome(c.opts) }))) } : {}),
    }
    // Facts are read as the play's steps run: through sudo in a become play.
    const facts = state.facts.as(remote, become ? 'become' : 'login')
    const handle: Host = {
      ...host,
      fact: (fact, ...args) => facts.read(fact, args),
      publish(key, value) {
        let byHost = publishing.get(key)
        if (!byHost) publishing.set(key, (byHost = new Map()))
        byHost.set(host.name, value)
      },
      published: <T,>(key: string) => Object.fromEntries(published.get(key) ?? []) as Record<string, T>,
    }
    const run: HostRun = {
      host,
      remote,
      facts,
      check: opts.check,
      emit,
      signal: opts.signal,
      role: undefined,
      get predicted() {
        return state.predicted
      },
      set predicted(n: number) {
        state.predicted = n
      },
      notified: state.notified,
      handle,
      ...(opts.fingerprintKey ? { fingerprintKey: opts.fingerprintKey } : {}),
      ...(opts.expect ? { expect: opts.expect } : {}),
    }
    let failed = false
    try {
      await withHost(run, async () => {
        if (!platformsChecked.has(host.name)) {
          platformsChecked.add(host.name)
          if (opts.platformOf) await checkPlatforms(host.name, prepared.slice(prepared.indexOf(p)), () => opts.platformOf!(handle))
        }
        for (const bound of p.roles.get(host.name) ?? []) {
          run.role = bound.use.role.name
          await bound.use.role.run(bound.vars as never, handle)
        }
        run.role = undefined
        await p.play.run?.(handle)
        await settled(run)
        await runNotified(run)
      })
    } catch (thrown) {
      // A change still in flight is made and reported first; if it failed, that is the failure.
      const earlier = await settled(run).then(() => undefined, (e: unknown) => e)
      const err = earlier ?? thrown
      failed = true
      if (!(err instanceof StepFailedError) && !(err instanceof InterruptedError)) {
        // An exception in role code outside any step: report it as a failed pseudo-step.
        const unsupported = err instanceof UnsupportedPlatformError
        emit({ type: 'step:end', host: host.name, role: unsupported ? err.role : run.role, step: unsupported ? 'supported platform' : '(role code)', status: 'failed', changes: [], error: opts.classify(err) })
      }
      if (err instanceof InterruptedError) failed = false
      else dead.add(host.name)
    }
    emit({ type: 'host:end', host: host.name, play: p.name, failed })
    return !failed
  }
}

/**
 * Fails the host, before its first play changes anything, when a role that any of `plays` runs on
 * it declares platforms and the host runs none of them.
 */
async function checkPlatforms(host: string, plays: readonly PreparedPlay[], platform: () => Promise<PlatformIdentity>): Promise<void> {
  const roles = plays.flatMap((p) => (p.roles.get(host) ?? []).map((b) => b.use.role)).filter((r) => r.platforms !== undefined)
  if (roles.length === 0) return
  const os = await platform()
  const refused = roles.find((r) => !supports(r.platforms!, os))
  if (refused) throw new UnsupportedPlatformError(refused.name, host, os, refused.platforms!)
}

function preparePlays(opts: RunOptions): PreparedPlay[] {
  const wanted = (tags: readonly string[]) => isSelected(tags, opts.tags, opts.skipTags)
  return opts.playbook.plays.flatMap((play, i) => {
    const name = play.name ?? `play ${i + 1} (${play.hosts})`
    const names = opts.select(play.hosts, `play '${name}' hosts`)
    const hosts = names.map((n) => opts.hosts.get(n)).filter((h): h is EngineHost => h !== undefined)
    batchesOf(hosts, play.serial, `play '${name}'`)
    const playTags = play.tags ?? []
    const roles = (play.roles ?? []).filter((use) => wanted([...playTags, ...use.tags]))
    const selected: Play = { ...play, roles, run: play.run && wanted(playTags) ? play.run : undefined }
    if (roles.length === 0 && !selected.run) return []
    return [{ play: selected, name, hosts, roles: bindPlay(selected, hosts, opts.playbookFile) }]
  })
}

/** Ansible's rule: with `--tags`, only tagged work (or `always`) runs; `--skip-tags` wins over both. */
function isSelected(tags: readonly string[], only: readonly string[] | undefined, skip: readonly string[] | undefined): boolean {
  if (skip?.some((t) => tags.includes(t))) return false
  if (!only || only.length === 0 || only.includes('all')) return true
  return tags.includes('always') || only.some((t) => tags.includes(t))
}
