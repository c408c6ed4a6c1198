import { currentHost, type Remote } from './context.ts'
import type { Change, ErrorInfo, StepStatus } from './events.ts'

/** What a module decided after reading the host: the changes, and how to make them. */
export interface StepPlan {
  readonly changes: readonly Change[]
  /** Makes the changes; returns command output worth showing. Never called in check mode. */
  readonly apply?: (remote: Remote) => Promise<{ readonly stdout?: string; readonly stderr?: string } | void>
  /** Set when the outcome cannot be known without applying; reported as uncertain in check mode. */
  readonly uncertain?: string
}

/** A module invocation: a name for the output, and a planner that only reads the host. */
export interface StepSpec {
  readonly name: string
  plan(remote: Remote): Promise<StepPlan>
}

/** What a role gets back from a module call. */
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
  if (run.signal?.aborted) throw new InterruptedError()
  const base = { host: run.host.name, role: run.role, step: spec.name }
  run.emit({ type: 'step:start', ...base })
  try {
    const plan = await spec.plan(run.remote)
    const changes = plan.changes.map(maskSensitive)
    if (changes.length === 0) return report('ok', [])
    if (run.check) return report(plan.uncertain ? 'uncertain' : 'would-change', changes, { reason: plan.uncertain })
    const out = (await plan.apply?.(run.remote)) ?? {}
    return report('changed', changes, out)
  } catch (err) {
    const error = classify(err)
    run.emit({ type: 'step:end', ...base, status: 'failed', changes: [], error })
    throw new StepFailedError(spec.name, error)
  }

  function report(status: StepStatus, changes: readonly Change[], extra: { stdout?: string; stderr?: string; reason?: string } = {}): StepResult {
    run.emit({ type: 'step:end', ...base, status, changes, ...extra })
    return { changed: status === 'changed' || status === 'would-change', status, changes, stdout: extra.stdout, stderr: extra.stderr }
  }
}

function maskSensitive(change: Change): Change {
  if (!change.sensitive) return change
  const { before: _before, after: _after, ...rest } = change
  return rest
}
