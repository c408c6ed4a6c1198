import type { Inventory } from './types.ts'

/** One group in `ansible-inventory --list` JSON: absent keys were empty. */
export interface AnsibleListGroup {
  hosts?: string[]
  children?: string[]
}

/** The JSON `ansible-inventory --list` prints: every non-empty group, plus `_meta.hostvars`. */
export type AnsibleList = Record<string, AnsibleListGroup> & { _meta: { hostvars: Record<string, Record<string, unknown>> } }

/**
 * The inventory in the shape `ansible-inventory --list` prints, so the two can be compared: groups
 * reached from `all` with their own hosts and children (empty keys and empty groups left out, `all`
 * without hosts), and each host's merged vars with its connection keys under the spellings they were
 * written with. `mask` replaces a value before it is shown (secrets); hosts without vars are omitted.
 */
export function toAnsibleList(inv: Inventory, mask: (host: string, key: string, value: unknown) => unknown = (_h, _k, v) => v): AnsibleList {
  const groups: Record<string, AnsibleListGroup> = {}
  const seen = new Set<string>()
  const visit = (name: string): void => {
    const group = inv.groups.get(name)
    if (!group) return
    const entry: AnsibleListGroup = {}
    if (name !== 'all' && group.directHosts.length > 0) entry.hosts = [...group.directHosts]
    if (group.children.length > 0) entry.children = [...group.children]
    for (const child of group.children) {
      if (seen.has(child)) continue
      seen.add(child)
      visit(child)
    }
    if (entry.hosts || entry.children) groups[name] = entry
  }
  visit('all')
  const hostvars: Record<string, Record<string, unknown>> = {}
  for (const host of inv.hosts.values()) {
    const vars: Record<string, unknown> = {}
    // Ansible lists templates as written; havn resolves plain references, so show what was written.
    for (const [key, value] of [...Object.entries(host.connectionVars), ...Object.entries(host.vars), ...Object.entries(host.templates)]) {
      Object.defineProperty(vars, key, { value: mask(host.name, key, value), enumerable: true, writable: true, configurable: true })
    }
    if (Object.keys(vars).length > 0) hostvars[host.name] = vars
  }
  return { ...groups, _meta: { hostvars } } as AnsibleList
}

/**
 * The group tree as `ansible-inventory --graph` draws it: each group, then its child groups, then
 * its own hosts; a group under two parents is drawn under both.
 */
export function ansibleGraph(inv: Inventory, top = 'all'): string {
  const lines: string[] = []
  const name = (text: string, depth: number): string => (depth === 0 ? text : `${'  |'.repeat(depth)}--${text}`)
  const draw = (group: string, depth: number): void => {
    const g = inv.groups.get(group)
    if (!g) return
    lines.push(name(`@${group}:`, depth))
    for (const child of g.children) draw(child, depth + 1)
    if (group !== 'all') for (const host of g.directHosts) lines.push(name(host, depth + 1))
  }
  draw(top, 0)
  return `${lines.join('\n')}\n`
}
