import { CONNECTION_SPELLINGS, isLocalTransport, toLayer, validateConnection, type ConnectionValue, type Layer } from './connection-keys.ts'
import { referenceOf, resolveReferences } from './references.ts'
import type { Located, Problems } from './problems.ts'
import type { RawChildRef, RawGroupEntry, RawHostEntry, RawInventory, RawVars, RawVarsFile } from './raw.ts'
import type { ConnectionKey, Inventory, InventoryGroup, InventoryHost, VarSource } from './types.ts'

/** Ansible's knob for ordering sibling groups; read from group vars, never passed on to hosts. */
const GROUP_PRIORITY = 'ansible_group_priority'

interface GroupNode {
  readonly name: string
  readonly at: Located | undefined
  readonly entries: RawGroupEntry[]
  readonly childRefs: RawChildRef[]
  readonly children: Set<string>
  readonly parents: Set<string>
  readonly direct: Set<string>
}

interface SourcedLayer {
  readonly layer: Layer
  readonly source: (at: Located) => VarSource
}

/**
 * Resolves the raw model plus group_vars/host_vars files into an Inventory: checks group/host
 * clashes and cycles, then merges vars per host as Ansible does (lowest first: index.ts vars < the
 * inventory's own group vars < group_vars files < the host's inline vars < host_vars files; groups
 * within each by depth, then `ansible_group_priority`, then name). Returns undefined when the
 * structure is unusable; every problem found is recorded either way.
 */
export function buildInventory(source: string, raw: RawInventory, files: readonly RawVarsFile[], problems: Problems): Omit<Inventory, 'sources' | 'files' | 'warnings' | 'secrets'> | undefined {
  const groups = new Map<string, GroupNode>()
  const ensure = (name: string, at?: Located): GroupNode => {
    let node = groups.get(name)
    if (!node) {
      node = { name, at, entries: [], childRefs: [], children: new Set(), parents: new Set(), direct: new Set() }
      groups.set(name, node)
    }
    return node
  }
  ensure('all')
  // Ansible creates `ungrouped` with `all`, so it is the first child of `all` in every listing.
  if (!raw.hostOrder.includes('ungrouped')) {
    ensure('ungrouped').parents.add('all')
    ensure('all').children.add('ungrouped')
  }
  const hostEntries = new Map<string, RawHostEntry[]>(raw.hostOrder.map((h) => [h, []]))
  for (const entry of raw.groups) {
    const node = ensure(entry.name, entry.at)
    node.entries.push(entry)
    for (const ref of entry.children) {
      ensure(ref.name, ref.at).parents.add(entry.name)
      node.children.add(ref.name)
      node.childRefs.push(ref)
    }
    for (const host of entry.hosts) {
      node.direct.add(host.name)
      hostEntries.get(host.name)?.push(host)
    }
  }

  if (checkStructure(groups, hostEntries, problems)) return undefined

  addImplicitGroups(groups, hostEntries, ensure)
  const depth = depths(groups)
  const layerCache = new WeakMap<RawVars, Layer>()
  const layerOf = (vars: RawVars, host?: string): Layer => {
    let layer = layerCache.get(vars)
    if (!layer) layerCache.set(vars, (layer = toLayer(vars, problems, host)))
    return layer
  }

  const inlineLayers = new Map<string, SourcedLayer[]>()
  const fileLayers = new Map<string, SourcedLayer[]>()
  const priority = new Map<string, number>()
  for (const node of groups.values()) {
    const source = (at: Located): VarSource => withLine({ kind: 'group', group: node.name, file: at.file }, at)
    const inline = node.entries.map((e) => ({ layer: layerOf(e.vars), source }))
    inlineLayers.set(node.name, inline)
    fileLayers.set(node.name, files.filter((f) => f.kind === 'group' && f.name === node.name).map((f) => ({ layer: layerOf(f.vars), source })))
    // As in Ansible, only the inventory itself sets a group's priority, not its group_vars files.
    priority.set(node.name, groupPriority(node.name, inline, problems))
  }

  const rootLayer: SourcedLayer = {
    layer: layerOf(raw.rootVars),
    source: (at) => withLine({ kind: 'inventory', file: at.file }, at),
  }
  const hostSource = (at: Located): VarSource => withLine({ kind: 'host', file: at.file }, at)
  const hosts = new Map<string, InventoryHost>()
  const cycles = new Set<string>()
  const memberOf = new Map<string, Set<string>>()
  for (const name of raw.hostOrder) {
    const member = ancestry(name, groups)
    memberOf.set(name, member)
    const ordered = [...member].sort((a, b) =>
      (depth.get(a) ?? 0) - (depth.get(b) ?? 0) || (priority.get(a) ?? 1) - (priority.get(b) ?? 1) || (a < b ? -1 : a > b ? 1 : 0))
    // Ansible's order: every group's inline vars, then every group's group_vars files, each in group order.
    const layers: SourcedLayer[] = [rootLayer, ...ordered.flatMap((g) => inlineLayers.get(g) ?? []), ...ordered.flatMap((g) => fileLayers.get(g) ?? [])]
    for (const entry of hostEntries.get(name) ?? []) layers.push({ layer: layerOf(entry.vars, name), source: hostSource })
    for (const f of files) if (f.kind === 'host' && f.name === name) layers.push({ layer: layerOf(f.vars, name), source: hostSource })
    hosts.set(name, mergeHost(name, ordered, layers, problems, cycles))
  }

  const result = new Map<string, InventoryGroup>()
  for (const node of groups.values()) {
    result.set(node.name, {
      name: node.name,
      children: [...node.children],
      parents: [...node.parents],
      hosts: raw.hostOrder.filter((h) => memberOf.get(h)?.has(node.name)),
      directHosts: [...node.direct],
    })
  }
  return { source, hosts, groups: result }
}

function withLine<T extends VarSource>(source: T, at: Located): T {
  return at.line === undefined ? source : { ...source, line: at.line }
}

/** Group/host name clashes, `all` used as a child, and cycles. Returns true when any was found. */
function checkStructure(groups: Map<string, GroupNode>, hosts: Map<string, RawHostEntry[]>, problems: Problems): boolean {
  let broken = false
  // An empty children entry naming a host is a misplaced host; a group with content of its own is a clash.
  const hasContent = (name: string): boolean =>
    groups.get(name)?.entries.some((e) => e.hosts.length + e.children.length + e.vars.length > 0) ?? false
  for (const node of groups.values()) {
    for (const ref of node.childRefs) {
      if (ref.name === 'all') {
        problems.add(ref.at, `'all' already contains every group; it cannot be a child of '${node.name}'`)
        broken = true
      } else if (hosts.has(ref.name) && !hasContent(ref.name)) {
        problems.add(ref.at, `'${ref.name}' is a host, so it cannot be listed under children of '${node.name}'; list it under hosts`)
        broken = true
      }
    }
  }
  for (const [name, entries] of hosts) {
    const group = groups.get(name)
    if (!group || (!hasContent(name) && group.parents.size > 0)) continue
    problems.add(entries[0]?.at ?? group.at ?? { file: '' }, `'${name}' is used both as a host and as a group; rename one`)
    broken = true
  }
  // Depth-first search; a child that is still on the stack closes a cycle.
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const visit = (name: string): void => {
    state.set(name, 'open')
    stack.push(name)
    for (const ref of groups.get(name)?.childRefs ?? []) {
      if (ref.name === 'all' || hosts.has(ref.name)) continue
      const s = state.get(ref.name)
      if (s === 'open') {
        const cycle = [...stack.slice(stack.indexOf(ref.name)), ref.name]
        problems.add(ref.at, `children form a cycle: ${cycle.join(' → ')}`)
        broken = true
      } else if (s === undefined) {
        visit(ref.name)
      }
    }
    stack.pop()
    state.set(name, 'done')
  }
  for (const name of groups.keys()) if (!state.has(name)) visit(name)
  return broken
}

/** Top-level groups become children of `all`; hosts in no group but `all` join `ungrouped`, as in Ansible. */
function addImplicitGroups(groups: Map<string, GroupNode>, hosts: Map<string, RawHostEntry[]>, ensure: (name: string) => GroupNode): void {
  const all = ensure('all')
  const inGroup = (h: string): boolean => [...groups.values()].some((g) => g.name !== 'all' && g.name !== 'ungrouped' && g.direct.has(h))
  if (!hosts.has('ungrouped')) {
    const ungrouped = ensure('ungrouped')
    // A host listed in ungrouped and in a real group belongs only to the real group, as in Ansible.
    for (const h of ungrouped.direct) if (inGroup(h)) ungrouped.direct.delete(h)
    for (const h of hosts.keys()) if (!inGroup(h)) ungrouped.direct.add(h)
  }
  for (const node of groups.values()) {
    if (node.name !== 'all' && node.parents.size === 0) {
      node.parents.add('all')
      all.children.add(node.name)
    }
  }
}

/** Longest distance from `all`, Ansible's group depth: a child is always deeper than each parent. */
function depths(groups: Map<string, GroupNode>): Map<string, number> {
  const depth = new Map<string, number>([['all', 0]])
  const of = (name: string): number => {
    const known = depth.get(name)
    if (known !== undefined) return known
    const parents = [...(groups.get(name)?.parents ?? [])]
    const d = 1 + Math.max(0, ...parents.map(of))
    depth.set(name, d)
    return d
  }
  for (const name of groups.keys()) of(name)
  return depth
}

function groupPriority(group: string, layers: readonly SourcedLayer[], problems: Problems): number {
  let result = 1
  for (const { layer } of layers) {
    const v = layer.vars.get(GROUP_PRIORITY)
    if (!v) continue
    if (typeof v.value === 'number' && Number.isInteger(v.value)) result = v.value
    else problems.add(v.at, `${GROUP_PRIORITY} of group '${group}' must be an integer`)
  }
  return result
}

/** The host, `all` and every ancestor of every group that lists the host. */
function ancestry(host: string, groups: Map<string, GroupNode>): Set<string> {
  const result = new Set<string>(['all'])
  const climb = (name: string): void => {
    if (result.has(name)) return
    result.add(name)
    for (const p of groups.get(name)?.parents ?? []) climb(p)
  }
  for (const node of groups.values()) if (node.direct.has(host)) climb(node.name)
  return result
}

/**
 * One host's vars merged by level, plain `{{ name }}` references resolved against them, and its
 * connection settings picked by Ansible's spelling rule and checked. `cycles` keeps a reference
 * cycle that many hosts share from being reported once per host.
 */
function mergeHost(name: string, groups: readonly string[], layers: readonly SourcedLayer[], problems: Problems, cycles: Set<string>): InventoryHost {
  const vars: Record<string, unknown> = {}
  const varSources: Record<string, VarSource> = {}
  const written: Record<string, ConnectionValue> = {}
  const writtenSources = new Map<string, VarSource>()
  // Later layers win; top-level keys replace (Ansible's default hash_behaviour=replace).
  for (const { layer, source } of layers) {
    for (const [key, v] of layer.vars) {
      if (key === GROUP_PRIORITY) continue
      setOwn(vars, key, v.value)
      setOwn(varSources, key, source(v.at))
    }
    for (const [spelling, v] of layer.connection) {
      setOwn(written, spelling, v.value)
      writtenSources.set(spelling, source(v.at))
    }
  }
  const lookup = (n: string): unknown =>
    n === 'inventory_hostname' ? name : n === 'inventory_hostname_short' ? name.split('.')[0] : Object.hasOwn(vars, n) ? vars[n] : Object.hasOwn(written, n) ? written[n] : undefined
  const resolve = (value: unknown, source: VarSource | undefined): unknown => resolveReferences(value, lookup, (names) => {
    const at = { file: source?.file ?? '', ...(source?.line === undefined ? {} : { line: source.line }) }
    // One report per cycle, from whichever of its vars was resolved first.
    const key = `${at.file}:${[...new Set(names)].sort().join(' ')}`
    if (cycles.has(key)) return
    cycles.add(key)
    problems.add(at, `vars refer to each other in a cycle: ${names.map((n) => `{{ ${n} }}`).join(' → ')}`)
  })
  const templates: Record<string, string> = {}
  const resolved: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(vars)) {
    const r = resolve(value, varSources[key])
    setOwn(resolved, key, r)
    if (r !== value && typeof value === 'string') setOwn(templates, key, value)
  }

  const connection: Partial<Record<ConnectionKey, ConnectionValue>> = {}
  const connectionSources: Partial<Record<ConnectionKey, VarSource>> = {}
  for (const [key, spellings] of Object.entries(CONNECTION_SPELLINGS) as [ConnectionKey, readonly string[]][]) {
    const winner = spellings.findLast((s) => Object.hasOwn(written, s))
    if (winner === undefined) continue
    const source = writtenSources.get(winner)
    let value = written[winner]
    if (referenceOf(value) !== undefined) {
      const at = { file: source?.file ?? '', ...(source?.line === undefined ? {} : { line: source.line }) }
      value = validateConnection(key, { key: winner, value: resolve(value, source), at }, problems, name)
      if (value === undefined) continue
    }
    connection[key] = value
    if (source) connectionSources[key] = source
  }
  const text = (v: ConnectionValue | undefined): string | undefined => (typeof v === 'string' ? v : undefined)
  const identityFile = text(connection.identityFile)
  const becomeUser = text(connection.becomeUser)
  return {
    name,
    address: text(connection.address) ?? name,
    ...(typeof connection.port === 'number' ? { port: connection.port } : {}),
    ...(text(connection.user) !== undefined ? { user: text(connection.user) } : {}),
    ...(identityFile !== undefined ? { identityFile } : {}),
    ...(typeof connection.become === 'boolean' ? { become: connection.become } : {}),
    ...(becomeUser !== undefined ? { becomeUser } : {}),
    transport: isLocalTransport(connection.connection) ? 'local' : 'ssh',
    connectionVars: written,
    templates,
    groups,
    vars: resolved,
    varSources,
    connectionSources,
  }
}

// Plain assignment would treat a var named `__proto__` as the prototype.
function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}
