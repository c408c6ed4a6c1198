import { readFile, stat } from 'node:fs/promises'
import { extname, join, resolve } from 'node:path'
import { InputError } from '../engine/errors.ts'
import { importModule } from '../loader/import.ts'
import { buildInventory } from './build.ts'
import { parsedOnce } from './parse-cache.ts'
import { specToRaw } from './parse-spec.ts'
import { Problems } from './problems.ts'
import type { RawInventory, RawVarsFile } from './raw.ts'
import type { Inventory } from './types.ts'
import { readVarsDirs } from './vars-dirs.ts'

const DIR_ENTRIES = ['hosts.yaml', 'hosts.yml', 'index.ts']
const YAML_FILE = /\.(ya?ml|json)$/
const MODULE_FILE = /\.(ts|mts|js|mjs)$/

/**
 * Loads and validates an inventory from a directory (hosts.yaml, hosts.yml or index.ts, plus optional
 * group_vars/ and host_vars/) or from a single .yaml/.ts file (no vars directories then). Throws one
 * InputError listing every problem found, each with its file and line (or JSON pointer for index.ts).
 */
export async function loadInventory(path: string): Promise<Inventory> {
  const problems = new Problems()
  const info = await stat(path).catch(() => undefined)
  if (!info) throw InputError.at({ file: path }, 'inventory not found')

  let file: string
  let files: RawVarsFile[] = []
  if (info.isDirectory()) {
    const present = []
    for (const name of DIR_ENTRIES) if (await exists(join(path, name))) present.push(name)
    if (present.length === 0) {
      const ini = (await exists(join(path, 'hosts'))) || (await exists(join(path, 'hosts.ini')))
      throw InputError.at({ file: path }, ini
        ? 'INI inventories are not supported; convert with `ansible-inventory -i hosts --list -y > hosts.yaml`'
        : `no ${DIR_ENTRIES.join(', ')} in this directory`)
    }
    if (present.length > 1) throw InputError.at({ file: path }, `holds ${present.join(' and ')}; keep only one`)
    file = join(path, present[0] ?? '')
    files = await readVarsDirs(path, problems)
  } else if (YAML_FILE.test(path) || MODULE_FILE.test(path)) {
    file = path
  } else {
    throw InputError.at({ file: path }, `unsupported inventory file type '${extname(path) || '(none)'}'; use .yaml or .ts`)
  }

  const raw = MODULE_FILE.test(file) ? await loadModule(file, problems) : await parseYaml(file, problems)
  const inventory = raw && buildInventory(path, raw, files, problems)
  problems.throwIfAny()
  if (!inventory) throw InputError.at({ file }, 'inventory could not be loaded')
  return inventory
}

async function parseYaml(file: string, problems: Problems): Promise<RawInventory | undefined> {
  const text = await readFile(file, 'utf8')
  // The YAML parser loads only when the cache cannot answer.
  return parsedOnce('hosts', file, text, problems, async () => (await import('./parse-hosts-yaml.ts')).parseHostsYaml(file, text, problems))
}

async function loadModule(file: string, problems: Problems): Promise<RawInventory | undefined> {
  let mod: { default?: unknown }
  try {
    ;({ mod } = await importModule(resolve(file)))
  } catch (error) {
    throw InputError.at({ file }, `cannot load: ${(error as Error).message}`)
  }
  if (mod.default === undefined) {
    problems.add({ file }, 'has no default export; write `export default defineInventory({...})`')
    return undefined
  }
  return specToRaw(file, mod.default, problems)
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined
}
