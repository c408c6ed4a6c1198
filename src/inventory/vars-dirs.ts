import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Problems } from './problems.ts'
import type { RawVarsFile } from './raw.ts'
import { parsedOnce } from './parse-cache.ts'

const VARS_EXTENSION = /\.(ya?ml|json)$/

/**
 * Reads `group_vars/` and `host_vars/` under `dir`: `<name>.yaml|.yml|.json` (or no extension, as Ansible
 * allows), and `<name>/` directories whose files merge in file-name order after `<name>.yaml`.
 * Dotfiles and `*.md` are skipped. Whether each name exists is checked later, against the inventory.
 */
export async function readVarsDirs(dir: string, problems: Problems): Promise<RawVarsFile[]> {
  const result: RawVarsFile[] = []
  for (const kind of ['group', 'host'] as const) {
    const base = join(dir, `${kind}_vars`)
    const entries = await listDir(base, problems)
    if (!entries) continue
    const byName = new Map<string, { files: string[]; inDir: string[] }>()
    const slot = (name: string) => byName.get(name) ?? byName.set(name, { files: [], inDir: [] }).get(name)!
    for (const entry of entries) {
      const path = join(base, entry)
      if ((await stat(path)).isDirectory()) {
        const inner = (await listDir(path, problems)) ?? []
        for (const file of inner) {
          const innerPath = join(path, file)
          if ((await stat(innerPath)).isDirectory()) problems.add({ file: innerPath }, 'nested directories in vars directories are not read; move its files up one level')
          else if (VARS_EXTENSION.test(file)) slot(entry).inDir.push(innerPath)
          else problems.add({ file: innerPath }, 'files in a vars directory must end in .yaml, .yml or .json')
        }
      } else {
        slot(entry.replace(VARS_EXTENSION, '')).files.push(path)
      }
    }
    for (const [name, { files, inDir }] of byName) {
      for (const file of [...files, ...inDir]) {
        result.push({ kind, name, file, vars: await readVarsFile(file, problems, kind === 'host' ? name : undefined) })
      }
    }
  }
  return result
}

/** Sorted visible entries of a directory, undefined when it does not exist. */
async function listDir(path: string, problems: Problems): Promise<string[] | undefined> {
  let entries: string[]
  try {
    entries = await readdir(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return undefined
    problems.add({ file: path }, code === 'ENOTDIR' ? 'expected a directory' : `cannot read: ${(error as Error).message}`)
    return undefined
  }
  // Code-point order, so the merge order never depends on the locale.
  return entries.filter((e) => !e.startsWith('.') && !e.endsWith('.md')).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

async function readVarsFile(file: string, problems: Problems, host: string | undefined): Promise<RawVarsFile['vars']> {
  const text = await readFile(file, 'utf8')
  // The YAML parser loads only when the cache cannot answer.
  return (await parsedOnce('vars', file, text, problems, async () => (await import('./vars-file.ts')).parseVarsFile(file, text, problems, host))) ?? []
}
