import { createHash } from 'node:crypto'
import { statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cacheDir, readJson, writeJson } from '../loader/cache-store.ts'
import type { Problems } from './problems.ts'

/** Bumped whenever an older havn could have parsed the same text into something else. */
const FORMAT = 1

/**
 * Which build of havn parsed: the size and time of the file this code runs from, so a rebuilt or
 * upgraded havn never takes an older parser's word. From TypeScript sources (working on havn) the
 * parser's files could change without this one, so nothing is cached there.
 */
const BUILD = ((): string | undefined => {
  if (!import.meta.url.startsWith('file:') || import.meta.url.endsWith('.ts')) return undefined
  try {
    const s = statSync(fileURLToPath(import.meta.url))
    return `${s.size}:${s.mtimeMs}`
  } catch {
    return undefined
  }
})()

interface Entry {
  readonly format: number
  readonly build: string
  readonly text: string
  readonly value: unknown
}

/**
 * `parse()` of one inventory source, remembered in `~/.cache/havn/inventory/` (see cacheDir) so
 * later runs skip the YAML parser, whose cold start costs more than the rest of loading. An entry
 * is used only for the same file name, text and havn build. Only results that `parse` produced
 * without adding a problem, and that are plain JSON values, are kept: a cached result is exactly
 * what parsing would return, and every problem is found afresh on every run.
 */
export async function parsedOnce<T>(kind: string, file: string, text: string, problems: Problems, parse: () => Promise<T | undefined>): Promise<T | undefined> {
  if (BUILD === undefined) return parse()
  // The name as given goes into every position the result holds; the absolute one keeps two checkouts apart.
  const path = join(cacheDir(), 'inventory', `${createHash('sha256').update(`${kind}\0${resolve(file)}\0${file}`).digest('hex').slice(0, 32)}.json`)
  const textHash = createHash('sha256').update(text).digest('hex')
  const hit = (await readJson(path)) as Entry | undefined
  if (hit?.format === FORMAT && hit.build === BUILD && hit.text === textHash) return hit.value as T
  const before = problems.list.length
  const value = await parse()
  if (value !== undefined && problems.list.length === before && isJsonValue(value)) {
    await writeJson(path, { format: FORMAT, build: BUILD, text: textHash, value } satisfies Entry)
  }
  return value
}

/** True when JSON holds `v` exactly: no undefined, non-finite or negative-zero number, Date, Map or class instance. */
function isJsonValue(v: unknown): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0)
  if (Array.isArray(v)) return v.every(isJsonValue)
  if (typeof v !== 'object' || Object.getPrototypeOf(v) !== Object.prototype) return false
  return Object.values(v).every(isJsonValue)
}
