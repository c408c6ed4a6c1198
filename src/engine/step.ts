import { currentHost, type Remote, settled } from './context.ts'
import type { HostInfo } from './define.ts'
import type { Change, ErrorInfo, StepStatus } from './events.ts'
import type { Fact, Prediction } from './facts.ts'
import { recordNotifications, type Handler } from './handlers.ts'

/** What a planner may do: read facts of its host. It cannot change anything. */
export interface PlanContext {
  readonly host: HostInfo
  fact<A extends readonly unknown[], T>(fact: Fact<A, T>, ...args: A): Promise<T>
}

/** What a module decided after reading the host: the changes, and how to make them. */
export interface StepPlan {
  readonly changes: readonly Change[]
  /** Makes the changes, ideally in one command; returns output worth showing. Never called in check mode. */
  readonly apply?: (remote: Remote) => Promise<{ readonly stdout?: string; readonly stderr?: string } | void>
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
   * Applying fails with this message; a check run that predicted earlier changes on the host
   * reports would-change instead, because one of those changes may create it.
   */
  readonly missing?: string
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

/** Plans a step, applies it unless checking, and reports it. The only place where changes are applied. */
export async function runStep(spec: StepSpec): Promise<StepResult> {
  const run = currentHost()
  if (run.signal?.aborted) {
    await settled(run)
    throw new InterruptedError()
  }
  const base = { host: run.host.name, role: run.role, step: spec.name }
  // Planning starts at once: its reads queue on the host behind a change still in flight.
  const planning = (async () => spec.plan({ host: run.host, fact: (fact, ...args) => run.facts.read(fact, args) }))()
  try {
    await settled(run)
  } catch (err) {
    planning.catch(() => undefined)
    throw err
  }
  run.emit({ type: 'step:start', ...base })
  try {
    const plan = await planning
    const changes = plan.changes.map(maskSensitive)
    if (plan.missing !== undefined && (!run.check || run.predicted === 0)) throw new MissingResourceError(plan.missing)
    if (changes.length === 0) return report('ok', [])
    const notify = (spec.notify ?? []).map((h) => h.name)
    if (run.check) {
      run.predicted++
      run.facts.assume(plan.predict ?? [])
      for (const n of notify) run.notified.add(n)
      const reason = plan.missing !== undefined ? `${plan.missing}; an earlier change in this check run may provide it` : plan.uncertain
      return report(plan.uncertain && plan.missing === undefined ? 'uncertain' : 'would-change', changes, { reason })
    }
    const applying = plan.apply?.(notify.length ? notifyingRemote(run.remote, notify) : run.remote)
    // Dropped now, so reads sent from here on go to the host, behind the change.
    run.facts.drop()
    const done = Promise.resolve(applying).then(
      (out) => {
        for (const n of notify) run.notified.add(n)
        return report('changed', changes, out ?? {})
      },
      (err: unknown) => fail(err),
    )
    if (!plan.detachable) return await done
    run.inflight = done.then(() => undefined)
    run.inflight.catch(() => undefined)
    return { changed: true, status: 'changed', changes }
  } catch (err) {
    if (err instanceof InterruptedError || err instanceof StepFailedError) throw err
    return fail(err)
  }

  function fail(err: unknown): never {
    // The step may have changed the host before failing: forget what we knew.
    run.facts.drop()
    const error = classify(err)
    run.emit({ type: 'step:end', ...base, status: 'failed', changes: [], error })
    throw new StepFailedError(spec.name, error)
  }

  function report(status: StepStatus, changes: readonly Change[], extra: { stdout?: string; stderr?: string; reason?: string } = {}): StepResult {
    run.emit({ type: 'step:end', ...base, status, changes, ...extra })
    return { changed: status === 'changed' || status === 'would-change' || status === 'uncertain', status, changes, stdout: extra.stdout, stderr: extra.stderr }
  }
}

/** Records the notifications in the same command as the change's first write, so neither is lost alone. */
function notifyingRemote(remote: Remote, names: readonly string[]): Remote {
  let first = true
  return {
    host: remote.host,
    exec(script, opts) {
      if (!first) return remote.exec(script, opts)
      first = false
      return remote.exec(recordNotifications(names) + script, opts)
    },
  }
}

function maskSensitive(change: Change): Change {
  if (!change.sensitive) return change
  const { before: _before, after: _after, ...rest } = change
  return rest
}
