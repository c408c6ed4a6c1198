import { ansibleGraph, toAnsibleList } from '../inventory/ansible-list.ts'
import { describeHost, describeInventory, loadInventory, selectHosts } from '../inventory/index.ts'
import { maskRevealed } from '../inventory/revealed.ts'
import { EXIT } from './exit-codes.ts'
import { reportInputError, reportInventoryWarnings } from './report-error.ts'
import { readVaultSecrets } from './vault-secrets.ts'

/** Options of `havn inventory`. */
export interface InventoryCommandOptions {
  readonly inventory: readonly string[]
  readonly host?: string
  readonly limit?: string
  readonly list?: boolean
  readonly graph?: boolean
  readonly vaultPasswordFile?: readonly string[]
  readonly vaultId?: readonly string[]
  readonly askVaultPass?: boolean
}

/**
 * `havn inventory`: prints the group tree, one host's merged vars with their sources, or the
 * inventory as `ansible-inventory --list` / `--graph` print it, so the two can be compared.
 */
export async function inventoryCommand(opts: InventoryCommandOptions): Promise<number> {
  try {
    const inv = await loadInventory(opts.inventory, { vault: await readVaultSecrets(opts) })
    reportInventoryWarnings(inv.warnings)
    const secret = new Set(inv.secrets)
    const mask = (_host: string, _key: string, value: unknown): unknown => maskRevealed(value, secret)
    if (opts.list) process.stdout.write(`${JSON.stringify(toAnsibleList(inv, mask), null, 4)}\n`)
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

