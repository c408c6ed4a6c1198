import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll } from 'vitest'

/** A temp root removed after the calling file's tests, and a maker of new empty directories in it. */
export function tempDirs(prefix: string): () => string {
  const root = mkdtempSync(join(tmpdir(), prefix))
  afterAll(() => rmSync(root, { recursive: true, force: true }))
  let n = 0
  return () => {
    const dir = join(root, String(n++))
    mkdirSync(dir)
    return dir
  }
}
