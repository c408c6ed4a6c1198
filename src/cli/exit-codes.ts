import type { HostRecap } from '../engine/events.ts'

/** The process exit codes documented in the README. */
export const EXIT = {
  ok: 0,
  failed: 1,
  pending: 2,
  unreachable: 3,
  input: 4,
  /** `havn apply`: the plan no longer matched on at least one host; nothing was changed on those hosts. */
  drifted: 5,
  interrupted: 130,
} as const

/**
 * Folds a recap into the exit code: a failure wins over unreachable hosts, which win over pending
 * changes. Pending changes give 2 in check mode, and after an apply only with `--detailed-exitcode`.
 */
export function exitCodeFor(recap: Readonly<Record<string, HostRecap>>, opts: { check: boolean; detailed: boolean }): number {
  const hosts = Object.values(recap)
  if (hosts.some((h) => h.failed > 0)) return EXIT.failed
  if (hosts.some((h) => h.unreachable)) return EXIT.unreachable
  const pending = opts.check ? hosts.some((h) => h.wouldChange > 0 || h.uncertain > 0) : hosts.some((h) => h.changed > 0)
  if (pending && (opts.check || opts.detailed)) return EXIT.pending
  return EXIT.ok
}
