import { readFileSync, statSync } from 'node:fs'

const parsed = new Map<string, { stamp: string; value: unknown }>()

/**
 * `parse` of a local file's bytes, computed once while the file's size and mtime stay the same:
 * a run connecting to many hosts reads the same known_hosts and key files for each of them.
 * Throws what reading throws (ENOENT included); the caller decides what a missing file means.
 */
export function parsedFile<T>(path: string, parse: (data: Buffer) => T): T {
  const st = statSync(path)
  const stamp = `${st.size}:${st.mtimeMs}:${st.ino}`
  const hit = parsed.get(path)
  if (hit && hit.stamp === stamp) return hit.value as T
  const value = parse(readFileSync(path))
  parsed.set(path, { stamp, value })
  return value
}
