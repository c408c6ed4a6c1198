import type { StepResult } from './step.ts'

/**
 * Ansible's `retries`, `delay` and `until`, taken by every module. With `until`, the step runs
 * again (after `delay` seconds) while the predicate is false or the step failed, at most
 * `retries` more times (default 3); without it, `retries` only retries a failure. Check mode
 * never retries: it plans once and reports that plan.
 */
export interface RetryKeywords {
  /** Extra tries after the first (Ansible's meaning); default 3 when `until` is set, else 0. */
  readonly retries?: number
  /** Seconds between tries; default 5, as in Ansible. */
  readonly delay?: number
  /** Done when this holds for a try's result; a predicate that throws counts as not yet. */
  readonly until?: (result: StepResult) => boolean
}

/** How a step is retried: the number of tries in all, the pause between them and the predicate. */
export interface RetryPolicy {
  readonly tries: number
  readonly delayMs: number
  readonly until?: (result: StepResult) => boolean
}

/**
 * The policy `keywords` ask for, or undefined when the step runs once. Throws a message naming
 * the step for a count or delay that is not a whole number in range.
 */
export function retryPolicy(step: string, keywords: RetryKeywords): RetryPolicy | undefined {
  const { retries, delay, until } = keywords
  if (retries !== undefined && (!Number.isInteger(retries) || retries < 0 || retries > 1000)) {
    throw new Error(`step '${step}': retries must be a whole number from 0 to 1000, got ${String(retries)}`)
  }
  if (delay !== undefined && (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0 || delay > 3600)) {
    throw new Error(`step '${step}': delay must be a number of seconds from 0 to 3600, got ${String(delay)}`)
  }
  if (until !== undefined && typeof until !== 'function') throw new Error(`step '${step}': until must be a function of the step's result`)
  const extra = retries ?? (until ? 3 : 0)
  if (extra === 0 && !until) return undefined
  return { tries: extra + 1, delayMs: Math.round((delay ?? 5) * 1000), ...(until ? { until } : {}) }
}

/** Whether a try's result ends the retries: the predicate holds (one that throws does not). */
export function satisfied(policy: RetryPolicy, result: StepResult): boolean {
  if (!policy.until) return true
  try {
    return policy.until(result) === true
  } catch {
    return false
  }
}

/** Waits `ms`, or less when `signal` aborts first. */
export function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}

/** A step ran every try it was given and its `until` never held. */
export class UntilNotMetError extends Error {
  override readonly name = 'UntilNotMetError'
}
