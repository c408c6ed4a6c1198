import { basename, dirname, relative } from 'node:path'
import { InputError } from '../engine/errors.ts'
import { didYouMean } from './problems.ts'
import type { Inventory, InventoryHost, VarSource } from './types.ts'
import { maskRevealed } from './revealed.ts'

/**
 * The group tree in the style of `ansible-inventory --graph`: each group lists its child groups, then
 * the hosts listed directly in it, with their connection target when it differs from the name. With
 * `only`, shows just those hosts and the groups that lead to them. Ends with a newline.
 */
export function describeInventory(inv: Inventory, only?: ReadonlySet<string>): string {
  const lines = ['@all:']
  const visible = (group: string): boolean => {
    const g = inv.groups.get(group)
    if (!g) return false
    if (only) return g.hosts.some((h) => only.has(h))
    return group !== 'ungrouped' || g.hosts.length > 0
  }
  const walk = (group: string, depth: number): void => {
    const g = inv.groups.get(group)
    if (!g) return
    const indent = '  ' + '|  '.repeat(depth)
    for (const child of g.children) {
      if (!visible(child)) continue
      lines.push(`${indent}|--@${child}:`)
      walk(child, depth + 1)
    }
    // Hosts listed only under `all` are shown once, under the implicit `ungrouped`, as Ansible does.
    const skipDirect = group === 'all' && inv.groups.has('ungrouped')
    for (const name of skipDirect ? [] : g.directHosts) {
      if (only && !only.has(name)) continue
      const host = inv.hosts.get(name)
      lines.push(`${indent}|--${name}${host ? target(host) : ''}`)
    }
  }
  walk('all', 0)
  return lines.join('\n') + '\n'
}

/**
 * One host's connection settings and merged vars, each with the file (and line) and group or host
 * level it came from. Values of vars whose names look secret are hidden. Unknown host: InputError.
 */
export function describeHost(inv: Inventory, name: string): string {
  const host = inv.hosts.get(name)
  if (!host) throw InputError.at({ file: inv.source }, `no host '${name}' in this inventory${didYouMean(name, inv.hosts.keys())}`)
  const rows: [string, string, string][] = []
  const section = (title: string): void => {
    rows.push([title, '', ''])
  }
  section('connection')
  const c = host.connectionSources
  rows.push(['address', host.address, c.address ? where(inv, c.address) : '(default: the host name)'])
  rows.push(['port', host.port === undefined ? '-' : String(host.port), c.port ? where(inv, c.port) : '(default: ssh config, else 22)'])
  rows.push(['user', host.user ?? '-', c.user ? where(inv, c.user) : '(default: ssh config)'])
  if (host.identityFile !== undefined) rows.push(['key file', host.identityFile, c.identityFile ? where(inv, c.identityFile) : ''])
  if (host.become !== undefined) rows.push(['become', String(host.become), c.become ? where(inv, c.become) : ''])
  if (host.becomeUser !== undefined) rows.push(['become user', host.becomeUser, c.becomeUser ? where(inv, c.becomeUser) : ''])
  if (host.transport === 'local') rows.push(['transport', 'local (the controller)', c.connection ? where(inv, c.connection) : ''])
  section('vars')
  const revealed = new Set(inv.secrets)
  for (const key of Object.keys(host.vars).sort()) {
    const source = host.varSources[key]
    const hidden = looksSecret(key) || maskRevealed(host.vars[key], revealed) !== host.vars[key]
    rows.push([key, hidden ? '(sensitive, hidden)' : render(host.vars[key]), source ? where(inv, source) : ''])
  }
  const keyWidth = Math.max(...rows.map(([k, v]) => (v === '' ? 0 : k.length)))
  const valueWidth = Math.min(40, Math.max(...rows.map(([, v]) => v.length)))
  const out = [`${host.name}`, `  groups: ${host.groups.join(', ')}`]
  for (const [key, value, source] of rows) {
    if (value === '' && source === '') out.push(key)
    else out.push(`  ${key.padEnd(keyWidth)} = ${value.padEnd(valueWidth)}  ${source}`.trimEnd())
  }
  if (Object.keys(host.vars).length === 0) out.push('  (none)')
  return out.join('\n') + '\n'
}

function target(host: InventoryHost): string {
  if (host.address === host.name && host.port === undefined && host.user === undefined) return ''
  return ` (${host.user ? `${host.user}@` : ''}${host.address}${host.port === undefined ? '' : `:${host.port}`})`
}

function where(inv: Inventory, source: VarSource): string {
  // Paths are shown from the inventory's folder: the directory given, or the one holding the file given.
  const base = inv.files.includes(inv.source) ? dirname(inv.source) : inv.source
  const rel = relative(base, source.file)
  const file = rel === '' ? basename(source.file) : rel.startsWith('..') ? source.file : rel
  const at = source.line === undefined ? file : `${file}:${source.line}`
  const level = source.kind === 'group' ? `group ${source.group}` : source.kind
  return `(${at}, ${level})`
}

// Inventories are plain data, so secrecy can only be guessed from the name; err on hiding.
const SECRET_NAME = /pass(word|wd|phrase)?|secret|token|private_?key|api_?key|credential/i

function looksSecret(key: string): boolean {
  return SECRET_NAME.test(key)
}

function render(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 100 ? `${text.slice(0, 97)}...` : text
}
