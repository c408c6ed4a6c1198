import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'

/** `$HAVN_CACHE_DIR`, else `$XDG_CACHE_HOME/havn`, else `~/.cache/havn`. */
export function cacheDir(): string {
  return process.env.HAVN_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'havn')
}

/** The JSON value stored at `path`, or undefined when it is missing or not JSON. */
export async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown
  } catch {
    return undefined
  }
}

/**
 * Stores `value` as JSON at `path`, readable by the owner only (folders 0700). Written whole under a
 * unique name, then renamed: a concurrent run sees the old entry or the new one. A cache that cannot
 * be written only costs the next run the work again, so failures are ignored.
 */
export async function writeJson(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 })
    await writeFile(tmp, JSON.stringify(value), { mode: 0o600 })
    await rename(tmp, path)
  } catch {
    await rm(tmp, { force: true })
  }
}
