import { InputError, type InputLocation } from '../engine/errors.ts'

/** A place in an inventory source: a YAML position, or a JSON pointer into an index.ts spec. */
export interface Located {
  readonly file: string
  readonly line?: number
  readonly column?: number
  readonly pointer?: string
}

/**
 * Collects every inventory problem so the user sees them all at once, then raises them together as
 * one InputError (exit code 4).
 */
export class Problems {
  readonly list: { message: string; at: InputLocation }[] = []
  /** Things Ansible accepts silently but that are probably mistakes; reported, never fatal. */
  readonly warnings: { message: string; at: InputLocation }[] = []

  /** Records a problem at a location, optionally naming the host it concerns. */
  add(at: Located, message: string, host?: string): void {
    this.list.push({ message, at: host === undefined ? { ...at } : { ...at, host } })
  }

  /** Records a warning at a location. */
  warn(at: Located, message: string): void {
    this.warnings.push({ message, at: { ...at } })
  }

  get empty(): boolean {
    return this.list.length === 0
  }

  /** Throws everything collected so far, if anything was, ordered by file and position. */
  throwIfAny(): void {
    if (this.list.length === 0) return
    // Checks run in passes (shape, then names, then values); users read problems top to bottom.
    const sorted = [...this.list].sort((a, b) =>
      compare(a.at.file ?? '', b.at.file ?? '') || (a.at.line ?? 0) - (b.at.line ?? 0) || (a.at.column ?? 0) - (b.at.column ?? 0))
    throw new InputError(sorted)
  }
}

/** Returns `; did you mean 'x'?` for the closest candidate within a small edit distance, else ''. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase())
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best === undefined ? '' : `; did you mean '${best}'?`
}

// Optimal string alignment: a swap of two adjacent letters ("wbe" for "web") counts as one edit.
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1)
      const row = d[i]
      if (row) row[j] = best
    }
  }
  return at(a.length, b.length)
}

// Code-point order, so problem order never depends on the locale.
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
