import { AsyncLocalStorage } from 'node:async_hooks'
import type { Change, Emit } from './events.ts'
import type { Host, HostInfo } from './define.ts'
import type { FactCache } from './facts.ts'

/** The result of one remote command, as the engine needs it. */
export interface Executed {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Per-command options the engine passes down to the connection. */
export interface RemoteExecOptions {
  readonly become?: boolean
  /** Bytes for the command's stdin, or `{ file }`: a controller file streamed while the command runs. */
  readonly stdin?: string | Buffer | { readonly file: string }
  /** Masked rendering for errors and output. */
  readonly display?: string
}

/** One command of {@link Remote.execChain}. */
export interface ChainedExec {
  readonly script: string
  readonly opts?: RemoteExecOptions
  /** Exit codes after which the chain goes on; default `[0]`. */
  readonly okCodes?: readonly number[]
}

/** A remote shell on one host; `script` is already quoted for POSIX sh. */
export interface Remote {
  /** The inventory name of the host. */
  readonly host: string
  exec(script: string, opts?: RemoteExecOptions): Promise<Executed>
  /**
   * Runs `commands` in order, each only when every one before it exited with one of its okCodes,
   * possibly all sent at once (one round trip for the lot). Resolves with the results of those
   * that ran, the last being the failure if one failed. Optional: without it, the engine gives
   * the commands one by one.
   */
  execChain?(commands: readonly ChainedExec[]): Promise<Executed[]>
}

/**
 * Compares a step, as just planned and before anything of it is applied, with the step a saved
 * plan holds at the same place on that host; returns the differences (none when it matches).
 */
export type StepExpectation = (host: string, step: string, changes: readonly Change[]) => readonly string[]

/** Everything a step needs about the host it runs on. The check flag is the engine's alone. */
export interface HostRun {
  readonly host: HostInfo
  readonly remote: Remote
  readonly facts: FactCache
  readonly check: boolean
  readonly emit: Emit
  readonly signal?: AbortSignal
  role?: string
  /** Changes this check run predicted on the host but did not make. */
  predicted: number
  /** Handlers notified on this host and not yet run. */
  readonly notified: Set<string>
  /** The host as handlers get it. */
  readonly handle: Host
  /** Set when planned facts are to be fingerprinted (plans to be saved or checked against). */
  readonly fingerprintKey?: Buffer
  /** Set when the run must apply exactly a saved plan: the differences of a step from it, empty when it matches. */
  readonly expect?: StepExpectation
  /**
   * The change of an earlier step still being made on the host (see StepPlan.detachable):
   * resolves once it is made and reported, rejects with its StepFailedError.
   */
  inflight?: Promise<void>
}

/** Waits for the host's change in flight, if any; throws its StepFailedError when it failed. */
export async function settled(run: HostRun): Promise<void> {
  const inflight = run.inflight
  if (!inflight) return
  try {
    await inflight
  } finally {
    if (run.inflight === inflight) run.inflight = undefined
  }
}

const storage = new AsyncLocalStorage<HostRun>()

/** Runs `fn` with `run` as the current host, so module calls inside it know where they act. */
export function withHost<T>(run: HostRun, fn: () => Promise<T>): Promise<T> {
  return storage.run(run, fn)
}

/** The host the calling step acts on; a module called outside a role or play is a programming error. */
export function currentHost(): HostRun {
  const run = storage.getStore()
  if (!run) throw new Error('havn: a module was called outside a role or play run')
  return run
}
