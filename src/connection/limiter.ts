/** A counting semaphore; `run` holds one slot for the duration of `fn`. FIFO, so no waiter starves. */
export class Limiter {
  readonly #max: number
  #active = 0
  readonly #waiters: (() => void)[] = []

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`Limiter: max must be a positive integer, got ${max}`)
    this.#max = max
  }

  /** Slots currently held. */
  get active(): number {
    return this.#active
  }

  async acquire(): Promise<() => void> {
    if (this.#active >= this.#max) await new Promise<void>((resolve) => this.#waiters.push(resolve))
    else this.#active++
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.#waiters.shift()
      // Hand the slot directly to the next waiter so #active never dips and lets a newcomer jump the queue.
      if (next) next()
      else this.#active--
    }
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire()
    try {
      return await fn()
    } finally {
      release()
    }
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
