/**
 * Inventories: load and validate inventories as Ansible reads them (YAML, INI, dynamic scripts,
 * directories, vars folders, Vault) or typed index.ts ones, select hosts by Ansible patterns, and
 * describe groups and hosts with where each value came from.
 */
export type { ConnectionKey, GroupSpec, HostSpec, Inventory, InventoryGroup, InventoryHost, InventorySpec, VarSource } from './types.ts'
export { defineInventory } from './define.ts'
export { loadInventory } from './load.ts'
export { selectHosts } from './select.ts'
export { describeHost, describeInventory } from './describe.ts'
