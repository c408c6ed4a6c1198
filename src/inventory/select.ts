import { InputError } from '../engine/errors.ts'
import { didYouMean } from './problems.ts'
import type { Inventory } from './types.ts'

/**
 * Host names matched by an Ansible-style pattern, in inventory order. `undefined`, `all` and `*` mean
 * every host. Terms are separated by `,` (or `:`, unless the term is a host name or IPv6 address that
 * contains colons); each is a host, a group, a glob (`web*`, `db-?`, `[ab]*`) or a `~regex` matched at
 * the start of host and group names, optionally with a subscript (`web[0]`, `web[-1]`, `web[0:2]`
 * inclusive, `web[1:]`) that picks by position in the group's host order. Plain terms are united, then `&term`s intersect and `!term`s
 * exclude; with no plain term the base is all hosts. A term that names nothing, or a pattern that
 * selects nothing, throws an InputError; `where` names the pattern's origin (e.g. `--limit`).
 */
export function selectHosts(inv: Inventory, pattern: string | undefined, where?: string): string[] {
  const label = `${where ?? 'pattern'} '${pattern ?? 'all'}'`
  const terms = pattern === undefined ? ['all'] : splitTerms(inv, pattern)
  if (terms.length === 0) throw InputError.at({}, `${label} is empty`)

  const unknown: string[] = []
  const union: Set<string>[] = []
  const intersect: Set<string>[] = []
  const exclude: Set<string>[] = []
  for (const term of terms) {
    const operator = term[0] === '!' || term[0] === '&' ? term[0] : ''
    const body = term.slice(operator.length)
    const hosts = body === '' ? undefined : matchTerm(inv, body, label)
    if (hosts === undefined) {
      unknown.push(body === '' ? `'${term}' has nothing after '${operator}'` : `'${body}' is not a host or group of ${inv.source}${didYouMean(body, [...inv.hosts.keys(), ...inv.groups.keys()])}`)
      continue
    }
    ;(operator === '!' ? exclude : operator === '&' ? intersect : union).push(hosts)
  }
  if (unknown.length > 0) throw new InputError(unknown.map((message) => ({ message: `${label}: ${message}`, at: {} })))

  const selected = [...inv.hosts.keys()].filter((h) =>
    (union.length === 0 || union.some((s) => s.has(h))) && intersect.every((s) => s.has(h)) && !exclude.some((s) => s.has(h)))
  if (selected.length === 0) throw InputError.at({}, `${label} matches no host`)
  return selected
}

const IPV6ISH = /^[0-9a-fA-F.]*:[0-9a-fA-F.]*:[0-9a-fA-F:.]*$/

function splitTerms(inv: Inventory, pattern: string): string[] {
  return pattern.split(',').map((t) => t.trim()).filter((t) => t !== '').flatMap((piece) => {
    const body = piece.replace(/^[!&]/, '')
    // Keep colons that are part of a name or address (or a regex) rather than separators.
    if (!body.includes(':') || body.startsWith('~') || inv.hosts.has(body) || IPV6ISH.test(body)) return [piece]
    // A colon inside brackets belongs to a subscript or range (`web[0:2]`), as in Ansible.
    return piece.split(/:(?![^[]*\])/).map((t) => t.trim()).filter((t) => t !== '')
  })
}

// Ansible's subscripts: `web[0]`, `web[-1]`, `web[0:2]` and `web[1-2]` (both inclusive), `web[1:]`.
const SUBSCRIPT = /^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$/

/** Hosts a single term names, or undefined when it names no host or group at all. */
function matchTerm(inv: Inventory, body: string, label: string): Set<string> | undefined {
  const sub = body.startsWith('~') || inv.hosts.has(body) || inv.groups.has(body) ? null : SUBSCRIPT.exec(body)
  if (sub) {
    const base = matchTerm(inv, sub[1] ?? '', label)
    if (base === undefined) return undefined
    const hosts = inv.groups.has(sub[1] ?? '') ? numbered(inv, sub[1] ?? '') : [...base]
    if (sub[2] !== undefined) {
      const index = Number(sub[2])
      const host = hosts[index < 0 ? hosts.length + index : index]
      if (host === undefined) throw InputError.at({}, `${label}: '${body}' is out of range: '${sub[1]}' has ${hosts.length} host${hosts.length === 1 ? '' : 's'} (numbered from 0)`)
      return new Set([host])
    }
    const start = Number(sub[3])
    const end = sub[5] === '' ? hosts.length - 1 : Number(sub[5])
    return new Set(hosts.slice(start, end + 1))
  }
  if (body === 'all' || body === '*') return new Set(inv.hosts.keys())
  const group = inv.groups.get(body)
  if (group) return new Set(group.hosts)
  if (inv.hosts.has(body)) return new Set([body])
  let matcher: RegExp
  if (body.startsWith('~')) {
    try {
      matcher = new RegExp(`^(?:${body.slice(1)})`)
    } catch (error) {
      throw InputError.at({}, `${label}: invalid regular expression '${body}': ${(error as Error).message}`)
    }
  } else if (/[*?[]/.test(body)) {
    matcher = globToRegExp(body)
  } else {
    return undefined
  }
  let named = false
  const result = new Set<string>()
  for (const g of inv.groups.values()) {
    if (!matcher.test(g.name)) continue
    named = true
    for (const h of g.hosts) result.add(h)
  }
  for (const h of inv.hosts.keys()) {
    if (!matcher.test(h)) continue
    named = true
    result.add(h)
  }
  return named ? result : undefined
}

/**
 * A group's hosts in the order Ansible numbers them for subscripts: its own hosts in the order they
 * were added to it, then its children's, level by level. (Below the first level Ansible's order
 * follows Python set iteration; this is its deterministic form.)
 */
function numbered(inv: Inventory, name: string): string[] {
  const hosts = new Set<string>()
  const seen = new Set([name])
  for (let level = [name]; level.length > 0;) {
    const next: string[] = []
    for (const g of level) {
      const group = inv.groups.get(g)
      for (const h of group?.directHosts ?? []) hosts.add(h)
      for (const c of group?.children ?? []) {
        if (seen.has(c)) continue
        seen.add(c)
        next.push(c)
      }
    }
    level = next
  }
  return [...hosts]
}

/** fnmatch-style glob (`*`, `?`, `[abc]`, `[!abc]`), matched against the whole name, case-sensitively. */
export function globToRegExp(glob: string): RegExp {
  let out = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] ?? ''
    if (c === '*') out += '.*'
    else if (c === '?') out += '.'
    else if (c === '[') {
      const close = glob.indexOf(']', i + 2)
      if (close === -1) {
        out += '\\['
        continue
      }
      let set = glob.slice(i + 1, close)
      if (set.startsWith('!')) set = '^' + set.slice(1)
      out += `[${set.replace(/\\/g, '\\\\')}]`
      i = close
    } else out += c.replace(/[.+^${}()|\\\]]/g, '\\$&')
  }
  return new RegExp(`^${out}$`)
}
