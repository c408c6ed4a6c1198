import { InputError, type InputLocation } from './errors.ts'
import type { HostInfo, Play, RoleUse } from './define.ts'
import { validateSchema } from '../schema/validate.ts'
import { isSecret, secret } from '../connection/quote.ts'
import { holdsTemplate } from '../inventory/references.ts'

/** A host as the engine needs it: the inventory's view plus where each var came from. */
export interface EngineHost extends HostInfo {
  readonly port?: number
  readonly user?: string
  /** The only private key offered to this host (`ansible_ssh_private_key_file`). */
  readonly identityFile?: string
  /** Overrides the play's `become` for this host (`ansible_become`). */
  readonly become?: boolean
  /** Whom become runs commands as on this host; default root (`ansible_become_user`). */
  readonly becomeUser?: string
  /** `local` (`ansible_connection: local`): the host is the controller itself. */
  readonly transport?: 'ssh' | 'local'
  readonly varSources?: Readonly<Record<string, { readonly file?: string; readonly line?: number }>>
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
  const problems: { message: string; at: InputLocation }[] = []
  for (const key of fromInventory) {
    const template = holdsTemplate(vars[key])
    if (template === undefined) continue
    const source = host.varSources?.[key]
    problems.push({
      message: `'${key}' is an Ansible template (${JSON.stringify(template)}), which havn does not evaluate; only a plain reference such as "{{ other_var }}" to a defined var is resolved, so set the value itself`,
      at: { file: source?.file, ...(source?.line === undefined ? {} : { line: source.line }), host: host.name, role: role.name },
    })
  }
  Object.assign(vars, use.vars)
  for (const [key, prop] of Object.entries(schemaProperties(role.schema))) if (key in vars) vars[key] = wrapDeclaredSecrets(prop, vars[key])
  if (role.schema) problems.push(...validateSchema(role.schema, revealForSchema(vars)).map((p) => {
        const key = p.pointer.split('/')[1] ?? ''
        const file = key in use.vars ? where.playbookFile : fromInventory.has(key) ? host.varSources?.[key]?.file : undefined
        return { message: p.message, at: { file, host: host.name, role: role.name, pointer: p.pointer } }
      }))
  return { bound: { use, vars }, problems }
}

/**
 * Vars whose schema says `secret: true` may arrive as plain strings (from YAML or group vars); they
 * are wrapped in `secret()` here, so a role never has to remember to. The schema is followed
 * through `properties`, `additionalProperties` and `items`, so a secret inside an object or a list
 * is wrapped too. Objects and lists are copied where something inside them is wrapped: the
 * inventory's own values, shared between hosts, stay as they are.
 */
function wrapDeclaredSecrets(schema: unknown, value: unknown): unknown {
  if (typeof schema !== 'object' || schema === null) return value
  const s = schema as { secret?: unknown; properties?: unknown; additionalProperties?: unknown; items?: unknown }
  if (typeof value === 'string') return s.secret === true ? secret(value) : value
  if (Array.isArray(value)) {
    const out = value.map((v) => wrapDeclaredSecrets(s.items, v))
    return out.some((v, i) => v !== value[i]) ? out : value
  }
  if (typeof value !== 'object' || value === null || isSecret(value)) return value
  const props = typeof s.properties === 'object' && s.properties !== null ? (s.properties as Record<string, unknown>) : {}
  let out: Record<string, unknown> | undefined
  for (const [k, v] of Object.entries(value)) {
    const wrapped = wrapDeclaredSecrets(Object.hasOwn(props, k) ? props[k] : s.additionalProperties, v)
    if (wrapped !== v) (out ??= { ...value })[k] = wrapped
  }
  return out ?? value
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
