import { readdir, readFile, stat } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { dependencies } from '../loader/cache.ts'
import { keyedHash } from './key.ts'

/** Files a plan was made from, by path relative to the working directory, each with its keyed hash. */
export type InputFiles = Readonly<Record<string, string>>

async function hashFiles(key: Buffer, paths: Iterable<string>): Promise<InputFiles> {
  const out: Record<string, string> = {}
  for (const path of [...new Set(paths)].sort()) {
    const bytes = await readFile(path).catch(() => undefined)
    if (bytes === undefined) continue
    const rel = relative(process.cwd(), path)
    out[rel === '' || rel.startsWith('..') ? path : rel] = keyedHash(key, bytes)
  }
  return out
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await walk(path)))
    else if (entry.isFile()) out.push(path)
  }
  return out
}

/** The playbook and every local source it imports (as the loader compiled them). */
export async function playbookInputs(key: Buffer, file: string): Promise<InputFiles> {
  const abs = resolve(file)
  const deps = (await dependencies(abs)).filter((p) => !p.split('/').includes('node_modules'))
  return hashFiles(key, [abs, ...deps])
}

/**
 * Every file of the inventory, for each `-i` path: all files under a directory; for a file, it and
 * the `group_vars/` and `host_vars/` beside it.
 */
export async function inventoryInputs(key: Buffer, paths: readonly string[]): Promise<InputFiles> {
  const files = new Set<string>()
  for (const path of paths) {
    const abs = resolve(path)
    if ((await stat(abs)).isDirectory()) {
      for (const f of await walk(abs)) files.add(f)
      continue
    }
    files.add(abs)
    const beside = await Promise.all(['group_vars', 'host_vars'].map((d) => walk(join(dirname(abs), d)).catch(() => [])))
    for (const f of beside.flat()) files.add(f)
  }
  return hashFiles(key, [...files])
}

/** What differs between the files a plan was made from and the files now: `changed`, `added`, `removed`. */
export function inputDifferences(saved: InputFiles, now: InputFiles): string[] {
  const out: string[] = []
  for (const [path, hash] of Object.entries(saved)) {
    if (!(path in now)) out.push(`${path} was removed`)
    else if (now[path] !== hash) out.push(`${path} changed`)
  }
  for (const path of Object.keys(now)) if (!(path in saved)) out.push(`${path} was added`)
  return out
}
