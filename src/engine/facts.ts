import type { Executed, Remote } from './context.ts'

/** A read-only question to a host: a shell command and a pure parser of its result. */
export interface Fact<A extends readonly unknown[], T> {
  /** `domain.thing`; with the arguments it keys the per-host cache and recorded test fixtures. */
  readonly name: string
  command(...args: A): string
  parse(result: Executed, ...args: A): T
  /**
   * A second command to run instead when the first result cannot be parsed exactly (a cheap read
   * that missed); `parse` then reads that command's result. Undefined when the first one will do.
   */
  reread?(result: Executed, ...args: A): string | undefined
}

/** Declares a fact; the identity function, there for inference and for a uniform shape. */
export function defineFact<A extends readonly unknown[], T>(fact: Fact<A, T>): Fact<A, T> {
  return fact
}

/** A fact's value as it will read once a planned change is made; used to keep check runs coherent. */
export interface Prediction {
  readonly key: string
  readonly value: unknown
}

/** The cache key of a fact call. */
export function factKey<A extends readonly unknown[]>(fact: Fact<A, unknown>, args: A): string {
  return `${fact.name} ${JSON.stringify(args)}`
}

/** States that `fact(...args)` will read `value` after the step's change. */
export function predict<A extends readonly unknown[], T>(fact: Fact<A, T>, args: A, value: T): Prediction {
  return { key: factKey(fact, args), value }
}

/**
 * The resources (`package:restic`, `file:/etc/x`, `service:mariadb`) that earlier steps of this
 * run will change but have not changed on the host yet. A host never has any (a made change is
 * already there), so reading it costs only a no-op; in a check run every predicted change adds its
 * resources, so a role can plan on what those changes bring (a server an install will start, a
 * repository whose settings are about to be written) without asking which mode it runs in.
 */
export const pendingChanges = defineFact({
  name: 'engine.pendingChanges',
  command: () => ':',
  parse: (): readonly string[] => [],
})

/** Reads a fact from the host, uncached: its command, the second one if it asks for it, and the parse. */
export async function readFact<A extends readonly unknown[], T>(remote: Remote, fact: Fact<A, T>, args: A): Promise<T> {
  const display = `fact ${fact.name}`
  const res = await remote.exec(fact.command(...args), { display })
  const again = fact.reread?.(res, ...args)
  return fact.parse(again === undefined ? res : await remote.exec(again, { display }), ...args)
}

/**
 * Per-host fact cache. Reads are lazy and shared between concurrent callers; the whole cache is
 * dropped after any change on the host, and in check runs predictions stand in for real reads.
 * Views made with `as()` read through another remote (e.g. with become) under their own keys,
 * and share one store, so a change seen through any view drops them all.
 */
export class FactCache {
  private readonly entries: Map<string, Promise<unknown>>
  private readonly remote: Remote
  private readonly mode: string

  constructor(remote: Remote, mode = '', entries = new Map<string, Promise<unknown>>()) {
    this.remote = remote
    this.mode = mode
    this.entries = entries
  }

  /** A view of the same store that reads through `remote`; `mode` names how it reads (e.g. `become`). */
  as(remote: Remote, mode: string): FactCache {
    return new FactCache(remote, mode, this.entries)
  }

  /** The fact's value, read from the host at most once until the cache is dropped. */
  read<A extends readonly unknown[], T>(fact: Fact<A, T>, args: A): Promise<T> {
    const key = this.key(factKey(fact, args))
    let hit = this.entries.get(key) as Promise<T> | undefined
    if (!hit) {
      hit = readFact(this.remote, fact, args)
      this.entries.set(key, hit)
      // A failed read must not poison later reads.
      hit.catch(() => this.entries.delete(key))
    }
    return hit
  }

  /** Forgets everything, in every view: the host changed. */
  drop(): void {
    this.entries.clear()
  }

  /** Records what facts will read after a change that a check run does not make, and its resources as pending. */
  assume(predictions: readonly Prediction[], resources: readonly string[] = []): void {
    for (const p of predictions) this.entries.set(this.key(p.key), Promise.resolve(p.value))
    if (resources.length === 0) return
    const key = this.key(factKey(pendingChanges, []))
    const earlier = (this.entries.get(key) as Promise<readonly string[]> | undefined) ?? Promise.resolve([])
    this.entries.set(key, earlier.then((list) => [...new Set([...list, ...resources])]))
  }

  private key(factKeyText: string): string {
    return `${this.mode}|${factKeyText}`
  }
}
