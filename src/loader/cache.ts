import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { bundle, type MissingPackage } from './bundle.ts'
import { cacheDir, readJson, writeJson } from './cache-store.ts'

/** Bumped whenever bundles from an older havn could differ from what this one compiles. */
const FORMAT = 1

/** What a cache entry holds: the compiled module (or that there is none) and what it was built from. */
interface Entry {
  readonly format: number
  readonly file: string
  /** Content hash of each file the bundle depends on; null for a file that did not exist. */
  readonly dependsOn: Readonly<Record<string, string | null>>
  /** The compiled module; absent when the playbook must be loaded through tsx. */
  readonly code?: string
}

/** A compiled module ready to import, or `undefined` code when it must be loaded through tsx. */
export interface Compiled {
  readonly code?: string
  /** Whether it came from the cache without compiling. */
  readonly cached: boolean
  /** A package that an import names but that is not installed (then there is no code). */
  readonly missing?: MissingPackage['missing']
}

async function hashOf(path: string): Promise<string | null> {
  try {
    return createHash('sha256').update(await readFile(path)).digest('hex')
  } catch {
    return null
  }
}

async function readEntry(path: string, file: string): Promise<Entry | undefined> {
  const entry = (await readJson(path)) as Entry | undefined
  if (typeof entry !== 'object' || entry === null) return undefined
  if (entry.format !== FORMAT || entry.file !== file || typeof entry.dependsOn !== 'object') return undefined
  const checks = await Promise.all(Object.entries(entry.dependsOn).map(async ([dep, hash]) => (await hashOf(dep)) === hash))
  return checks.every(Boolean) ? entry : undefined
}

/**
 * The files a TypeScript module's compiled form depends on (its sources and the package and tsconfig
 * files that shape it), from the cache entry when it is current, else by compiling it now.
 */
export async function dependencies(file: string, dir = join(cacheDir(), 'modules')): Promise<string[]> {
  const hit = await readEntry(entryPath(dir, file), file)
  if (hit) return Object.keys(hit.dependsOn)
  const built = await bundle(file)
  return built && 'dependsOn' in built ? [...built.dependsOn] : []
}

function entryPath(dir: string, file: string): string {
  return join(dir, `${createHash('sha256').update(file).digest('hex').slice(0, 32)}.json`)
}

/**
 * Returns `file` compiled by `bundle`, from `dir` when every file it was built from is unchanged
 * (compared by content), else compiled now and stored there. A cache that cannot be written only
 * costs the next run a compile.
 */
export async function compiled(file: string, dir = join(cacheDir(), 'modules')): Promise<Compiled> {
  const path = entryPath(dir, file)
  const hit = await readEntry(path, file)
  if (hit) return { code: hit.code, cached: true }
  const built = await bundle(file)
  if (!built) return { cached: false }
  if ('missing' in built) return { cached: false, missing: built.missing }
  const hashes = await Promise.all(built.dependsOn.map(async (dep) => [dep, await hashOf(dep)] as const))
  const entry: Entry = { format: FORMAT, file, dependsOn: Object.fromEntries(hashes), ...(built.code !== undefined ? { code: built.code } : {}) }
  await writeJson(path, entry)
  return { code: built.code, cached: false }
}
