import { readFile, stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { InputError } from '../engine/errors.ts'
import { importModule } from '../loader/import.ts'
import { buildInventory } from './build.ts'
import { parseIniInventory } from './ini/parse-ini.ts'
import { parsedOnce } from './parse-cache.ts'
import { specToRaw } from './parse-spec.ts'
import { Problems } from './problems.ts'
import type { RawInventory, RawVars, RawVarsFile } from './raw.ts'
import { isVaulted, type VaultSecret } from './vault/decrypt.ts'
import { VaultKeyring } from './vault/keyring.ts'
import { isScriptJson, scriptJsonToRaw } from './script-json.ts'
import { runInventoryScript } from './script-run.ts'
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
export async function loadInventory(paths: string | readonly string[], options: LoadOptions = {}): Promise<Inventory> {
  const given = typeof paths === 'string' ? [paths] : paths
  const problems = new Problems()
  const keyring = new VaultKeyring(options.vault ?? [])
  const sources: InventorySource[] = []
  for (const path of given) sources.push(...(await findSources(path, problems)))
  const raws: RawInventory[] = []
  for (const source of sources) {
    const raw = await readSource(source, problems, keyring)
    if (raw) raws.push(openRaw(raw, keyring, problems))
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
    files.push(...(await readVarsDirs(dir, names, problems, keyring)))
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
    secrets: [...keyring.revealed],
  }
}

/** How to load an inventory beyond its paths. */
export interface LoadOptions {
  /** Passwords for Ansible Vault files and `!vault` values. */
  readonly vault?: readonly VaultSecret[]
}

async function readSource(source: InventorySource, problems: Problems, keyring: VaultKeyring): Promise<RawInventory | undefined> {
  const { file, format } = source
  if (format === 'module') return loadModule(file, problems)
  if (format === 'script') return runInventoryScript(file, problems)
  const text = await readFile(file, 'utf8')
  if (file.endsWith('.json')) {
    // A saved `--list` of a dynamic inventory reads as the script would; other JSON is a YAML inventory.
    const data = parseJson(text)
    if (isScriptJson(data)) return scriptJsonToRaw(file, data, problems)
  }
  const parse = async (t: string): Promise<RawInventory | undefined> =>
    format === 'ini' ? parseIniInventory(file, t, problems) : (await import('./parse-hosts-yaml.ts')).parseHostsYaml(file, t, problems)
  if (isVaulted(text)) {
    // A vaulted inventory is never cached (the cache is plain text) and everything in it is secret.
    const plain = keyring.openFile(file, text, problems)
    if (plain === undefined) return undefined
    const raw = await parse(plain)
    for (const vars of raw ? varsOf(raw) : []) keyring.markRevealed(vars)
    return raw
  }
  // The YAML parser loads only when the cache cannot answer.
  return format === 'ini' ? parse(text) : parsedOnce('hosts', file, text, problems, () => parse(text))
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

/** Every mapping of vars a raw inventory holds. */
function varsOf(raw: RawInventory): RawVars[] {
  return [raw.rootVars, ...raw.groups.flatMap((g) => [g.vars, ...g.hosts.map((h) => h.vars)])]
}

/** The raw inventory with its `!vault` values decrypted. */
function openRaw(raw: RawInventory, keyring: VaultKeyring, problems: Problems): RawInventory {
  // Fast path: a !vault value is an object, and most inventories hold only scalars.
  if (!varsOf(raw).some((vars) => vars.some((v) => typeof v.value === 'object' && v.value !== null))) return raw
  return {
    ...raw,
    rootVars: keyring.openValues(raw.rootVars, problems),
    groups: raw.groups.map((g) => ({
      ...g,
      vars: keyring.openValues(g.vars, problems),
      hosts: g.hosts.map((h) => ({ ...h, vars: keyring.openValues(h.vars, problems, h.name) })),
    })),
  }
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
