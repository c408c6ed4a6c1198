import { InputError, type InputLocation } from './errors.ts'
import type { HostInfo, Play, RoleUse } from './define.ts'
import { validateSchema } from '../schema/validate.ts'
import { isSecret, secret } from '../connection/quote.ts'

/** A host as the engine needs it: the inventory's view plus where each var came from. */
export interface EngineHost extends HostInfo {
  readonly port?: number
  readonly user?: string
  readonly varSources?: Readonly<Record<string, { readonly file?: string }>>
}

/** The vars one role gets on one host, already validated. */
export interface BoundRole {
  readonly use: RoleUse
  readonly vars: Readonly<Record<string, unknown>>
}

/**
 * Merges a role's vars for one host, lowest first: role defaults < inventory (only the keys the role
 * declares) < the play's inline values; then checks them against the role's schema. Problems are
 * returned with the file that set the offending var, so the caller can report them all at once.
 */
export function bindRole(use: RoleUse, host: EngineHost, where: { playbookFile: string; play: Play }): { bound: BoundRole; problems: { message: string; at: InputLocation }[] } {
  const { role } = use
  const declared = new Set([...Object.keys(schemaProperties(role.schema)), ...Object.keys(role.defaults ?? {})])
  const vars: Record<string, unknown> = { ...(role.defaults ?? {}) }
  const fromInventory = new Set<string>()
  for (const [key, value] of Object.entries(host.vars)) {
    if (declared.has(key)) {
      vars[key] = value
      fromInventory.add(key)
    }
  }
  Object.assign(vars, use.vars)
  wrapDeclaredSecrets(role.schema, vars)
  const problems = role.schema
    ? validateSchema(role.schema, revealForSchema(vars)).map((p) => {
        const key = p.pointer.split('/')[1] ?? ''
        const file = key in use.vars ? where.playbookFile : fromInventory.has(key) ? host.varSources?.[key]?.file : undefined
        return { message: p.message, at: { file, host: host.name, role: role.name, pointer: p.pointer } }
      })
    : []
  return { bound: { use, vars }, problems }
}

/**
 * Vars whose schema property says `secret: true` may arrive as plain strings (from YAML or group
 * vars); they are wrapped in `secret()` here, so a role never has to remember to.
 */
function wrapDeclaredSecrets(schema: unknown, vars: Record<string, unknown>): void {
  for (const [key, prop] of Object.entries(schemaProperties(schema))) {
    const value = vars[key]
    if (typeof value === 'string' && (prop as { secret?: unknown } | undefined)?.secret === true) vars[key] = secret(value)
  }
}

/** A secret is validated as the string it stands for; errors show types, never values. */
function revealForSchema(value: unknown): unknown {
  if (isSecret(value)) return value.reveal()
  if (Array.isArray(value)) return value.map(revealForSchema)
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revealForSchema(v)]))
  return value
}

function schemaProperties(schema: unknown): Record<string, unknown> {
  const props = (schema as { properties?: unknown } | undefined)?.properties
  return typeof props === 'object' && props !== null ? (props as Record<string, unknown>) : {}
}

/** Binds every role of a play on every selected host; throws one InputError listing all problems. */
export function bindPlay(play: Play, hosts: readonly EngineHost[], playbookFile: string): Map<string, BoundRole[]> {
  const out = new Map<string, BoundRole[]>()
  const problems: { message: string; at: InputLocation }[] = []
  for (const host of hosts) {
    const bound: BoundRole[] = []
    for (const use of play.roles ?? []) {
      const r = bindRole(use, host, { playbookFile, play })
      bound.push(r.bound)
      problems.push(...r.problems)
    }
    out.set(host.name, bound)
  }
  if (problems.length > 0) throw new InputError(problems)
  return out
}
