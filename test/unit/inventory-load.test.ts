import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { loadInventory } from '../../src/inventory/index.ts'
import { removeTempInventories, tempInventory } from '../fixtures/inventories/temp-inventory.ts'

const fixtures = fileURLToPath(new URL('../fixtures/inventories/', import.meta.url))
const precedenceDir = join(fixtures, 'precedence')

afterAll(removeTempInventories)

describe('loadInventory: precedence', () => {
  it('merges all < parent < child < host inline < host_vars, each level inline < file', async () => {
    const inv = await loadInventory(precedenceDir)
    const web1 = inv.hosts.get('web1')!
    expect(web1.vars.level).toBe('web1-file')
    expect(web1.varSources.level).toEqual({ kind: 'host', file: join(precedenceDir, 'host_vars/web1.yaml'), line: 1 })
    expect(inv.hosts.get('web2')!.vars.level).toBe('web2-inline')
    expect(inv.hosts.get('web2')!.varSources.level).toMatchObject({ kind: 'host', file: join(precedenceDir, 'hosts.yaml') })
    // bastion is only in all: the group_vars file beats the inline vars of the same group.
    expect(inv.hosts.get('bastion')!.vars.level).toBe('all-file')
    expect(inv.hosts.get('bastion')!.varSources.level).toEqual({ kind: 'group', group: 'all', file: join(precedenceDir, 'group_vars/all.yaml'), line: 1 })
    // Vars set only at lower levels still reach every host.
    expect(web1.vars).toMatchObject({ from_all: true, from_all_file: 1, web_only: true })
    expect(web1.varSources.web_only).toMatchObject({ kind: 'group', group: 'web', line: 2 })
  })

  it('orders same-depth groups by name, deeper groups last, and group_vars/<g>/ files by file name', async () => {
    const inv = await loadInventory(precedenceDir)
    const app1 = inv.hosts.get('app1')!
    expect(app1.groups).toEqual(['all', 'oslo', 'db', 'web'])
    expect(app1.vars.level).toBe('web-file')
    expect(app1.vars.db_engine).toBe('mariadb')
    const db1 = inv.hosts.get('db1')!
    expect(db1.groups).toEqual(['all', 'oslo', 'zulu', 'db'])
    expect(db1.vars.level).toBe('db-dir-20')
    expect(db1.varSources.level).toMatchObject({ group: 'db', file: join(precedenceDir, 'group_vars/db/20-tuning.yaml') })
  })

  it('reads connection keys in both spellings, inherits them from groups, and removes them from vars', async () => {
    const inv = await loadInventory(precedenceDir)
    const bastion = inv.hosts.get('bastion')!
    expect([bastion.address, bastion.port, bastion.user]).toEqual(['192.0.2.1', 2222, 'jump'])
    const web1 = inv.hosts.get('web1')!
    expect([web1.address, web1.port, web1.user]).toEqual(['10.0.0.11', 2022, 'deploy'])
    expect(web1.connectionSources.user).toMatchObject({ kind: 'group', group: 'oslo' })
    const web2 = inv.hosts.get('web2')!
    expect(web2.address).toBe('web2')
    expect(web2.port).toBeUndefined()
    for (const host of inv.hosts.values()) {
      for (const key of ['address', 'port', 'user', 'ansible_host', 'ansible_port', 'ansible_user']) expect(host.vars).not.toHaveProperty(key)
    }
  })

  it('uses YAML 1.1 scalars as Ansible does', async () => {
    const inv = await loadInventory(precedenceDir)
    expect(inv.hosts.get('web1')!.vars).toMatchObject({ mode: 0o644, enabled: true })
  })

  it('keeps inventory order and builds the group graph', async () => {
    const inv = await loadInventory(precedenceDir)
    expect([...inv.hosts.keys()]).toEqual(['bastion', 'web1', 'web2', 'app1', 'db1'])
    expect([...inv.groups.keys()][0]).toBe('all')
    expect(inv.groups.get('all')).toMatchObject({ children: ['ungrouped', 'oslo', 'zulu'], parents: [] })
    expect(inv.groups.get('oslo')).toMatchObject({ children: ['web', 'db'], parents: ['all'], hosts: ['web1', 'web2', 'app1', 'db1'], directHosts: [] })
    expect(inv.groups.get('db')!.directHosts).toEqual(['db1', 'app1'])
    expect(inv.groups.get('ungrouped')!.hosts).toEqual(['bastion'])
    expect(inv.hosts.get('bastion')!.groups).toEqual(['all', 'ungrouped'])
  })

  it('top-level keys replace whole values (no deep merge)', async () => {
    const dir = await tempInventory({
      'hosts.yaml': 'all:\n  vars:\n    tuning: {a: 1, b: 2}\n  hosts:\n    h1:\n      tuning: {a: 9}\n',
    })
    expect((await loadInventory(dir)).hosts.get('h1')!.vars.tuning).toEqual({ a: 9 })
  })

  it('accepts groups at the top level without all:, and a host in several groups', async () => {
    const dir = await tempInventory({
      'hosts.yml': 'web:\n  hosts:\n    a:\n      x: 1\ndb:\n  hosts:\n    a:\n      y: 2\n    b:\n',
    })
    const inv = await loadInventory(dir)
    expect([...inv.hosts.keys()]).toEqual(['a', 'b'])
    expect(inv.hosts.get('a')!.vars).toEqual({ x: 1, y: 2 })
    expect(inv.hosts.get('a')!.groups).toEqual(['all', 'db', 'web'])
    expect(inv.groups.get('all')!.children).toEqual(['ungrouped', 'web', 'db'])
  })

  it('merges repeated appearances of a group and honours ansible_group_priority', async () => {
    const dir = await tempInventory({
      'hosts.yaml': [
        'all:',
        '  children:',
        '    alpha:',
        '      vars: {ansible_group_priority: 10, who: alpha}',
        '      hosts: {h1: }',
        '    beta:',
        '      vars: {who: beta}',
        '      hosts: {h1: }',
        '    prod:',
        '      children:',
        '        gamma:',
        '    gamma:',
        '      hosts: {h2: }',
        '',
      ].join('\n'),
    })
    const inv = await loadInventory(dir)
    expect(inv.hosts.get('h1')!.vars).toEqual({ who: 'alpha' })
    expect(inv.groups.get('gamma')).toMatchObject({ parents: ['all', 'prod'], hosts: ['h2'] })
    expect(inv.hosts.get('h2')!.groups).toEqual(['all', 'prod', 'gamma'])
  })

  it('expands Ansible host ranges and supports anchors and merge keys', async () => {
    const dir = await tempInventory({
      'hosts.yaml': [
        'all:',
        '  vars:',
        '    defaults: &d {tier: gold, size: 1}',
        '  hosts:',
        '    web[01:03].example.com:',
        '      <<: *d',
        '      size: 2',
        '    db-[a:b]:',
        '',
      ].join('\n'),
    })
    const inv = await loadInventory(dir)
    expect([...inv.hosts.keys()]).toEqual(['web01.example.com', 'web02.example.com', 'web03.example.com', 'db-a', 'db-b'])
    expect(inv.hosts.get('web02.example.com')!.vars).toMatchObject({ tier: 'gold', size: 2 })
  })

  it('loads a single .yaml file and an empty inventory', async () => {
    const dir = await tempInventory({ 'one.yaml': 'all:\n  hosts:\n    solo: {ansible_port: "2200"}\n', 'empty/hosts.yaml': '' })
    const solo = (await loadInventory(join(dir, 'one.yaml'))).hosts.get('solo')!
    expect(solo.port).toBe(2200)
    const empty = await loadInventory(join(dir, 'empty'))
    expect(empty.hosts.size).toBe(0)
    expect([...empty.groups.keys()]).toEqual(['all', 'ungrouped'])
  })
})

describe('loadInventory: index.ts', () => {
  const defineImport = JSON.stringify(fileURLToPath(new URL('../../src/inventory/index.ts', import.meta.url)))

  it('loads a default-exported defineInventory spec with the same merge rules', async () => {
    const dir = await tempInventory({
      'index.ts': [
        `import { defineInventory } from ${defineImport}`,
        'export default defineInventory({',
        '  vars: { level: "inventory", base: 1 },',
        '  hosts: {',
        '    hub: { address: "10.1.0.1", port: 2222, user: "ops", groups: ["core"], vars: { wg_role: "hub" } },',
        '    spoke1: { vars: { ansible_user: "spoke" } },',
        '    spoke2: {},',
        '  },',
        '  groups: {',
        '    all: { vars: { level: "all" } },',
        '    core: { vars: { level: "core", user: "core-admin" } },',
        '    spokes: { hosts: ["spoke1", "spoke2"], vars: { level: "spokes" } },',
        '    mesh: { children: ["core", "spokes"] },',
        '  },',
        '})',
        '',
      ].join('\n'),
      'group_vars/spokes.yaml': 'from_file: true\n',
    })
    const inv = await loadInventory(dir)
    expect([...inv.hosts.keys()]).toEqual(['hub', 'spoke1', 'spoke2'])
    const hub = inv.hosts.get('hub')!
    expect([hub.address, hub.port, hub.user]).toEqual(['10.1.0.1', 2222, 'ops'])
    expect(hub.groups).toEqual(['all', 'mesh', 'core'])
    expect(hub.vars).toEqual({ level: 'core', base: 1, wg_role: 'hub' })
    expect(hub.varSources.base).toEqual({ kind: 'inventory', file: join(dir, 'index.ts') })
    const spoke1 = inv.hosts.get('spoke1')!
    expect(spoke1.user).toBe('spoke')
    expect(spoke1.vars).toEqual({ level: 'spokes', base: 1, from_file: true })
    expect(inv.hosts.get('spoke2')!.user).toBeUndefined()
    expect(inv.groups.get('mesh')!.hosts).toEqual(['hub', 'spoke1', 'spoke2'])
  })

  it('loads a .ts file given directly', async () => {
    const dir = await tempInventory({
      'lab.ts': `import { defineInventory } from ${defineImport}\nexport default defineInventory({ hosts: { lab1: { port: 2201 } } })\n`,
    })
    expect((await loadInventory(join(dir, 'lab.ts'))).hosts.get('lab1')!.port).toBe(2201)
  })
})
