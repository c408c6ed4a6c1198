import { createHash } from 'node:crypto'

/** One part of N: `index` counts from 1, as `--shard 1/4` does. */
export interface Shard {
  readonly index: number
  readonly count: number
}

/** Parses `K/N` with 1 ≤ K ≤ N; undefined for anything else. */
export function parseShard(text: string): Shard | undefined {
  const m = /^([0-9]+)\/([0-9]+)$/.exec(text.trim())
  const index = Number(m?.[1])
  const count = Number(m?.[2])
  return m && count >= 1 && index >= 1 && index <= count ? { index, count } : undefined
}

/**
 * The hosts of shard K of N: the hosts sorted by the SHA-256 of their name, then every N-th from
 * position K-1. The parts are disjoint, cover every host, differ in size by at most one, and depend
 * only on the set of names: not on inventory order, the machine, or the run.
 */
export function shardHosts(hosts: Iterable<string>, shard: Shard): Set<string> {
  const keyed = [...new Set(hosts)].map((h) => [createHash('sha256').update(h).digest('hex'), h] as const)
  keyed.sort(([a, ha], [b, hb]) => (a < b ? -1 : a > b ? 1 : ha < hb ? -1 : 1))
  return new Set(keyed.filter((_, i) => i % shard.count === shard.index - 1).map(([, h]) => h))
}
