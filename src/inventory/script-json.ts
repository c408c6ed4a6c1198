import type { Located, Problems } from './problems.ts'
import type { RawGroupEntry, RawHostEntry, RawInventory, RawVar } from './raw.ts'

type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Whether parsed JSON has the shape a dynamic inventory prints for `--list` (rather than a YAML-style
 * inventory written as JSON): a `_meta` key, or a group given as a list of hosts or with `hosts` as a list.
 */
export function isScriptJson(data: unknown): boolean {
  if (!isObject(data)) return false
  if ('_meta' in data) return true
  return Object.values(data).some((g) => Array.isArray(g) || (isObject(g) && Array.isArray(g.hosts)))
}

/**
 * Reads `--list` JSON as Ansible's script plugin does: each key but `_meta` is a group, given as
 * `{hosts: [...], vars: {...}, children: [...]}` or just a list of hosts; children need no entry of
 * their own; `_meta.hostvars` holds each host's vars (without `_meta`, see withHostVars). Problems
 * point into the JSON with pointers; what is readable is returned.
 */
export function scriptJsonToRaw(file: string, data: unknown, problems: Problems): RawInventory {
  const groups: RawGroupEntry[] = []
  const hostOrder: string[] = []
  const seen = new Set<string>()
  if (!isObject(data)) {
    problems.add({ file, pointer: '' }, 'a dynamic inventory must print a JSON object of groups')
    return { file, groups, hostOrder, rootVars: [] }
  }
  const meta = isObject(data._meta) && isObject(data._meta.hostvars) ? data._meta.hostvars : undefined
  for (const [name, raw] of Object.entries(data)) {
    if (name === '_meta') continue
    const at: Located = { file, pointer: `/${escape(name)}` }
    const body: Json = Array.isArray(raw) ? { hosts: raw } : isObject(raw) ? raw : {}
    if (!Array.isArray(raw) && !isObject(raw)) problems.add(at, `group '${name}' must be a list of hosts or an object with hosts, vars and children`)
    const hosts: RawHostEntry[] = []
    for (const [i, host] of listOf(body.hosts, `${at.pointer}/hosts`, file, problems).entries()) {
      if (typeof host !== 'string' || host === '') {
        problems.add({ file, pointer: `${at.pointer}/hosts/${i}` }, `host names must be non-empty strings`)
        continue
      }
      const first = !seen.has(host)
      seen.add(host)
      if (first) hostOrder.push(host)
      const vars = first && meta ? hostVarsOf(file, host, meta[host], `/_meta/hostvars/${escape(host)}`, problems) : []
      hosts.push({ name: host, at: { file, pointer: `${at.pointer}/hosts/${i}` }, vars })
    }
    const children = listOf(body.children, `${at.pointer}/children`, file, problems)
      .filter((c): c is string => typeof c === 'string')
      .map((c, i) => ({ name: c, at: { file, pointer: `${at.pointer}/children/${i}` } }))
    const vars = isObject(body.vars) ? varsOf(file, body.vars, `${at.pointer}/vars`) : []
    if (body.vars !== undefined && !isObject(body.vars)) problems.add({ file, pointer: `${at.pointer}/vars` }, `vars of group '${name}' must be an object`)
    groups.push({ name, at, hosts, children, vars })
  }
  return { file, groups, hostOrder, rootVars: [] }
}

/** The inventory with each host's vars (from `SCRIPT --host NAME`) on its first entry. */
export function withHostVars(raw: RawInventory, hostVars: ReadonlyMap<string, unknown>, problems: Problems): RawInventory {
  const seen = new Set<string>()
  return {
    ...raw,
    groups: raw.groups.map((g) => ({
      ...g,
      hosts: g.hosts.map((h) => {
        if (seen.has(h.name)) return h
        seen.add(h.name)
        return { ...h, vars: hostVarsOf(raw.file, h.name, hostVars.get(h.name), `--host ${h.name}`, problems) }
      }),
    })),
  }
}

function hostVarsOf(file: string, host: string, value: unknown, pointer: string, problems: Problems): RawVar[] {
  if (value === undefined || value === null) return []
  if (!isObject(value)) {
    problems.add({ file, pointer }, `the vars of host '${host}' must be an object`, host)
    return []
  }
  return varsOf(file, value, pointer)
}

function varsOf(file: string, vars: Json, pointer: string): RawVar[] {
  return Object.entries(vars).map(([key, value]) => ({ key, value, at: { file, pointer: `${pointer.startsWith('/') ? pointer : ''}/${escape(key)}` } }))
}

function listOf(value: unknown, pointer: string, file: string, problems: Problems): unknown[] {
  if (value === undefined || value === null) return []
  if (Array.isArray(value)) return value
  problems.add({ file, pointer }, 'must be a list')
  return []
}

// JSON pointer escaping (RFC 6901).
function escape(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1')
}
