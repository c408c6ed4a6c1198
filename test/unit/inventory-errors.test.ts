import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { loadInventory } from '../../src/inventory/index.ts'
import { problemsOf, removeTempInventories, tempInventory } from '../fixtures/inventories/temp-inventory.ts'

afterAll(removeTempInventories)

/** Loads `hosts.yaml` (plus any extra files) and returns the InputError's problems. */
async function yamlProblems(hostsYaml: string, extra: Record<string, string> = {}) {
  const dir = await tempInventory({ 'hosts.yaml': hostsYaml, ...extra })
  return { dir, file: join(dir, 'hosts.yaml'), problems: await problemsOf(loadInventory(dir)) }
}

describe('loadInventory: YAML problems carry file:line:column', () => {
  it('reports a syntax error with its position', async () => {
    const { file, problems } = await yamlProblems('all:\n  hosts:\n    web1: [1\n')
    expect(problems[0]).toMatchObject({ at: { file, line: 4 } })
    expect(problems[0]!.message).toMatch(/^YAML: /)
  })

  it('reports duplicate keys', async () => {
    const { file, problems } = await yamlProblems('all:\n  hosts:\n    web1:\n    web1:\n')
    expect(problems).toEqual([{ message: "duplicate key 'web1' (each key may appear only once in a mapping)", at: { file, line: 4, column: 5 } }])
    const flow = await yamlProblems('all:\n  hosts:\n    web1: {port: 22, port: 23}\n')
    expect(flow.problems).toEqual([{ message: expect.stringMatching(/^duplicate key 'port'/), at: { file: flow.file, line: 3, column: 22 } }])
  })

  it('reports a wrong connection value with the line and the host, and collects every problem', async () => {
    const { file, problems } = await yamlProblems([
      'all:',
      '  hosts:',
      '    web1:',
      '      port: "abc"',
      '    web2:',
      '      ansible_port: 70000',
      '    web3:',
      '      user: ""',
      '      address: 12',
      '',
    ].join('\n'))
    expect(problems).toEqual([
      { message: "port must be an integer from 1 to 65535, not the string 'abc'", at: { file, line: 4, column: 7, host: 'web1' } },
      { message: 'ansible_port must be an integer from 1 to 65535, not number 70000', at: { file, line: 6, column: 7, host: 'web2' } },
      { message: expect.stringMatching(/^user must be a user name .* not an empty string$/), at: { file, line: 8, column: 7, host: 'web3' } },
      { message: expect.stringMatching(/^address must be a host name or IP address .* not number 12$/), at: { file, line: 9, column: 7, host: 'web3' } },
    ])
  })

  it('rejects both spellings of a connection key with different values on one level', async () => {
    const { file, problems } = await yamlProblems('all:\n  hosts:\n    web1: {address: 10.0.0.1, ansible_host: 10.0.0.2}\n    web2: {port: 22, ansible_port: 22}\n')
    expect(problems).toEqual([{ message: expect.stringMatching(/'address' and 'ansible_host' are both set/), at: { file, line: 3, column: 31, host: 'web1' } }])
  })

  it('validates connection keys given as group vars', async () => {
    const { file, problems } = await yamlProblems('all:\n  children:\n    web:\n      vars:\n        ansible_port: 0\n      hosts: {web1: }\n')
    expect(problems).toEqual([{ message: expect.stringMatching(/^ansible_port must be an integer/), at: { file, line: 5, column: 9 } }])
  })

  it('rejects hosts given as a list, and names the fix', async () => {
    const { file, problems } = await yamlProblems('all:\n  children:\n    web:\n      hosts:\n        - web1\n        - web2\n')
    expect(problems).toEqual([{ message: expect.stringMatching(/^hosts of group 'web' must be a mapping with host names as keys, not a list/), at: { file, line: 5, column: 9 } }])
  })

  it('names an unknown key in a group and suggests the right one', async () => {
    const { file, problems } = await yamlProblems('all:\n  children:\n    web:\n      host:\n        web1:\n      var: {a: 1}\n')
    expect(problems).toEqual([
      { message: "unknown key 'host' in group 'web'; expected hosts, children or vars; did you mean 'hosts'?", at: { file, line: 4, column: 7 } },
      { message: "unknown key 'var' in group 'web'; expected hosts, children or vars; did you mean 'vars'?", at: { file, line: 6, column: 7 } },
    ])
  })

  it('rejects a scalar host value and a non-mapping top level', async () => {
    const a = await yamlProblems('all:\n  hosts:\n    web1: 10.0.0.1\n')
    expect(a.problems).toEqual([{ message: expect.stringContaining("write 'web1: {address: 10.0.0.1}'"), at: { file: a.file, line: 3, column: 11, host: 'web1' } }])
    const b = await yamlProblems('- web1\n- web2\n')
    expect(b.problems[0]!.message).toMatch(/must be a mapping of groups/)
    const c = await yamlProblems('hosts:\n  web1:\n')
    expect(c.problems[0]!.message).toBe("top-level keys are group names; 'hosts:' belongs under 'all:'")
  })

  it('collects every shape problem of one file in a single error, top to bottom', async () => {
    const { file, problems } = await yamlProblems([
      'all:',
      '  children:',
      '    web:',
      '      children: [a, b]',
      '    db:',
      '      vars: [x]',
      '      hosts:',
      '        db[1:a]:',
      '        db[3:1]:',
      '    "my group":',
      '    cache: just-a-string',
      '',
    ].join('\n'))
    expect(problems.map((p) => [p.at.file, p.at.line, p.message])).toEqual([
      [file, 4, "children of group 'web' must be a mapping with group names as keys, not a list"],
      [file, 6, "vars of group 'db' must be a mapping, not a list"],
      [file, 8, "host range '[1:a]' must be numeric ([01:10]) or single letters ([a:f])"],
      [file, 9, "host range '[3:1]' runs backwards"],
      [file, 10, expect.stringMatching(/^group name 'my group' contains whitespace/)],
      [file, 11, "group 'cache' must be a mapping with hosts, children or vars, not the string 'just-a-string'"],
    ])
  })

  it('rejects a host listed under children', async () => {
    const { file, problems } = await yamlProblems('all:\n  hosts:\n    web1:\n  children:\n    web:\n      children:\n        web1:\n')
    expect(problems).toEqual([{ message: "'web1' is a host, so it cannot be listed under children of 'web'; list it under hosts", at: { file, line: 7, column: 9 } }])
  })

  it('rejects a name used both as a group and a host', async () => {
    const { file, problems } = await yamlProblems('all:\n  children:\n    db:\n      hosts:\n        web:\n    web:\n      hosts: {web1: }\n')
    expect(problems).toEqual([{ message: "'web' is used both as a host and as a group; rename one", at: { file, line: 5, column: 9 } }])
  })

  it('reports a cycle in children with its path', async () => {
    const { file, problems } = await yamlProblems([
      'all:',
      '  children:',
      '    a:',
      '      children:',
      '        b:',
      '          children:',
      '            c:',
      '    c:',
      '      children:',
      '        a:',
      '',
    ].join('\n'))
    expect(problems).toEqual([{ message: 'children form a cycle: a → b → c → a', at: { file, line: 10, column: 9 } }])
  })

  it('rejects all as a child and invalid host names', async () => {
    const { problems } = await yamlProblems('all:\n  hosts:\n    "web 1":\n  children:\n    web:\n      children:\n        all:\n')
    expect(problems.map((p) => p.message)).toEqual([
      expect.stringMatching(/^host name 'web 1' contains whitespace/),
      "'all' already contains every group; it cannot be a child of 'web'",
    ])
  })

  it('refuses Ansible Vault values with a clear message, without showing the ciphertext', async () => {
    const { problems } = await yamlProblems('all:\n  vars:\n    pw: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n      3132\n')
    expect(problems[0]).toMatchObject({ message: expect.stringMatching(/Vault/), at: { line: 3 } })
    expect(problems.map((p) => p.message).join('\n')).not.toContain('3132')
  })

  it('reports every INI problem of the file at once, each with its line', async () => {
    const dir = await tempInventory({ hosts: '[web]\nweb1 port\n[web:childs]\nx\n[db:vars]\na=1\n[p:children]\nghost\n[bad section]\nweb[3:1]\n' })
    const file = join(dir, 'hosts')
    expect(await problemsOf(loadInventory(dir))).toEqual([
      { message: "expected key=value after the host name, got 'port'", at: { file, line: 2, column: 1 } },
      { message: "section [web:childs] has an unknown type 'childs'; use [web], [web:children] or [web:vars]", at: { file, line: 3, column: 1 } },
      { message: "section [db:vars] is for group 'db', which this file never declares; add a [db] or [db:children] section", at: { file, line: 5, column: 1 } },
      { message: "[p:children] names group 'ghost', which this file never declares; add a [ghost] section (it may be empty)", at: { file, line: 8, column: 1 } },
      { message: "invalid section '[bad section]': a section is [group], [group:children] or [group:vars], with no spaces", at: { file, line: 9, column: 1 } },
    ])
  })
})

describe('loadInventory: group_vars and host_vars', () => {
  it('warns about files for groups and hosts that do not exist, and does not read them', async () => {
    const dir = await tempInventory({
      'hosts.yaml': 'all:\n  children:\n    web:\n      hosts: {web1: }\n',
      'group_vars/wbe.yaml': 'a: [broken\n',
      'group_vars/web1.yaml': 'a: 1\n',
      'host_vars/web2.yml': 'a: 1\n',
      'group_vars/all.yaml': 'a: 1\n',
      'group_vars/ungrouped.yaml': 'a: 1\n',
    })
    const inv = await loadInventory(dir)
    expect(inv.warnings).toEqual([
      { message: "not read: group_vars for 'wbe', which is not a group in this inventory; did you mean 'web'?", at: { file: join(dir, 'group_vars/wbe.yaml') } },
      { message: "not read: group_vars for 'web1', which is not a group in this inventory; 'web1' is a host, so its vars belong in host_vars/", at: { file: join(dir, 'group_vars/web1.yaml') } },
      { message: "not read: host_vars for 'web2', which is not a host in this inventory; did you mean 'web1'?", at: { file: join(dir, 'host_vars/web2.yml') } },
    ])
    expect(inv.hosts.get('web1')!.vars).toEqual({ a: 1 })
  })

  it('reports YAML and shape problems inside vars files with their position', async () => {
    const { dir, problems } = await yamlProblems('all:\n  hosts: {web1: }\n', {
      'host_vars/web1.yaml': 'ok: 1\nport: many\n',
      'group_vars/all.yaml': '- a\n- b\n',
    })
    expect(problems).toEqual([
      { message: expect.stringMatching(/^a vars file must be a mapping/), at: { file: join(dir, 'group_vars/all.yaml'), line: 1, column: 1 } },
      { message: "port must be an integer from 1 to 65535, not the string 'many'", at: { file: join(dir, 'host_vars/web1.yaml'), line: 2, column: 1, host: 'web1' } },
    ])
  })
})

describe('loadInventory: index.ts problems', () => {
  const defineImport = JSON.stringify(fileURLToPath(new URL('../../src/inventory/index.ts', import.meta.url)))

  it('validates the spec shape with JSON pointers and catches undeclared names', async () => {
    const dir = await tempInventory({
      'index.ts': [
        `import { defineInventory } from ${defineImport}`,
        'const spec: unknown = {',
        '  hosts: { web1: { port: "ssh", ansible_user: "x", groups: ["wbe"] }, web2: {} },',
        '  groups: { web: { hosts: ["web3"], childs: [] } },',
        '  varz: {},',
        '}',
        'export default defineInventory(spec as never)',
        '',
      ].join('\n'),
    })
    const file = join(dir, 'index.ts')
    const problems = await problemsOf(loadInventory(dir))
    expect(problems).toEqual(expect.arrayContaining([
      { message: "unknown key 'varz' in the inventory; expected hosts, groups, vars; did you mean 'vars'?", at: { file, pointer: '/varz' } },
      { message: expect.stringMatching(/^unknown key 'ansible_user' in host 'web1'; .*put it under vars/), at: { file, pointer: '/hosts/web1/ansible_user', host: 'web1' } },
      { message: "host 'web1' names group 'wbe', which is not declared under groups; did you mean 'web'?", at: { file, pointer: '/hosts/web1/groups/0', host: 'web1' } },
      { message: "group 'web' lists host 'web3', which is not declared under hosts; did you mean 'web1'?", at: { file, pointer: '/groups/web/hosts/0' } },
      { message: expect.stringMatching(/^unknown key 'childs' in group 'web'/), at: { file, pointer: '/groups/web/childs' } },
      { message: "port must be an integer from 1 to 65535, not the string 'ssh'", at: { file, pointer: '/hosts/web1/port', host: 'web1' } },
    ]))
    expect(problems).toHaveLength(6)
  })

  it('rejects a module without a default export', async () => {
    const dir = await tempInventory({ 'index.ts': 'export const hosts = {}\n' })
    expect((await problemsOf(loadInventory(dir)))[0]!.message).toMatch(/no default export/)
  })
})

describe('loadInventory: paths', () => {
  it('names missing inventories and directories with nothing to read', async () => {
    const dir = await tempInventory({ 'b/readme.txt': '', 'b/inventory.ini': '[web]\nweb1\n' })
    expect((await problemsOf(loadInventory(join(dir, 'nope'))))[0]).toEqual({ message: 'inventory not found', at: { file: join(dir, 'nope') } })
    expect((await problemsOf(loadInventory(join(dir, 'b'))))[0]!.message).toMatch(/^no inventory in this directory/)
  })
})
