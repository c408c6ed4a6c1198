import type { Located } from './problems.ts'

/** One top-level var as written in one mapping, before any merging. */
export interface RawVar {
  readonly key: string
  readonly value: unknown
  readonly at: Located
}

/** The vars of one mapping (one "level"), in source order. */
export type RawVars = readonly RawVar[]

/** One appearance of a host under a group's `hosts`, with the vars written there. */
export interface RawHostEntry {
  readonly name: string
  readonly at: Located
  readonly vars: RawVars
}

/** A reference from a group to a child group, where it was written. */
export interface RawChildRef {
  readonly name: string
  readonly at: Located
}

/** One appearance of a group body; a group may appear several times and its appearances merge. */
export interface RawGroupEntry {
  readonly name: string
  readonly at: Located
  readonly hosts: readonly RawHostEntry[]
  readonly children: readonly RawChildRef[]
  readonly vars: RawVars
}

/** An inventory source (hosts.yaml or index.ts) reduced to what both formats share. */
export interface RawInventory {
  readonly file: string
  readonly groups: readonly RawGroupEntry[]
  /** Host names in order of first appearance: this is "inventory order". */
  readonly hostOrder: readonly string[]
  /** Inventory-wide vars below `all` (index.ts `vars`); empty for YAML. */
  readonly rootVars: RawVars
}

/** One group_vars/host_vars file (or file inside a group_vars/<group>/ directory). */
export interface RawVarsFile {
  readonly kind: 'group' | 'host'
  readonly name: string
  readonly file: string
  readonly vars: RawVars
}
