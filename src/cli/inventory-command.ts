import { ansibleGraph, toAnsibleList } from '../inventory/ansible-list.ts'
import { describeHost, describeInventory, loadInventory, selectHosts } from '../inventory/index.ts'
import { EXIT } from './exit-codes.ts'
import { reportInputError, reportInventoryWarnings } from './report-error.ts'

/** Options of `havn inventory`. */
export interface InventoryCommandOptions {
  readonly inventory: readonly string[]
  readonly host?: string
  readonly limit?: string
  readonly list?: boolean
  readonly graph?: boolean
}

/**
 * `havn inventory`: prints the group tree, one host's merged vars with their sources, or the
 * inventory as `ansible-inventory --list` / `--graph` print it, so the two can be compared.
 */
export async function inventoryCommand(opts: InventoryCommandOptions): Promise<number> {
  try {
    const inv = await loadInventory(opts.inventory)
    reportInventoryWarnings(inv.warnings)
    if (opts.list) process.stdout.write(`${JSON.stringify(toAnsibleList(inv), null, 4)}\n`)
    else if (opts.graph) process.stdout.write(ansibleGraph(inv))
    else if (opts.host) process.stdout.write(describeHost(inv, opts.host))
    else {
      const only = opts.limit ? new Set(selectHosts(inv, opts.limit, '--limit')) : undefined
      process.stdout.write(describeInventory(inv, only))
    }
    return EXIT.ok
  } catch (err) {
    if (reportInputError(err)) return EXIT.input
    throw err
  }
}
