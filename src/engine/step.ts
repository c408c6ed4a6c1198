import { createHmac } from 'node:crypto'
import { CommandFailedError } from '../connection/errors.ts'
import { scrubSecret, type ShellCommand } from '../connection/quote.ts'
import { currentHost, type ChainedExec, type Executed, type Remote, settled } from './context.ts'
import type { HostInfo } from './define.ts'
import type { Change, ErrorInfo, StepStatus } from './events.ts'
import { factKey, type Fact, type Prediction } from './facts.ts'
import { recordNotifications, type Handler } from './handlers.ts'
import { pause, retryPolicy, satisfied, UntilNotMetError, type RetryKeywords, type RetryPolicy } from './retry.ts'

/** What a planner may do: read facts of its host. It cannot change anything. */
export interface PlanContext {
  readonly host: HostInfo
  fact<A extends readonly unknown[], T>(fact: Fact<A, T>, ...args: A): Promise<T>
}

/**
 * One command a plan runs on its host. Plain data: the script holds no secret (secret content
 * travels on stdin), so a plan can be shown, saved and compared before anything runs.
 */
export interface PlannedCommand extends ShellCommand {
  /** Bytes for the command's stdin, such as a file's new content. */
  readonly stdin?: string
  /** A controller file streamed to the command's stdin as it runs (large files are never held in memory). */
  readonly stdinFile?: string
  /** The stdin is secret: it is removed from the command's output and from any error. */
  readonly sensitiveStdin?: boolean
  /** Exit codes that count as success; default `[0]`. */
  readonly okCodes?: readonly number[]
  /** The command's stdout and stderr go to the report (a user's command); by default only a failure shows them. */
  readonly reportOutput?: boolean
}

/** What a module decided after reading the host: the changes, and the commands that make them. */
export interface StepPlan {
  readonly changes: readonly Change[]
  /** Run in order by the engine, never in check mode; the first that fails stops the step with a command error. */
  readonly commands?: readonly PlannedCommand[]
  /** Facts as they will read after the change, so later steps of a check run see the planned state. */
  readonly predict?: readonly Prediction[]
  /**
   * The apply's output matters only for the report, so the role may go on while the change is
   * being made: the next step's reads are sent right behind it (the host runs them after it), and
   * nothing is applied, and no later step starts, until it is made. A failure still stops the host
   * at this step.
   */
  readonly detachable?: boolean
  /** Set when the outcome cannot be known without applying; reported as uncertain in check mode. */
  readonly uncertain?: string
  /**
   * The resource the step acts on does not exist (a service whose package is not installed yet).
   * Applying fails with this message; a check run reports would-change instead when it predicted
   * earlier changes on the host (one of them may create it), and uncertain whenever `uncertain` says why.
   */
  readonly missing?: string
  /**
   * The secret values the step sets (content of a sensitive file, a password). Never shown or
   * saved: a run that keeps fingerprints records only their keyed hash, so a plan notices when
   * one of them changed although the changes look the same.
   */
  readonly sensitiveValues?: readonly string[]
}

/** A module invocation: a name for the output, a planner that only reads, and who to notify on change. */
export interface StepSpec {
  readonly name: string
  plan(ctx: PlanContext): Promise<StepPlan>
  readonly notify?: readonly Handler[]
}

/** What a role gets back from a module call; `changed` is also true for a predicted change. */
export interface StepResult {
  readonly changed: boolean
  readonly status: StepStatus
  readonly changes: readonly Change[]
  readonly stdout?: string
  readonly stderr?: string
}

/** Thrown into role code after a step failed and was reported, so the role stops on that host. */
export class StepFailedError extends Error {
  override readonly name = 'StepFailedError'
  readonly step: string
  readonly info: ErrorInfo
  constructor(step: string, info: ErrorInfo) {
    super(info.message)
    this.step = step
    this.info = info
  }
}

/** Thrown when an interrupt arrives: no new step starts. */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError'
  constructor() {
    super('interrupted')
  }
}

/** A step no longer matches the saved plan being applied; nothing of it was applied. */
export class DriftError extends Error {
  override readonly name = 'DriftError'
  readonly differences: readonly string[]
  constructor(differences: readonly string[]) {
    super(`the host no longer matches the plan, so this step and the rest of the host were not applied:\n${differences.map((d) => `  ${d}`).join('\n')}`)
    this.differences = differences
  }
}

/** A keyed hash of the facts a step read, in a stable order: equal facts give equal fingerprints. */
function fingerprintOf(key: Buffer, reads: ReadonlyMap<string, unknown>): string {
  const entries = [...reads].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return createHmac('sha256', key).update(JSON.stringify(entries)).digest('hex').slice(0, 32)
}

/** A planner found that the resource it manages does not exist. */
export class MissingResourceError extends Error {
  override readonly name = 'MissingResourceError'
}

/** Converts anything a module threw into what the user needs to act on it. */
export type ErrorClassifier = (err: unknown) => ErrorInfo

let classify: ErrorClassifier = (err) => ({ kind: 'internal', message: err instanceof Error ? err.message : String(err) })

/** Installs the classifier the CLI builds from the connection layer's error types. */
export function setErrorClassifier(fn: ErrorClassifier): void {
  classify = fn
}

type Extra = { stdout?: string; stderr?: string; reason?: string; sensitiveValues?: readonly string[] }

/** How one try of a step ended, before anything about it is reported. */
type Outcome =
  | { readonly status: Exclude<StepStatus, 'failed' | 'skipped'>; readonly changes: readonly Change[]; readonly extra: Extra }
  | { readonly status: 'failed'; readonly err: unknown }
  /** A detachable change is being made; its own report follows when it is done. */
  | { readonly status: 'detached'; readonly changes: readonly Change[] }

/**
 * Plans a step, applies it unless checking, and reports it. The only place where changes are
 * applied. With retry keywords (see {@link RetryKeywords}) a run tries the step again, planning
 * afresh each time, and reports it once, with the number of tries; a check plans it once.
 */
export async function runStep(spec: StepSpec, keywords: RetryKeywords = {}): Promise<StepResult> {
  const run = currentHost()
  if (run.signal?.aborted) {
    await settled(run)
    throw new InterruptedError()
  }
  const base = { host: run.host.name, role: run.role, step: spec.name }
  const reads = run.fingerprintKey ? new Map<string, unknown>() : undefined
  const read: PlanContext['fact'] = async (fact, ...args) => {
    const value = await run.facts.read(fact, args)
    reads?.set(factKey(fact, args), value)
    return value
  }
  const plan = () => {
    const planning = (async () => spec.plan({ host: run.host, fact: read }))()
    planning.catch(() => undefined)
    return planning
  }
  let policy: RetryPolicy | undefined
  let badKeywords: unknown
  try {
    policy = retryPolicy(spec.name, keywords)
  } catch (err) {
    badKeywords = err
  }
  // Planning starts at once: its reads queue on the host behind a change still in flight.
  let planning = plan()
  await settled(run)
  run.emit({ type: 'step:start', ...base })
  if (badKeywords !== undefined) return fail(badKeywords, 1)
  const retrying = run.check ? undefined : policy
  for (let tries = 1; ; tries++) {
    const outcome = await attempt(planning, tries === 1, retrying === undefined)
    if (outcome.status === 'detached') return { changed: true, status: 'changed', changes: outcome.changes }
    if (outcome.status === 'failed' && (outcome.err instanceof InterruptedError || outcome.err instanceof StepFailedError)) throw outcome.err
    const last = !retrying || tries >= retrying.tries || run.signal?.aborted === true
    if (outcome.status !== 'failed') {
      const result = { changed: outcome.status !== 'ok', status: outcome.status, changes: outcome.changes, stdout: outcome.extra.stdout, stderr: outcome.extra.stderr }
      if (!retrying || satisfied(retrying, result)) return report(outcome.status, outcome.changes, outcome.extra, tries)
      if (last) return fail(new UntilNotMetError(`until was not met after ${tries} tries (the last one ended ${outcome.status})`), tries)
    } else if (last || outcome.err instanceof DriftError) {
      return fail(outcome.err, tries)
    }
    await pause(retrying.delayMs, run.signal)
    run.facts.drop()
    planning = plan()
  }

  async function attempt(planning: Promise<StepPlan>, first: boolean, mayDetach: boolean): Promise<Outcome> {
    try {
      const plan = await planning
      const changes = plan.changes.map(maskSensitive)
      const drift = first ? (run.expect?.(run.host.name, spec.name, changes) ?? []) : []
      if (drift.length > 0) throw new DriftError(drift)
      // A check says why it cannot know (uncertain), or, after earlier predicted changes, that one of them may provide it.
      if (plan.missing !== undefined && (!run.check || (run.predicted === 0 && !plan.uncertain))) throw new MissingResourceError(plan.missing)
      if (changes.length === 0) return { status: 'ok', changes: [], extra: {} }
      const notify = (spec.notify ?? []).map((h) => h.name)
      const sensitive = plan.sensitiveValues ? { sensitiveValues: plan.sensitiveValues } : {}
      if (run.check) {
        run.predicted++
        run.facts.assume(plan.predict ?? [], changes.map((c) => c.resource))
        for (const n of notify) run.notified.add(n)
        const reason = plan.uncertain ?? (plan.missing !== undefined ? `${plan.missing}; an earlier change in this check run may provide it` : undefined)
        return { status: plan.uncertain ? 'uncertain' : 'would-change', changes, extra: { reason, ...sensitive } }
      }
      const applying = executeCommands(run.remote, plan.commands ?? [], notify)
      // Dropped now, so reads sent from here on go to the host, behind the change.
      run.facts.drop()
      const done = applying.then(
        (out): Outcome => {
          for (const n of notify) run.notified.add(n)
          return { status: 'changed', changes, extra: { ...out, ...sensitive } }
        },
        (err: unknown): Outcome => ({ status: 'failed', err }),
      )
      if (!plan.detachable || !mayDetach) return await done
      run.inflight = done.then((o) => {
        if (o.status === 'failed') fail(o.err, 1)
        else if (o.status !== 'detached') report(o.status, o.changes, o.extra, 1)
      })
      run.inflight.catch(() => undefined)
      return { status: 'detached', changes }
    } catch (err) {
      return { status: 'failed', err }
    }
  }

  function fail(err: unknown, tries: number): never {
    // The step may have changed the host before failing: forget what we knew.
    run.facts.drop()
    const error = classify(err)
    run.emit({ type: 'step:end', ...base, status: 'failed', changes: [], error, ...(tries > 1 ? { tries } : {}) })
    throw new StepFailedError(spec.name, error)
  }

  function report(status: StepStatus, changes: readonly Change[], extra: Extra, tries: number): StepResult {
    const { sensitiveValues, ...shown } = extra
    const key = run.fingerprintKey
    const fingerprint = reads && key ? fingerprintOf(key, reads) : undefined
    const sensitiveDigest = key && sensitiveValues?.length ? createHmac('sha256', key).update(JSON.stringify(sensitiveValues)).digest('hex').slice(0, 32) : undefined
    run.emit({ type: 'step:end', ...base, status, changes, ...shown, ...(fingerprint ? { fingerprint } : {}), ...(sensitiveDigest ? { sensitiveDigest } : {}), ...(tries > 1 ? { tries } : {}) })
    return { changed: status === 'changed' || status === 'would-change' || status === 'uncertain', status, changes, stdout: extra.stdout, stderr: extra.stderr }
  }
}

/**
 * Runs a plan's commands in order, up to the first that fails; a remote that can chain them gets
 * them all at once (one round trip). Notifications are recorded in the same command as the first
 * one, so neither is lost alone; a command that fails raises a command error naming host,
 * command, exit code and the (secret-free) tail of its output.
 */
export async function executeCommands(remote: Remote, commands: readonly PlannedCommand[], notify: readonly string[] = []): Promise<{ stdout?: string; stderr?: string }> {
  const chained: ChainedExec[] = commands.map((c, i) => {
    const stdin = c.stdin ?? (c.stdinFile !== undefined ? { file: c.stdinFile } : undefined)
    return {
      script: i === 0 && notify.length > 0 ? recordNotifications(notify) + c.script : c.script,
      opts: stdin !== undefined ? { display: c.display, stdin } : { display: c.display },
      okCodes: c.okCodes ?? [0],
    }
  })
  const results = remote.execChain && chained.length > 1 ? await remote.execChain(chained) : await oneByOne(remote, chained)
  let stdout = ''
  let stderr = ''
  for (const [i, c] of commands.entries()) {
    const res = results[i]
    if (!res) throw new Error(`host ${remote.host}: ${c.display} did not run, and no command before it failed`)
    const clean = (text: string): string => (c.sensitiveStdin ? scrubSecret(text, c.stdin) : text)
    if (!(c.okCodes ?? [0]).includes(res.code)) throw new CommandFailedError(remote.host, c.display, res.code, clean(res.stderr.trim() ? res.stderr : res.stdout))
    if (c.reportOutput) {
      stdout += clean(res.stdout)
      stderr += clean(res.stderr)
    }
  }
  return { ...(stdout ? { stdout } : {}), ...(stderr ? { stderr } : {}) }
}

/** Runs chained commands one after another, up to the first that fails. */
async function oneByOne(remote: Remote, commands: readonly ChainedExec[]): Promise<Executed[]> {
  const results: Executed[] = []
  for (const c of commands) {
    const res = await remote.exec(c.script, c.opts)
    results.push(res)
    if (!(c.okCodes ?? [0]).includes(res.code)) break
  }
  return results
}

function maskSensitive(change: Change): Change {
  if (!change.sensitive) return change
  const { before: _before, after: _after, ...rest } = change
  return rest
}
