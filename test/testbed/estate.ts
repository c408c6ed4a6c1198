import { randomBytes } from 'node:crypto'
import { cp, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseDocument, isMap, isScalar, visit } from 'yaml'
import type { Testbed } from './types.ts'

/** The example estate that the generated inventory mirrors. */
export const OSLO_INVENTORY = fileURLToPath(new URL('../../inventories/oslo/', import.meta.url))

/** Where backups go on the bed: a local repository, since the off-site storage box does not exist here. */
export const BED_RESTIC_REPOSITORY = '/srv/restic-repo'

/**
 * Copies inventories/oslo to `dir` and points its hosts at bed hosts, in the order the estate lists
 * them (oslo-hub, oslo-pg1, …). Groups and vars stay as they are, except that restic writes to a
 * local repository. Returns the estate host names mapped to bed host names.
 */
export async function writeEstateInventory(bed: Testbed, bedHosts: readonly string[], dir: string): Promise<Map<string, string>> {
  await cp(OSLO_INVENTORY, dir, { recursive: true })
  const file = join(dir, 'hosts.yaml')
  const doc = parseDocument(await readFile(file, 'utf8'))
  const mapping = new Map<string, string>()
  visit(doc, {
    Pair(_, pair) {
      if (!isScalar(pair.key) || pair.key.value !== 'hosts' || !isMap(pair.value)) return
      for (const entry of pair.value.items) {
        const name = String(isScalar(entry.key) ? entry.key.value : entry.key)
        if (!isMap(entry.value) || !entry.value.has('address')) continue
        const bedName = mapping.get(name) ?? bedHosts[mapping.size]
        if (!bedName) throw new Error(`estate: the estate has more hosts than the ${bedHosts.length} bed hosts given`)
        const host = bed.hosts.find((h) => h.name === bedName)
        if (!host) throw new Error(`estate: no bed host ${bedName}`)
        mapping.set(name, bedName)
        entry.value.set('address', host.address)
      }
    },
  })
  await writeFile(file, doc.toString())
  for (const name of ['oslo-pg1', 'oslo-db1']) {
    const vars = join(dir, 'host_vars', `${name}.yaml`)
    const text = (await readFile(vars, 'utf8')).replace(/^repository: .*$/m, `repository: ${BED_RESTIC_REPOSITORY}`)
    await writeFile(vars, text)
  }
  return mapping
}

/** Writes a random restic repository password to `file` for HAVN_RESTIC_PASSWORD_FILE. */
export async function writeResticPassword(file: string): Promise<void> {
  await writeFile(file, randomBytes(18).toString('base64url'), { mode: 0o600 })
}
