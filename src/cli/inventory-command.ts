import { describeHost, describeInventory, loadInventory, selectHosts } from '../inventory/index.ts'
import { EXIT } from './exit-codes.ts'
import { reportInputError } from './report-error.ts'

/** `havn inventory`: prints the group tree, or one host's merged vars with their sources. */
export async function inventoryCommand(opts: { inventory: string; host?: string; limit?: string }): Promise<number> {
  try {
    const inv = await loadInventory(opts.inventory)
    if (opts.host) {
      process.stdout.write(describeHost(inv, opts.host))
    } else {
      const only = opts.limit ? new Set(selectHosts(inv, opts.limit, '--limit')) : undefined
      process.stdout.write(describeInventory(inv, only))
    }
    return EXIT.ok
  } catch (err) {
    if (reportInputError(err)) return EXIT.input
    throw err
  }
}
