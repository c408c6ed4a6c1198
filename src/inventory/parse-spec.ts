import { groupNameProblem, hostNameProblem } from './names.ts'
import { didYouMean, type Located, type Problems } from './problems.ts'
import type { RawChildRef, RawGroupEntry, RawHostEntry, RawInventory, RawVar } from './raw.ts'

const SPEC_KEYS = ['hosts', 'groups', 'vars']
const HOST_KEYS = ['address', 'port', 'user', 'groups', 'vars']
const GROUP_KEYS = ['hosts', 'children', 'vars']

/**
 * Validates the default export of an index.ts inventory (see InventorySpec) and reduces it to the raw
 * model. Problems point into the spec with a JSON pointer. Unlike YAML, where naming a host declares
 * it, every host and group a spec refers to must be declared, so typos cannot create phantom entries.
 */
export function specToRaw(file: string, spec: unknown, problems: Problems): RawInventory | undefined {
  const here = (...path: string[]): Located => ({ file, pointer: path.map((p) => '/' + p.replaceAll('~', '~0').replaceAll('/', '~1')).join('') })
  if (!isRecord(spec)) {
    problems.add(here(), `the default export must be an inventory object (export default defineInventory({...})), not ${kind(spec)}`)
    return undefined
  }
  unknownKeys(spec, SPEC_KEYS, [], here, problems, 'the inventory')

  const hostSpecs = record(spec.hosts, ['hosts'], here, problems)
  const groupSpecs = record(spec.groups, ['groups'], here, problems)
  const declaredGroups = Object.keys(groupSpecs)
  const hostNames = Object.keys(hostSpecs)
  const memberships = new Map<string, RawHostEntry[]>()
  const join = (group: string, host: RawHostEntry): void => {
    memberships.set(group, [...(memberships.get(group) ?? []), host])
  }

  const allHosts: RawHostEntry[] = []
  for (const [name, body] of Object.entries(hostSpecs)) {
    const at = here('hosts', name)
    const nameProblem = hostNameProblem(name)
    if (nameProblem) problems.add(at, nameProblem)
    const host = body ?? {}
    if (!isRecord(host)) {
      problems.add(at, `host '${name}' must be an object such as { address, port, user, groups, vars }, not ${kind(body)}`, name)
      continue
    }
    unknownKeys(host, HOST_KEYS, ['hosts', name], here, problems, `host '${name}'`, name)
    const vars: RawVar[] = []
    for (const key of ['address', 'port', 'user']) {
      if (host[key] !== undefined) vars.push({ key, value: host[key], at: here('hosts', name, key) })
    }
    vars.push(...varsOf(host.vars, ['hosts', name, 'vars'], here, problems, name))
    const entry = { name, at, vars }
    allHosts.push(entry)
    for (const [i, group] of strings(host.groups, ['hosts', name, 'groups'], here, problems, name)) {
      if (declaredGroups.includes(group) || group === 'all') join(group, { name, at: here('hosts', name, 'groups', String(i)), vars: [] })
      else problems.add(here('hosts', name, 'groups', String(i)), `host '${name}' names group '${group}', which is not declared under groups${didYouMean(group, declaredGroups)}`, name)
    }
  }

  const entries: RawGroupEntry[] = [{ name: 'all', at: here(), hosts: allHosts, children: [], vars: [] }]
  for (const [name, body] of Object.entries(groupSpecs)) {
    const at = here('groups', name)
    const nameProblem = groupNameProblem(name)
    if (nameProblem) problems.add(at, nameProblem)
    const group = body ?? {}
    if (!isRecord(group)) {
      problems.add(at, `group '${name}' must be an object such as { hosts, children, vars }, not ${kind(body)}`)
      continue
    }
    unknownKeys(group, GROUP_KEYS, ['groups', name], here, problems, `group '${name}'`)
    const hosts: RawHostEntry[] = []
    for (const [i, host] of strings(group.hosts, ['groups', name, 'hosts'], here, problems)) {
      const where = here('groups', name, 'hosts', String(i))
      if (hostNames.includes(host)) hosts.push({ name: host, at: where, vars: [] })
      else problems.add(where, `group '${name}' lists host '${host}', which is not declared under hosts${didYouMean(host, hostNames)}`)
    }
    const children: RawChildRef[] = []
    for (const [i, child] of strings(group.children, ['groups', name, 'children'], here, problems)) {
      const where = here('groups', name, 'children', String(i))
      if (declaredGroups.includes(child) || hostNames.includes(child) || child === 'all') children.push({ name: child, at: where })
      else problems.add(where, `group '${name}' lists child '${child}', which is not declared under groups${didYouMean(child, declaredGroups)}`)
    }
    entries.push({ name, at, hosts: [...hosts, ...(memberships.get(name) ?? [])], children, vars: varsOf(group.vars, ['groups', name, 'vars'], here, problems) })
  }
  const toAll = memberships.get('all')
  if (toAll) entries.push({ name: 'all', at: here(), hosts: toAll, children: [], vars: [] })

  return { file, groups: entries, hostOrder: hostNames, rootVars: varsOf(spec.vars, ['vars'], here, problems) }
}

type Here = (...path: string[]) => Located

function isRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value) as unknown
  return proto === Object.prototype || proto === null
}

function kind(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'string' ? `the string '${value}'` : `a ${typeof value}`
}

function unknownKeys(obj: Record<string, unknown>, allowed: readonly string[], path: string[], here: Here, problems: Problems, what: string, host?: string): void {
  for (const key of Object.keys(obj)) {
    if (allowed.includes(key)) continue
    const hint = key.startsWith('ansible_') && what.startsWith('host') ? `; put it under vars (or use ${allowed.slice(0, 3).join('/')})` : didYouMean(key, allowed)
    problems.add(here(...path, key), `unknown key '${key}' in ${what}; expected ${allowed.join(', ')}${hint}`, host)
  }
}

function record(value: unknown, path: string[], here: Here, problems: Problems): Record<string, unknown> {
  if (value === undefined) return {}
  if (isRecord(value)) return value
  problems.add(here(...path), `${path.join('.')} must be an object keyed by name, not ${kind(value)}`)
  return {}
}

function strings(value: unknown, path: string[], here: Here, problems: Problems, host?: string): [number, string][] {
  if (value === undefined) return []
  if (!Array.isArray(value)) {
    problems.add(here(...path), `${path.at(-1) ?? 'value'} must be an array of names, not ${kind(value)}`, host)
    return []
  }
  const result: [number, string][] = []
  value.forEach((item: unknown, i) => {
    if (typeof item === 'string') result.push([i, item])
    else problems.add(here(...path, String(i)), `expected a name (string), not ${kind(item)}`, host)
  })
  return result
}

function varsOf(value: unknown, path: string[], here: Here, problems: Problems, host?: string): RawVar[] {
  if (value === undefined) return []
  if (!isRecord(value)) {
    problems.add(here(...path), `vars must be an object, not ${kind(value)}`, host)
    return []
  }
  return Object.entries(value).map(([key, v]) => ({ key, value: v, at: here(...path, key) }))
}
