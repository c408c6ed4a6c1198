/**
 * Times what `havn run` does before it opens any connection: load the inventory, register tsx and
 * import the playbook (with `havn` itself), using the built CLI's own loaders in a fresh process.
 *
 * usage: node load-probe.js REPO PLAYBOOK INVENTORY
 * Prints {"hosts":n,"inventoryMs":…,"playbookMs":…,"sinceProcessStartMs":…}.
 */
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

interface Loaders {
  loadInventory(path: string): Promise<{ hosts: ReadonlyMap<string, unknown> }>
  loadPlaybook(path: string): Promise<unknown>
}

async function main(): Promise<void> {
  const [repo, playbook, inventory] = process.argv.slice(2)
  if (!repo || !playbook || !inventory) throw new Error('usage: load-probe REPO PLAYBOOK INVENTORY')
  const t0 = performance.now()
  const { loadInventory } = (await import(pathToFileURL(join(repo, 'dist/src/inventory/index.js')).href)) as Pick<Loaders, 'loadInventory'>
  const inv = await loadInventory(inventory)
  const t1 = performance.now()
  const { loadPlaybook } = (await import(pathToFileURL(join(repo, 'dist/src/cli/load-playbook.js')).href)) as Pick<Loaders, 'loadPlaybook'>
  await loadPlaybook(playbook)
  const t2 = performance.now()
  process.stdout.write(`${JSON.stringify({ hosts: inv.hosts.size, inventoryMs: t1 - t0, playbookMs: t2 - t1, sinceProcessStartMs: t2 })}\n`)
}

await main()
