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

  /** Records a problem at a location, optionally naming the host it concerns. */
  add(at: Located, message: string, host?: string): void {
    this.list.push({ message, at: host === undefined ? { ...at } : { ...at, host } })
  }

  get empty(): boolean {
    return this.list.length === 0
  }

  /** Throws everything collected so far, if anything was. */
  throwIfAny(): void {
    if (this.list.length > 0) throw new InputError(this.list)
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

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution))
    }
    previous = current
  }
  return previous[b.length] ?? 0
}
