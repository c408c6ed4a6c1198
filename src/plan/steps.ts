import type { Change, RunEvent, StepStatus } from '../engine/events.ts'

/** One step of a saved plan, as the check ended it on its host. */
export interface PlannedStep {
  readonly step: string
  readonly role?: string
  readonly status: StepStatus
  readonly changes: readonly Change[]
  readonly fingerprint?: string
  readonly sensitiveDigest?: string
}

/** What a check run found for one host, in step order. */
export interface PlannedHost {
  readonly steps: readonly PlannedStep[]
  readonly unreachable: boolean
}

/** The steps of every host of a run, from its events. */
export function plannedHosts(events: readonly RunEvent[]): Map<string, PlannedHost> {
  const hosts = new Map<string, { steps: PlannedStep[]; unreachable: boolean }>()
  const of = (name: string) => {
    let h = hosts.get(name)
    if (!h) hosts.set(name, (h = { steps: [], unreachable: false }))
    return h
  }
  for (const e of events) {
    if (e.type === 'run:start') for (const h of e.hosts) of(h)
    if (e.type === 'host:unreachable') of(e.host).unreachable = true
    if (e.type !== 'step:end') continue
    of(e.host).steps.push({
      step: e.step,
      ...(e.role !== undefined ? { role: e.role } : {}),
      status: e.status,
      changes: e.changes,
      ...(e.fingerprint ? { fingerprint: e.fingerprint } : {}),
      ...(e.sensitiveDigest ? { sensitiveDigest: e.sensitiveDigest } : {}),
    })
  }
  return hosts
}

/** Whether the host has anything to apply. */
export function hasChanges(host: PlannedHost): boolean {
  return host.steps.some((s) => s.status === 'would-change' || s.status === 'uncertain')
}

function changeKey(c: Change): string {
  return `${c.resource} ${c.field ?? '-'}`
}

function shown(value: string | undefined): string {
  if (value === undefined) return '(none)'
  const one = value.length > 60 ? `${value.slice(0, 57)}...` : value
  return JSON.stringify(one)
}

/**
 * The differences between a step's changes as planned now and as saved: host, resource, field,
 * the value the plan expected and the value found. Sensitive changes compare by resource and field.
 */
export function changeDifferences(host: string, step: string, saved: readonly Change[], now: readonly Change[]): string[] {
  const out: string[] = []
  const before = new Map(saved.map((c) => [changeKey(c), c]))
  const after = new Map(now.map((c) => [changeKey(c), c]))
  for (const [key, c] of before) {
    const n = after.get(key)
    if (!n) out.push(`${host}: ${step}: ${key}: the plan changes it (to ${shown(c.after)}), now nothing would`)
    else if (n.action !== c.action || n.before !== c.before || n.after !== c.after) {
      out.push(`${host}: ${step}: ${key}: the plan expected ${shown(c.before)} -> ${shown(c.after)}, found ${shown(n.before)} -> ${shown(n.after)}`)
    }
  }
  for (const [key, n] of after) if (!before.has(key)) out.push(`${host}: ${step}: ${key}: not in the plan, now it would change (${shown(n.before)} -> ${shown(n.after)})`)
  return out
}

/**
 * Every difference between a host's saved steps and the same host planned again: a step that
 * appeared, disappeared or changes otherwise, or whose facts differ (its fingerprint).
 */
export function hostDifferences(host: string, saved: PlannedHost, now: PlannedHost): string[] {
  if (saved.unreachable) return [`${host}: it was unreachable when the plan was made`]
  if (now.unreachable) return []
  const out: string[] = []
  const n = Math.max(saved.steps.length, now.steps.length)
  for (let i = 0; i < n; i++) {
    const s = saved.steps[i]
    const f = now.steps[i]
    if (!s) out.push(`${host}: step ${i + 1} '${f!.step}' is not in the plan`)
    else if (!f) out.push(`${host}: step ${i + 1} '${s.step}' of the plan is not planned any more`)
    else if (s.step !== f.step) out.push(`${host}: step ${i + 1} is '${f.step}', the plan has '${s.step}'`)
    else {
      const diff = changeDifferences(host, s.step, s.changes, f.changes)
      out.push(...diff)
      if (diff.length === 0 && s.status !== f.status) out.push(`${host}: ${s.step}: the plan says ${s.status}, now ${f.status}`)
      else if (diff.length === 0 && s.fingerprint !== f.fingerprint) out.push(`${host}: ${s.step}: the facts it is planned from changed on the host`)
      else if (diff.length === 0 && s.sensitiveDigest !== f.sensitiveDigest) out.push(`${host}: ${s.step}: a secret value it sets is not the one the plan was made with`)
    }
    if (out.length > 0 && (!s || !f || s.step !== f.step)) break
  }
  return out
}
