/** The engine's output contract: every reporter draws these events and nothing else. */

/** How one step ended on one host. `would-change` only occurs in check mode. */
export type StepStatus = 'ok' | 'changed' | 'would-change' | 'uncertain' | 'failed' | 'skipped'

/** One difference between a host's state and the desired state. */
export interface Change {
  /** What is changed, as `kind:identity`, e.g. `file:/etc/haproxy/haproxy.cfg` or `command:hostname`. */
  readonly resource: string
  readonly action: 'create' | 'update' | 'delete' | 'run'
  /** The attribute that differs (`content`, `mode`, `owner`, …); absent for whole-resource changes. */
  readonly field?: string
  readonly before?: string
  readonly after?: string
  /** When set, reporters print "(sensitive, changed)" and never the values; the engine drops them first. */
  readonly sensitive?: boolean
}

/**
 * What a failed step or host carries so the user can act on it. `refused`: a planner or role
 * declined from what it found (the message says why; nothing was changed by that step);
 * `internal`: anything else, most likely a bug.
 */
export interface ErrorInfo {
  readonly kind: 'unreachable' | 'auth' | 'host-key' | 'command' | 'timeout' | 'become' | 'locked' | 'missing' | 'input' | 'unsupported' | 'drift' | 'refused' | 'until' | 'internal'
  readonly message: string
  readonly command?: string
  readonly exitCode?: number
  readonly stderrTail?: string
}

/** Per-host tallies printed at the end of a run. */
export interface HostRecap {
  ok: number
  changed: number
  wouldChange: number
  uncertain: number
  failed: number
  skipped: number
  unreachable: boolean
  /** True when the host was selected but never started (a spent failure budget, or an interrupt). */
  notRun: boolean
  durationMs: number
}

/** Every event of a run, in the order the engine emits them. */
export type RunEvent =
  | { readonly type: 'run:start'; readonly playbook: string; readonly mode: 'apply' | 'check'; readonly hosts: readonly string[] }
  | { readonly type: 'play:start'; readonly play: string; readonly hosts: readonly string[] }
  | { readonly type: 'host:start'; readonly host: string; readonly play: string }
  | { readonly type: 'step:start'; readonly host: string; readonly role?: string; readonly step: string }
  | {
      readonly type: 'step:end'
      readonly host: string
      readonly role?: string
      readonly step: string
      readonly status: StepStatus
      readonly changes: readonly Change[]
      /** Output of a command the step ran, already masked. */
      readonly stdout?: string
      readonly stderr?: string
      readonly reason?: string
      readonly error?: ErrorInfo
      /** Keyed hash of every fact the step was planned from (only when the run was given a key). */
      readonly fingerprint?: string
      /** Keyed hash of the secret values the step sets (only when the run was given a key). */
      readonly sensitiveDigest?: string
      /** How many times a step with retry keywords ran; absent when it ran once. */
      readonly tries?: number
    }
  | { readonly type: 'host:unreachable'; readonly host: string; readonly error: ErrorInfo }
  | { readonly type: 'host:end'; readonly host: string; readonly play: string; readonly failed: boolean }
  | { readonly type: 'play:end'; readonly play: string }
  | { readonly type: 'batch:start'; readonly play: string; readonly batch: number; readonly of: number; readonly hosts: readonly string[] }
  | { readonly type: 'run:stopped'; readonly reason: string }
  | {
      readonly type: 'recap'
      readonly mode: 'apply' | 'check'
      readonly hosts: Readonly<Record<string, HostRecap>>
      readonly durationMs: number
      /** Why the run stopped before every selected host ran (spent failure budget, interrupt). */
      readonly stopped?: string
    }

/** Receives events; the engine never waits on a reporter. */
export type Emit = (event: RunEvent) => void
