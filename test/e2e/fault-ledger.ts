import type { JsonEvent } from './cli.ts'

/** One line of the fault suite's table: what was injected and what the suite found afterwards. */
export interface FaultRow {
  readonly fault: string
  /** Faults injected by the case (kills, links set down, …). */
  readonly injected: number
  readonly hosts: number
  /** havn runs the case made, including the ones the fault ended. */
  readonly runs: number
  /** Undefined where the case writes no file or notifies no handler: printed as `-`. */
  readonly halfWritten: number | undefined
  readonly notificationsLost: number | undefined
  readonly recapMismatches: number
}

/**
 * Hosts whose recap disagrees with the run's own step events (changed, ok, skipped and failed
 * steps counted per host); a run whose recap is missing counts as one mismatch.
 */
export function recapMismatches(evs: readonly JsonEvent[]): number {
  const recap = evs.at(-1)
  if (recap?.type !== 'recap') return 1
  let bad = 0
  for (const [host, tally] of Object.entries(recap.hosts as Record<string, { changed: number; ok: number; skipped: number; failed: number }>)) {
    const steps = evs.filter((e) => e.type === 'step:end' && e.host === host)
    const count = (status: string) => steps.filter((e) => e.status === status).length
    if (tally.changed !== count('changed') || tally.ok !== count('ok') || tally.skipped !== count('skipped') || tally.failed < count('failed')) bad++
  }
  return bad
}

/** The table the suite prints at the end, one row per case, in plain columns. */
export function faultTable(rows: readonly FaultRow[]): string {
  const head = ['fault', 'injected', 'hosts', 'runs', 'half-written files', 'notifications lost', 'recap mismatches']
  const body = rows.map((r) => [r.fault, r.injected, r.hosts, r.runs, r.halfWritten, r.notificationsLost, r.recapMismatches].map((v) => (v === undefined ? '-' : String(v))))
  const total = ['total', ...[1, 2, 3, 4, 5, 6].map((i) => String(body.reduce((sum, r) => sum + (Number(r[i]) || 0), 0)))]
  const all = [head, ...body, total]
  const widths = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)))
  const line = (r: readonly string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  return [line(head), ...body.map(line), line(total)].join('\n')
}
