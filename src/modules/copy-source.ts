import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import type { Stats } from 'node:fs'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MAX_TEXT_BYTES } from '../facts/file.ts'
import type { SourceFile } from './file.ts'

/** One file of a source tree: where it is on the controller, its sum and size, and its permission bits. */
export interface SourceEntry extends SourceFile {
  readonly mode: number
}

/** A source on the controller: one file, or a directory with its subdirectories and files by relative path. */
export type Source =
  | { readonly kind: 'file'; readonly file: SourceEntry }
  | { readonly kind: 'directory'; readonly mode: number; readonly dirs: ReadonlyMap<string, number>; readonly files: ReadonlyMap<string, SourceEntry> }

/** An absolute controller path from a path or a `file:` URL (`new URL('./files/app', import.meta.url)`); `module` names the caller in the error. */
export function sourcePath(src: string | URL, module = 'copy'): string {
  const path = src instanceof URL ? fileURLToPath(src) : src
  if (!path.startsWith('/')) throw new Error(`${module}: src must be an absolute path or a file: URL (new URL('./files/x', import.meta.url)), got ${JSON.stringify(path)}`)
  return path
}

async function sum(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** Files already read, by path, while their stat stamp holds: every host of a run plans the same source. */
const read = new Map<string, { readonly stamp: string; readonly entry: Promise<SourceEntry> }>()

function entry(file: string, st: Stats): Promise<SourceEntry> {
  const stamp = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`
  const hit = read.get(file)
  if (hit?.stamp === stamp) return hit.entry
  const fresh = readEntry(file, st.size, st.mode & 0o7777)
  read.set(file, { stamp, entry: fresh })
  fresh.catch(() => read.delete(file))
  return fresh
}

async function readEntry(file: string, size: number, mode: number): Promise<SourceEntry> {
  // Small text files come with their text, for diffs; the rest is only summed, a chunk at a time.
  if (size <= MAX_TEXT_BYTES) {
    const bytes = await readFile(file)
    const text = bytes.toString('utf8')
    const sha256 = createHash('sha256').update(bytes).digest('hex')
    return { file, size, mode, sha256, ...(Buffer.from(text, 'utf8').equals(bytes) && !text.includes('\0') ? { text } : {}) }
  }
  return { file, size, mode, sha256: await sum(file) }
}

/**
 * Reads a source file or tree (symlinks followed, as Ansible's copy does). Throws naming the path
 * for what cannot be copied: a missing source, a device, socket or fifo, a name holding a newline.
 * `module` names the caller in the error.
 */
export async function readSource(root: string, module = 'copy'): Promise<Source> {
  const top = await stat(root).catch((e: NodeJS.ErrnoException) => {
    throw new Error(`${module}: cannot read ${root} on the controller: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`)
  })
  if (top.isFile()) return { kind: 'file', file: await entry(root, top) }
  if (!top.isDirectory()) throw new Error(`${module}: ${root} is neither a file nor a directory`)
  const dirs = new Map<string, number>()
  const files = new Map<string, SourceEntry>()
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(join(root, rel))).sort()
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`
      if (name.includes('\n')) throw new Error(`${module}: ${join(root, path)}: names holding a newline cannot be copied`)
      const st = await stat(join(root, path))
      if (st.isDirectory()) {
        dirs.set(path, st.mode & 0o7777)
        await walk(path)
      } else if (st.isFile()) {
        files.set(path, await entry(join(root, path), st))
      } else {
        throw new Error(`${module}: ${join(root, path)} is neither a file nor a directory`)
      }
    }
  }
  await walk('')
  return { kind: 'directory', mode: top.mode & 0o7777, dirs, files }
}
