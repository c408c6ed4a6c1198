import type { InputLocation } from '../engine/errors.ts'

/**
 * Where a var's winning value was defined: the file (and line, when it came from YAML), and whether it
 * belongs to a group, to the host itself, or to the inventory as a whole (`vars` of an index.ts spec).
 */
export type VarSource =
  | { readonly kind: 'group'; readonly group: string; readonly file: string; readonly line?: number }
  | { readonly kind: 'host'; readonly file: string; readonly line?: number }
  | { readonly kind: 'inventory'; readonly file: string; readonly line?: number }

/** The connection settings havn reads from an inventory, under their canonical names. */
export type ConnectionKey = 'address' | 'port' | 'user' | 'identityFile' | 'become' | 'becomeUser' | 'connection'

/** One target host, with its vars already merged by precedence (all < parent < child < host). */
export interface InventoryHost {
  readonly name: string
  /** `address` or `ansible_host`; defaults to the name so ssh_config can resolve it. */
  readonly address: string
  /** `port` / `ansible_port`; absent means "let ssh_config or 22 decide". */
  readonly port?: number
  /** `user` / `ansible_user`; absent means "let ssh_config decide". */
  readonly user?: string
  /** `ansible_ssh_private_key_file` / `ansible_private_key_file`: the only key offered for this host. */
  readonly identityFile?: string
  /** `ansible_become`: overrides the play's `become` for this host. */
  readonly become?: boolean
  /** `ansible_become_user`: whom sudo runs commands as; default root. */
  readonly becomeUser?: string
  /** `ansible_connection`: `local` runs the host's commands on the controller, without SSH. */
  readonly transport: 'ssh' | 'local'
  /** The connection keys as written, each spelling merged by level like a var (for Ansible's --list view). */
  readonly connectionVars: Readonly<Record<string, string | number | boolean>>
  /** Vars whose value was a `{{ reference }}`, as written (their entry in `vars` is resolved). */
  readonly templates: Readonly<Record<string, string>>
  /** Every group the host belongs to, ancestors and `all` included, in precedence order (`all` first). */
  readonly groups: readonly string[]
  /** Merged vars; connection keys (both spellings) and `ansible_group_priority` are removed. */
  readonly vars: Readonly<Record<string, unknown>>
  /** The definition that won, for each top-level key of `vars`. */
  readonly varSources: Readonly<Record<string, VarSource>>
  /** The definition that won for each connection key that was set anywhere. */
  readonly connectionSources: Readonly<Partial<Record<ConnectionKey, VarSource>>>
}

/** One group; `hosts` includes hosts of descendant groups, `directHosts` only those listed in it. */
export interface InventoryGroup {
  readonly name: string
  readonly children: readonly string[]
  readonly parents: readonly string[]
  /** Every host in the group or its descendants, in inventory order. */
  readonly hosts: readonly string[]
  /** Hosts listed under this group itself, in inventory order. */
  readonly directHosts: readonly string[]
}

/** A loaded, validated inventory. Maps iterate in inventory order (`all` is the first group). */
export interface Inventory {
  /** The first path the inventory was loaded from, as given. */
  readonly source: string
  /** Every `-i` path, as given. */
  readonly sources: readonly string[]
  /** Every file that was read: inventory sources, then vars files. */
  readonly files: readonly string[]
  /** Things that are probably mistakes but that Ansible accepts (unread vars files, skipped files). */
  readonly warnings: readonly { readonly message: string; readonly at: InputLocation }[]
  /** Every value Ansible Vault revealed: secrets, to be masked in all output. */
  readonly secrets: readonly string[]
  readonly hosts: ReadonlyMap<string, InventoryHost>
  readonly groups: ReadonlyMap<string, InventoryGroup>
}

/** A host in an index.ts inventory: connection keys at the top, everything else under `vars`. */
export interface HostSpec {
  readonly address?: string
  readonly port?: number
  readonly user?: string
  /** Groups to add this host to, in addition to any group that lists it. */
  readonly groups?: readonly string[]
  readonly vars?: Readonly<Record<string, unknown>>
}

/** A group in an index.ts inventory. Every host and child it names must be declared too. */
export interface GroupSpec {
  readonly hosts?: readonly string[]
  readonly children?: readonly string[]
  readonly vars?: Readonly<Record<string, unknown>>
}

/** The default export of an index.ts inventory (see `defineInventory`). */
export interface InventorySpec {
  /** Hosts in inventory order; `{}` declares a host with no settings. */
  readonly hosts?: Readonly<Record<string, HostSpec>>
  readonly groups?: Readonly<Record<string, GroupSpec>>
  /** Inventory-wide vars, below even `groups.all.vars`. */
  readonly vars?: Readonly<Record<string, unknown>>
}
