import { readFile, stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { InputError } from '../engine/errors.ts'
import { importModule } from '../loader/import.ts'
import { buildInventory } from './build.ts'
import { parseIniInventory } from './ini/parse-ini.ts'
import { parsedOnce } from './parse-cache.ts'
import { specToRaw } from './parse-spec.ts'
import { Problems } from './problems.ts'
import type { RawInventory, RawVarsFile } from './raw.ts'
import { findSources, type InventorySource } from './sources.ts'
import type { Inventory } from './types.ts'
import { readVarsDirs } from './vars-dirs.ts'

/**
 * Loads and validates an inventory from one or more `-i` paths, read as Ansible reads them: files of
 * any format (see findSources), directories of them, and the `group_vars/` and `host_vars/` beside
 * each path (inside a directory, next to a file). Sources merge in the order given. Throws one
 * InputError listing every problem of every file, each with its file and line (or JSON pointer for
 * index.ts); warnings (vars files nobody reads, skipped files) come back on the inventory.
 */
export async function loadInventory(paths: string | readonly string[]): Promise<Inventory> {
  const given = typeof paths === 'string' ? [paths] : paths
  const problems = new Problems()
  const sources: InventorySource[] = []
  for (const path of given) sources.push(...(await findSources(path, problems)))
  const raws: RawInventory[] = []
  for (const source of sources) {
    const raw = await readSource(source, problems)
    if (raw) raws.push(raw)
  }
  const raw = mergeRaw(given[0] ?? '', raws)
  const names = {
    groups: new Set(['all', 'ungrouped', ...raw.groups.flatMap((g) => [g.name, ...g.children.map((c) => c.name)])]),
    hosts: new Set(raw.hostOrder),
  }
  const files: RawVarsFile[] = []
  const varsDirs = new Set<string>()
  for (const path of given) {
    const dir = (await stat(path).catch(() => undefined))?.isDirectory() ? path : dirname(path)
    if (varsDirs.has(resolve(dir))) continue
    varsDirs.add(resolve(dir))
    files.push(...(await readVarsDirs(dir, names, problems)))
  }
  const inventory = buildInventory(given[0] ?? '', raw, files, problems)
  problems.throwIfAny()
  if (!inventory) throw InputError.at({ file: given.join(', ') }, 'inventory could not be loaded')
  return {
    ...inventory,
    source: given[0] ?? '',
    sources: [...given],
    files: [...sources.map((s) => s.file), ...files.map((f) => f.file)],
    warnings: problems.warnings,
  }
}

async function readSource(source: InventorySource, problems: Problems): Promise<RawInventory | undefined> {
  const { file, format } = source
  if (format === 'module') return loadModule(file, problems)
  if (format === 'script') {
    problems.add({ file }, 'this is a script (it starts with #!); dynamic inventories are not read yet, so save its --list output as a .json file')
    return undefined
  }
  const text = await readFile(file, 'utf8')
  if (format === 'ini') return parseIniInventory(file, text, problems)
  // The YAML parser loads only when the cache cannot answer.
  return parsedOnce('hosts', file, text, problems, async () => (await import('./parse-hosts-yaml.ts')).parseHostsYaml(file, text, problems))
}

/** Several sources as one: groups appear once per source and merge later, hosts keep first appearance. */
function mergeRaw(file: string, raws: readonly RawInventory[]): RawInventory {
  if (raws.length === 1 && raws[0]) return raws[0]
  return {
    file,
    groups: raws.flatMap((r) => r.groups),
    hostOrder: [...new Set(raws.flatMap((r) => r.hostOrder))],
    rootVars: raws.flatMap((r) => r.rootVars),
  }
}

async function loadModule(file: string, problems: Problems): Promise<RawInventory | undefined> {
  let mod: { default?: unknown }
  try {
    ;({ mod } = await importModule(resolve(file)))
  } catch (error) {
    problems.add({ file }, `cannot load: ${(error as Error).message}`)
    return undefined
  }
  if (mod.default === undefined) {
    problems.add({ file }, 'has no default export; write `export default defineInventory({...})`')
    return undefined
  }
  return specToRaw(file, mod.default, problems)
}
