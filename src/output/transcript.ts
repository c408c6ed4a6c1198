import type { Change, ErrorInfo, HostRecap, RunEvent, StepStatus } from '../engine/events.ts'

/** One step as a report shows it: what it did, why, how it ended, and how long it took. */
export interface TranscriptStep {
  readonly step: string
  readonly role?: string
  readonly status: StepStatus | 'unreachable' | 'drift'
  readonly changes: readonly Change[]
  readonly reason?: string
  readonly error?: ErrorInfo
  readonly stdout?: string
  readonly stderr?: string
  readonly seconds: number
}

/**
 * A whole run collected from its (already masked) events, host by host, for the reports written to
 * files (JUnit XML, HTML). Host-level problems that are not steps (unreachable, drifted from a
 * plan) appear as steps of their own.
 */
export class Transcript {
  readonly hosts = new Map<string, TranscriptStep[]>()
  recap: Readonly<Record<string, HostRecap>> = {}
  playbook = 'havn'
  mode: 'apply' | 'check' = 'apply'
  durationMs = 0
  private readonly started = new Map<string, number>()

  /** Takes one event of the run, in order. */
  onEvent(e: RunEvent): void {
    if (e.type === 'run:start') {
      this.playbook = e.playbook
      this.mode = e.mode
      for (const h of e.hosts) this.of(h)
    } else if (e.type === 'step:start') this.started.set(`${e.host}\n${e.step}`, Date.now())
    else if (e.type === 'step:end') {
      const t0 = this.started.get(`${e.host}\n${e.step}`)
      this.of(e.host).push({
        step: e.step,
        ...(e.role !== undefined ? { role: e.role } : {}),
        status: e.status,
        changes: e.changes,
        ...(e.reason !== undefined ? { reason: e.reason } : {}),
        ...(e.error !== undefined ? { error: e.error } : {}),
        ...(e.stdout ? { stdout: e.stdout } : {}),
        ...(e.stderr ? { stderr: e.stderr } : {}),
        seconds: t0 === undefined ? 0 : (Date.now() - t0) / 1000,
      })
    } else if (e.type === 'host:unreachable') {
      this.of(e.host).push({ step: 'connect', status: 'unreachable', changes: [], error: e.error, seconds: 0 })
    } else if (e.type === 'recap') {
      this.recap = e.hosts
      this.durationMs = e.durationMs
    }
  }

  /** A host `havn apply` refused because it no longer matches the plan (or the plan failed there). */
  hostRefused(host: string, message: string): void {
    this.of(host).push({ step: 'matches the plan', status: 'drift', changes: [], error: { kind: 'drift', message }, seconds: 0 })
  }

  private of(host: string): TranscriptStep[] {
    let list = this.hosts.get(host)
    if (!list) this.hosts.set(host, (list = []))
    return list
  }
}

/** Whether a transcript step counts as a failure in a report. */
export function isFailure(s: TranscriptStep): boolean {
  return s.status === 'failed' || s.status === 'unreachable' || s.status === 'drift'
}
