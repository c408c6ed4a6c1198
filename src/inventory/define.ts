import type { InventorySpec } from './types.ts'

export type { GroupSpec, HostSpec, InventorySpec } from './types.ts'

/**
 * Typed identity helper for `index.ts` inventories: `export default defineInventory({ hosts, groups, vars })`.
 * It only gives the object its type; loadInventory validates it like a hosts.yaml.
 */
export function defineInventory<const T extends InventorySpec>(spec: T): T {
  return spec
}
