import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { parsedOnce } from './parse-cache.ts'
import { didYouMean, type Problems } from './problems.ts'
import type { RawVars, RawVarsFile } from './raw.ts'
import { isVaulted } from './vault/decrypt.ts'
import type { VaultKeyring } from './vault/keyring.ts'

/** The candidates Ansible tries for an entity, in order; the first that exists is the only one read. */
const CANDIDATE_EXTENSIONS = ['', '.yml', '.yaml', '.json']
const VARS_EXTENSION = /\.(ya?ml|json)$/

/** The groups and hosts an inventory defines, which its vars files may name. */
export interface VarsNames {
  readonly groups: ReadonlySet<string>
  readonly hosts: ReadonlySet<string>
}

/**
 * Reads `group_vars/` and `host_vars/` under `dir` as Ansible's host_group_vars plugin does. For each
 * group or host, the first of `<name>`, `<name>.yml`, `<name>.yaml`, `<name>.json` that exists is read
 * and the others are not (a warning names them); when it is a directory, every file in it and its
 * subdirectories with no extension or a YAML/JSON one is read, in path order. Files for names the
 * inventory does not define are not read; each is a warning with the closest name.
 */
export async function readVarsDirs(dir: string, names: VarsNames, problems: Problems, keyring: VaultKeyring): Promise<RawVarsFile[]> {
  const result: RawVarsFile[] = []
  for (const kind of ['group', 'host'] as const) {
    const base = join(dir, `${kind}_vars`)
    const entries = await listDir(base, problems)
    if (!entries) continue
    const defined = kind === 'group' ? names.groups : names.hosts
    const stems = new Map<string, string[]>()
    for (const entry of entries) {
      if (/\.[^.]+$/.test(entry) && !VARS_EXTENSION.test(entry)) continue
      const stem = entry.replace(VARS_EXTENSION, '')
      stems.set(stem, [...(stems.get(stem) ?? []), entry])
    }
    for (const [name, present] of stems) {
      if (!defined.has(name)) {
        for (const entry of present) problems.warn({ file: join(base, entry) }, strayMessage(kind, name, names))
        continue
      }
      const chosen = CANDIDATE_EXTENSIONS.map((ext) => name + ext).find((c) => present.includes(c))
      if (chosen === undefined) continue
      for (const other of present) {
        if (other !== chosen) problems.warn({ file: join(base, other) }, `not read: Ansible reads only the first of ${name}, ${name}.yml, ${name}.yaml and ${name}.json, and ${chosen} exists`)
      }
      const path = join(base, chosen)
      const files = (await stat(path)).isDirectory() ? await filesUnder(path, problems) : [path]
      for (const file of files) result.push({ kind, name, file, vars: await readVarsFile(file, problems, kind === 'host' ? name : undefined, keyring) })
    }
  }
  return result
}

function strayMessage(kind: 'group' | 'host', name: string, names: VarsNames): string {
  if (kind === 'group') {
    const hint = names.hosts.has(name) ? `; '${name}' is a host, so its vars belong in host_vars/` : didYouMean(name, names.groups)
    return `not read: group_vars for '${name}', which is not a group in this inventory${hint}`
  }
  const hint = names.groups.has(name) ? `; '${name}' is a group, so its vars belong in group_vars/` : didYouMean(name, names.hosts)
  return `not read: host_vars for '${name}', which is not a host in this inventory${hint}`
}

/** Files of a vars directory, recursively, as Ansible picks them: no extension or a YAML/JSON one. */
async function filesUnder(dir: string, problems: Problems): Promise<string[]> {
  const out: string[] = []
  for (const entry of (await listDir(dir, problems)) ?? []) {
    if (entry.endsWith('~')) continue
    const path = join(dir, entry)
    const hasExtension = /\.[^.]+$/.test(entry)
    if ((await stat(path)).isDirectory()) {
      if (!hasExtension) out.push(...(await filesUnder(path, problems)))
    } else if (!hasExtension || VARS_EXTENSION.test(entry)) {
      out.push(path)
    }
  }
  return out
}

/** Sorted visible entries of a directory, undefined when it does not exist. */
async function listDir(path: string, problems: Problems): Promise<string[] | undefined> {
  let entries: string[]
  try {
    entries = await readdir(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return undefined
    if (code === 'ENOTDIR') problems.warn({ file: path }, 'not read: expected a directory')
    else problems.add({ file: path }, `cannot read: ${(error as Error).message}`)
    return undefined
  }
  // Code-point order, so the merge order never depends on the locale.
  return entries.filter((e) => !e.startsWith('.')).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

async function readVarsFile(file: string, problems: Problems, host: string | undefined, keyring: VaultKeyring): Promise<RawVars> {
  const text = await readFile(file, 'utf8')
  const parse = async (t: string): Promise<RawVars> => (await import('./vars-file.ts')).parseVarsFile(file, t, problems, host)
  if (isVaulted(text)) {
    // Never cached: the cache is plain text on disk.
    const plain = keyring.openFile(file, text, problems)
    if (plain === undefined) return []
    const vars = keyring.openValues(await parse(plain), problems, host)
    keyring.markRevealed(vars)
    return vars
  }
  // The YAML parser loads only when the cache cannot answer. Inline !vault values are still
  // encrypted in what it returns, which the cache never keeps, so decrypting happens after.
  return keyring.openValues((await parsedOnce('vars', file, text, problems, () => parse(text))) ?? [], problems, host)
}
