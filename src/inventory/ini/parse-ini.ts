import { expandHostRange } from '../names.ts'
import type { Located, Problems } from '../problems.ts'
import type { RawChildRef, RawGroupEntry, RawHostEntry, RawInventory, RawVar } from '../raw.ts'
import { parseHostAddress } from './host-address.ts'
import { parsePythonLiteral } from './python-literal.ts'
import { shlexSplit } from './shlex.ts'

const SECTION = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/
const GROUP_NAME = /^([^:\]\s]+)\s*(?:#.*)?$/
/** Groups every inventory has, so `[all:vars]` and `[ungrouped:vars]` need no declaration. */
const BUILT_IN = new Set(['all', 'ungrouped'])

interface Section {
  readonly name: string
  readonly at: Located
  readonly hosts: RawHostEntry[]
  readonly children: RawChildRef[]
  readonly vars: RawVar[]
}

/**
 * Parses an Ansible INI inventory as ansible-core's ini plugin does: lines before any section are
 * hosts of `ungrouped`; `[g]` holds hosts (`name[:port]` or a range, then `key=value` words split as
 * shlex does, values read as Python literals), `[g:children]` group names, `[g:vars]` `key=value`
 * lines (the value after the first `=`, stripped, read as a Python literal); `#` and `;` start
 * comments. A child or `[g:vars]` naming a group declared nowhere in the file is a problem, as is
 * every malformed line; unlike Ansible, every problem is recorded, not only the first.
 */
export function parseIniInventory(file: string, text: string, problems: Problems): RawInventory {
  const sections: Section[] = []
  const declared = new Set(BUILT_IN)
  const hostOrder = new Set<string>()
  const pendingVars: { name: string; at: Located }[] = []
  const pendingChildren: { parent: string; ref: RawChildRef }[] = []
  let current = open('ungrouped', { file, line: 1 })
  let state = 'hosts'

  function open(name: string, at: Located): Section {
    const section: Section = { name, at, hosts: [], children: [], vars: [] }
    sections.push(section)
    return section
  }

  const lines = text.split(/\r\n|\n|\r/)
  for (let index = 0; index < lines.length; index++) {
    const raw = lines[index] ?? ''
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    const at: Located = { file, line: index + 1, column: raw.indexOf(line) + 1 }
    const section = SECTION.exec(line)
    if (section) {
      const name = section[1] ?? ''
      state = section[2] ?? 'hosts'
      if (state !== 'hosts' && state !== 'children' && state !== 'vars') {
        problems.add(at, `section [${name}:${state}] has an unknown type '${state}'; use [${name}], [${name}:children] or [${name}:vars]`)
        state = 'skip'
        continue
      }
      if (state === 'vars') pendingVars.push({ name, at })
      else declared.add(name)
      current = open(name, at)
      continue
    }
    if (line.startsWith('[') && line.endsWith(']')) {
      problems.add(at, `invalid section '${line}': a section is [group], [group:children] or [group:vars], with no spaces`)
      state = 'skip'
      continue
    }
    if (state === 'hosts') hostLine(line, at, current, hostOrder, problems)
    else if (state === 'vars') varsLine(line, at, current, problems)
    else if (state === 'children') {
      const child = GROUP_NAME.exec(line)?.[1]
      if (child === undefined) problems.add(at, `expected a group name under [${current.name}:children], got '${line}'`)
      else pendingChildren.push({ parent: current.name, ref: pushed(current.children, { name: child, at }) })
    }
  }

  for (const { name, at } of pendingVars) {
    if (!declared.has(name)) problems.add(at, `section [${name}:vars] is for group '${name}', which this file never declares; add a [${name}] or [${name}:children] section`)
  }
  for (const { parent, ref } of pendingChildren) {
    if (!declared.has(ref.name)) problems.add(ref.at, `[${parent}:children] names group '${ref.name}', which this file never declares; add a [${ref.name}] section (it may be empty)`)
  }
  // The implicit section before the first header is kept only when it holds hosts.
  const groups: RawGroupEntry[] = sections.filter((s, i) => i > 0 || s.hosts.length > 0)
  return { file, groups, hostOrder: [...hostOrder], rootVars: [] }
}

function hostLine(line: string, at: Located, section: Section, order: Set<string>, problems: Problems): void {
  let words: string[]
  try {
    words = shlexSplit(line)
  } catch (error) {
    problems.add(at, `cannot split host line '${line}': ${(error as Error).message}`)
    return
  }
  const pattern = words[0]
  if (pattern === undefined) return
  const { host, port } = parseHostAddress(pattern)
  if (pattern.endsWith(':') && port === undefined) {
    problems.add(at, `host '${pattern}' ends in ':', which is reserved for a port (host:port)`)
    return
  }
  let names: string[]
  try {
    names = expandHostRange(host)
  } catch (error) {
    problems.add(at, (error as Error).message)
    return
  }
  if (names.some((n) => n.trim() === '---')) {
    problems.add(at, `host '${pattern}' is '---', the start of a YAML document; name this file .yaml if it is YAML`)
    return
  }
  const vars: RawVar[] = port === undefined ? [] : [{ key: 'ansible_port', value: port, at }]
  for (const word of words.slice(1)) {
    const eq = word.indexOf('=')
    if (eq < 0) {
      problems.add(at, `expected key=value after the host name, got '${word}'`)
      continue
    }
    vars.push({ key: word.slice(0, eq), value: parsePythonLiteral(word.slice(eq + 1)), at })
  }
  for (const name of names) {
    section.hosts.push({ name, at, vars })
    order.add(name)
  }
}

function varsLine(line: string, at: Located, section: Section, problems: Problems): void {
  const eq = line.indexOf('=')
  if (eq < 0) {
    problems.add(at, `expected key=value under [${section.name}:vars], got '${line}'`)
    return
  }
  section.vars.push({ key: line.slice(0, eq).trim(), value: parsePythonLiteral(line.slice(eq + 1).trim()), at })
}

function pushed<T>(list: T[], item: T): T {
  list.push(item)
  return item
}
