import { open, readdir, stat } from 'node:fs/promises'
import { extname, join } from 'node:path'
import type { Problems } from './problems.ts'

/** How one inventory file is read. */
export type SourceFormat = 'yaml' | 'ini' | 'module' | 'script'

/** One file to read as an inventory, and how. */
export interface InventorySource {
  readonly file: string
  readonly format: SourceFormat
}

const MODULE = /\.(ts|mts|js|mjs)$/
const YAML = /\.(ya?ml|json)$/
// What Ansible skips in an inventory directory: hidden files, vars folders, backups and notes, and .ini/.cfg.
const SKIPPED = /^\.|^(host_vars|group_vars|vars_plugins|node_modules)$|(\.pyc|\.pyo|\.swp|\.bak|~|\.rpm|\.md|\.txt|\.rst|\.orig|\.ini|\.cfg|\.retry)$/
// Files that sit beside havn inventories but are never inventories themselves.
const NOT_INVENTORY = new Set(['package.json', 'package-lock.json', 'tsconfig.json'])

/**
 * The inventory files behind one `-i` path, in the order Ansible reads them. A file is read whatever
 * its name: `.ts`/`.js` as a havn module, a `#!` script as a dynamic inventory (see runInventoryScript),
 * `.yaml`/`.yml`/`.json` as YAML, an extensionless file as YAML when it starts like YAML and as INI
 * otherwise, anything else as INI. A directory is read as Ansible reads one: every entry in name
 * order, subdirectories too, but not hidden files, vars folders, backups, notes, `.ini` or `.cfg`
 * files (a skipped `.ini` is a warning, since it was probably meant), and of modules only `index.*`
 * (the others are its helpers).
 */
export async function findSources(path: string, problems: Problems): Promise<InventorySource[]> {
  const info = await stat(path).catch(() => undefined)
  if (!info) {
    problems.add({ file: path }, 'inventory not found')
    return []
  }
  if (!info.isDirectory()) return [{ file: path, format: await formatOf(path) }]
  const found: InventorySource[] = []
  const walk = async (dir: string): Promise<void> => {
    const entries = (await readdir(dir)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    for (const entry of entries) {
      const full = join(dir, entry)
      if (SKIPPED.test(entry) || NOT_INVENTORY.has(entry)) {
        if (entry.endsWith('.ini') && !entry.startsWith('.')) {
          problems.warn({ file: full }, 'not read: Ansible skips .ini files inside an inventory directory; give it with -i if it is an inventory')
        }
        continue
      }
      if ((await stat(full)).isDirectory()) await walk(full)
      else if (!MODULE.test(entry) || /^index\.[a-z]+$/.test(entry)) found.push({ file: full, format: await formatOf(full) })
    }
  }
  await walk(path)
  if (found.length === 0) problems.add({ file: path }, 'no inventory in this directory: expected hosts.yaml, an INI file such as hosts, or index.ts')
  return found
}

async function formatOf(file: string): Promise<SourceFormat> {
  if (MODULE.test(file)) return 'module'
  const head = await firstBytes(file, 4096)
  // The executable bit alone is unreliable (checkouts from other systems); a script says how to run it.
  if (head.startsWith('#!')) return 'script'
  if (YAML.test(file)) return 'yaml'
  if (extname(file) === '') return looksLikeYaml(head) ? 'yaml' : 'ini'
  return 'ini'
}

/** YAML when the first line that says something is `---`, `%YAML`, or a mapping key on its own. */
function looksLikeYaml(head: string): boolean {
  for (const raw of head.split(/\r?\n/)) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    return line === '---' || line.startsWith('%YAML') || /^[^\s[\]=]+:(\s.*)?$/.test(line) && !/^[^\s:]+:[0-9]+(\s|$)/.test(line) || line.startsWith('{')
  }
  return false
}

async function firstBytes(file: string, n: number): Promise<string> {
  const handle = await open(file, 'r')
  try {
    const buffer = Buffer.alloc(n)
    const { bytesRead } = await handle.read(buffer, 0, n, 0)
    return buffer.subarray(0, bytesRead).toString('utf8')
  } finally {
    await handle.close()
  }
}
