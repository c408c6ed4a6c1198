/** The authoring vocabulary: roles, plays and playbooks, as plain typed data. */
import type { Fact } from './facts.ts'
import type { Platform } from './platforms.ts'

/** What a role sees of the host it runs on. Facts and published values arrive with the step engine. */
export interface HostInfo {
  readonly name: string
  readonly address: string
  readonly groups: readonly string[]
  /** The host's merged inventory vars (connection keys removed). */
  readonly vars: Readonly<Record<string, unknown>>
}

/** A fact, as roles see it: a pure read of the host. */
export interface FactReader {
  <A extends readonly unknown[], T>(fact: Fact<A, T>, ...args: A): Promise<T>
}

/**
 * The host a role runs on: its inventory data, its facts (cached; in a check run they include
 * predicted changes), and values shared between hosts across plays.
 */
export interface Host extends HostInfo {
  readonly fact: FactReader
  /** Shares a value with roles on other hosts in later plays (plays are barriers). */
  publish(key: string, value: unknown): void
  /** Values hosts published under `key` in earlier plays, by host name. */
  published<T = unknown>(key: string): Readonly<Record<string, T>>
}

/** A JSON Schema object; validated with ajv in `src/schema`. */
export type JsonSchema = Readonly<Record<string, unknown>>

/** A reusable unit of desired state with typed, schema-checked vars. */
export interface Role<V extends object> {
  readonly name: string
  /** Checked per host, after merging defaults, inventory and play vars, before any host is contacted. */
  readonly schema?: JsonSchema
  readonly defaults?: Partial<V>
  /**
   * The releases the role is written for. A host on any other is failed before the first play
   * that would run the role on it starts there, so nothing on it is half-configured.
   */
  readonly platforms?: readonly Platform[]
  run(vars: V, host: Host): Promise<void>
}

/** A role bound to the inline vars a play gives it. */
export interface RoleUse {
  readonly role: Role<object>
  readonly vars: Readonly<Record<string, unknown>>
  /** Selects this role with `--tags` and `--skip-tags`, besides its play's tags. */
  readonly tags: readonly string[]
}

/** Calling a defined role with (partial) vars yields the use a play lists. */
export type RoleFactory<V extends object> = ((vars?: Partial<V>, opts?: { readonly tags?: readonly string[] }) => RoleUse) & { readonly role: Role<V> }

/** Defines a role; the result is called in a play with the vars that override inventory and defaults. */
export function defineRole<V extends object>(role: Role<V>): RoleFactory<V> {
  const factory = (vars: Partial<V> = {}, opts: { readonly tags?: readonly string[] } = {}): RoleUse => ({
    role: role as unknown as Role<object>,
    vars: { ...vars },
    tags: [role.name, ...(opts.tags ?? [])],
  })
  return Object.assign(factory, { role })
}

/** One play: a set of roles applied to the hosts its pattern selects. */
export interface Play {
  readonly name?: string
  /** An inventory pattern: host and group names, globs, `!exclusions`, `&intersections`. */
  readonly hosts: string
  readonly roles?: readonly RoleUse[]
  /** Inline steps run after the roles, for small plays that need no role of their own. */
  readonly run?: (host: Host) => Promise<void>
  /** Run every step through sudo unless the step says otherwise. */
  readonly become?: boolean
  /**
   * Roll out in batches: a host count, a percentage of the play's hosts (`'25%'`), or a list such
   * as `[1, '25%', '100%']` whose last entry repeats. Each batch finishes before the next starts.
   */
  readonly serial?: BatchSize | readonly BatchSize[]
  /** Start no new batch (and no later play) once more than this percentage of the play's hosts failed. */
  readonly maxFailPercent?: number
  /** Selects the play with `--tags` and `--skip-tags`; its roles inherit them. */
  readonly tags?: readonly string[]
}

/** A batch size: a number of hosts, or a percentage of the play's hosts such as `'25%'`. */
export type BatchSize = number | `${number}%`

/** A whole playbook: plays run in order, each a barrier for all its hosts. */
export interface Playbook {
  readonly name: string
  readonly plays: readonly Play[]
}

const PLAYBOOK = Symbol.for('havn.playbook')

/** Marks a playbook definition so the CLI can tell it from any other default export. */
export function definePlaybook(playbook: Playbook): Playbook {
  return Object.assign({ [PLAYBOOK]: true }, playbook)
}

/** True for values made by `definePlaybook`, across module copies. */
export function isPlaybook(value: unknown): value is Playbook {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[PLAYBOOK] === true
}
