import { createRequire } from 'node:module'
import type { createPatch as CreatePatch } from 'diff'
import type { Change } from '../engine/events.ts'

// Loaded on the first diff: a run that changes no text (and JSON output) never needs it.
const load = createRequire(import.meta.url)
let createPatch: typeof CreatePatch | undefined

/** Past this, diffing two unrelated texts can take seconds; a size summary is shown instead. */
const DIFF_TIMEOUT_MS = 500

/** True when a change's before/after are texts best shown as a unified diff. */
export function isTextChange(change: Change): boolean {
  return !change.sensitive && (change.field === 'content' || (change.before ?? '').includes('\n') || (change.after ?? '').includes('\n'))
}

/**
 * A unified diff of a text change, as lines without trailing newlines. Falls back to a one-line
 * size summary when the diff would take too long; never called for sensitive changes.
 */
export function unifiedDiff(change: Change): string[] {
  const before = change.before ?? ''
  const after = change.after ?? ''
  const name = change.resource.replace(/^[a-z]+:/, '')
  createPatch ??= (load('diff') as { createPatch: typeof CreatePatch }).createPatch
  const patch = createPatch(name, before, after, 'before', 'after', { context: 3, timeout: DIFF_TIMEOUT_MS })
  if (patch === undefined) return [`content changed (${byteLength(before)} -> ${byteLength(after)} bytes)`]
  // Drop the `Index:` and `====` header lines; keep ---/+++ and the hunks.
  return patch.replace(/\n$/, '').split('\n').slice(2)
}

/** `+N -M lines` for a text change, for output without --diff. */
export function diffStat(change: Change): string {
  const lines = unifiedDiff(change).slice(2)
  const added = lines.filter((l) => l.startsWith('+')).length
  const removed = lines.filter((l) => l.startsWith('-')).length
  return `+${added} -${removed} lines`
}

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8')
}
