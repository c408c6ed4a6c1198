import { isMap, isScalar, isSeq } from 'yaml'
import { expandHostRange, groupNameProblem, hostNameProblem } from './names.ts'
import { didYouMean, type Located, type Problems } from './problems.ts'
import type { RawChildRef, RawGroupEntry, RawHostEntry, RawInventory, RawVar, RawVars } from './raw.ts'
import { deref, isMergeKey, keyText, kindOf, mappingVars, nodeAt, parseYamlFile, type YamlSource } from './yaml-file.ts'

const GROUP_KEYS = ['hosts', 'children', 'vars']
const MAX_NESTING = 64

/**
 * Reads an Ansible YAML inventory (`all:` with `hosts`/`children`/`vars`, or groups at the top level)
 * into the raw model. Every shape problem is recorded with its file:line:column; returns undefined only
 * when the YAML itself is unusable.
 */
export function parseHostsYaml(file: string, text: string, problems: Problems): RawInventory | undefined {
  const source = parseYamlFile(file, text, problems)
  if (!source) return undefined
  const walker = new Walker(source, problems)
  const root = deref(source, source.doc.contents)
  if (isMap(root)) {
    for (const pair of root.items) {
      const name = keyText(pair.key)
      const where = nodeAt(source, pair.key)
      if (name === undefined || isMergeKey(pair.key)) {
        problems.add(where, 'top-level keys must be group names')
      } else if (GROUP_KEYS.includes(name)) {
        problems.add(where, `top-level keys are group names; '${name}:' belongs under 'all:'`)
      } else {
        walker.group(name, where, pair.value, 0)
      }
    }
  } else if (!isEmpty(root)) {
    problems.add(nodeAt(source, root), `an inventory must be a mapping of groups (usually a single 'all:'), not ${kindOf(root)}`)
  }
  return { file, groups: walker.groups, hostOrder: [...walker.hostOrder], rootVars: [] }
}

function isEmpty(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null)
}

class Walker {
  readonly groups: RawGroupEntry[] = []
  readonly hostOrder = new Set<string>()
  private readonly source: YamlSource
  private readonly problems: Problems

  constructor(source: YamlSource, problems: Problems) {
    this.source = source
    this.problems = problems
  }

  group(name: string, at: Located, bodyNode: unknown, nesting: number): void {
    const nameProblem = groupNameProblem(name)
    if (nameProblem) this.problems.add(at, nameProblem)
    if (nesting > MAX_NESTING) {
      this.problems.add(at, `groups are nested more than ${MAX_NESTING} levels deep under 'children'`)
      return
    }
    const hosts: RawHostEntry[] = []
    const children: RawChildRef[] = []
    const vars: RawVar[] = []
    // Pushed before walking children so entries come out in document order.
    this.groups.push({ name, at, hosts, children, vars })
    const body = deref(this.source, bodyNode)
    if (isEmpty(body)) return
    if (!isMap(body)) {
      this.problems.add(nodeAt(this.source, body), `group '${name}' must be a mapping with hosts, children or vars, not ${kindOf(body)}`)
      return
    }
    for (const pair of body.items) {
      const key = keyText(pair.key)
      const keyAt = nodeAt(this.source, pair.key)
      const value = deref(this.source, pair.value)
      if (key === 'hosts') this.hosts(name, value, hosts)
      else if (key === 'children') this.children(name, value, children, nesting)
      else if (key === 'vars') {
        if (isMap(value)) vars.push(...mappingVars(this.source, value, this.problems))
        else if (!isEmpty(value)) this.problems.add(nodeAt(this.source, value), `vars of group '${name}' must be a mapping, not ${kindOf(value)}`)
      } else if (isMergeKey(pair.key)) {
        this.problems.add(keyAt, `'<<' merge keys are supported only inside vars and host entries, not in group '${name}'`)
      } else {
        const label = key === undefined ? 'a non-string key' : `unknown key '${key}'`
        this.problems.add(keyAt, `${label} in group '${name}'; expected hosts, children or vars${key === undefined ? '' : didYouMean(key, GROUP_KEYS)}`)
      }
    }
  }

  private hosts(group: string, node: unknown, into: RawHostEntry[]): void {
    if (isEmpty(node)) return
    if (!isMap(node)) {
      const hint = isSeq(node) ? ` (write each host as a key, e.g. 'web1:')` : ''
      this.problems.add(nodeAt(this.source, node), `hosts of group '${group}' must be a mapping with host names as keys, not ${kindOf(node)}${hint}`)
      return
    }
    for (const pair of node.items) {
      const written = keyText(pair.key)
      const at = nodeAt(this.source, pair.key)
      if (written === undefined || isMergeKey(pair.key)) {
        this.problems.add(at, `hosts of group '${group}' must be keyed by host name`)
        continue
      }
      let names: string[]
      try {
        names = expandHostRange(written)
      } catch (error) {
        this.problems.add(at, (error as Error).message, written)
        continue
      }
      const value = deref(this.source, pair.value)
      let vars: RawVars = []
      if (isMap(value)) {
        vars = mappingVars(this.source, value, this.problems, written)
      } else if (!isEmpty(value)) {
        const hint = isScalar(value) && typeof value.value === 'string' ? ` (to set its address write '${written}: {address: ${value.value}}')` : ''
        this.problems.add(nodeAt(this.source, value), `host '${written}' must hold a mapping of vars or nothing, not ${kindOf(value)}${hint}`, written)
      }
      for (const name of names) {
        const nameProblem = hostNameProblem(name)
        if (nameProblem) {
          this.problems.add(at, nameProblem)
          continue
        }
        this.hostOrder.add(name)
        into.push({ name, at, vars })
      }
    }
  }

  private children(group: string, node: unknown, into: RawChildRef[], nesting: number): void {
    if (isEmpty(node)) return
    if (!isMap(node)) {
      this.problems.add(nodeAt(this.source, node), `children of group '${group}' must be a mapping with group names as keys, not ${kindOf(node)}`)
      return
    }
    for (const pair of node.items) {
      const name = keyText(pair.key)
      const at = nodeAt(this.source, pair.key)
      if (name === undefined || isMergeKey(pair.key)) {
        this.problems.add(at, `children of group '${group}' must be keyed by group name`)
        continue
      }
      into.push({ name, at })
      this.group(name, at, pair.value, nesting + 1)
    }
  }
}
