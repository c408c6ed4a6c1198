import type { BatchSize } from './define.ts'
import { InputError } from './errors.ts'

/**
 * Splits hosts into rollout batches. A percentage is of all the play's hosts, rounded down but at
 * least 1 (as Ansible does); the last size repeats until every host has a batch.
 */
export function batchesOf<T>(hosts: readonly T[], serial: BatchSize | readonly BatchSize[] | undefined, where: string): T[][] {
  if (serial === undefined || hosts.length === 0) return hosts.length ? [[...hosts]] : []
  const sizes = (Array.isArray(serial) ? serial : [serial]) as readonly BatchSize[]
  if (sizes.length === 0) throw InputError.at({}, `${where}: serial must not be an empty list`)
  const counts = sizes.map((s) => batchCount(s, hosts.length, where))
  const out: T[][] = []
  for (let i = 0, at = 0; at < hosts.length; i++) {
    const n = counts[Math.min(i, counts.length - 1)]!
    out.push(hosts.slice(at, at + n))
    at += n
  }
  return out
}

function batchCount(size: BatchSize, total: number, where: string): number {
  if (typeof size === 'number') {
    if (!Number.isInteger(size) || size < 1) throw InputError.at({}, `${where}: serial ${size} is not a positive whole number`)
    return size
  }
  const m = /^(\d+(?:\.\d+)?)%$/.exec(size)
  const pct = m ? Number(m[1]) : NaN
  if (!(pct > 0 && pct <= 100)) throw InputError.at({}, `${where}: serial '${size}' is not a percentage from 1% to 100%`)
  return Math.max(1, Math.floor((total * pct) / 100))
}
