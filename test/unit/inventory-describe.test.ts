import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { describeHost, describeInventory, loadInventory } from '../../src/inventory/index.ts'
import { problemsOf, removeTempInventories, tempInventory } from '../fixtures/inventories/temp-inventory.ts'

const precedenceDir = fileURLToPath(new URL('../fixtures/inventories/precedence', import.meta.url))
afterAll(removeTempInventories)

describe('describeInventory', () => {
  it('draws the group tree like ansible-inventory --graph', async () => {
    const inv = await loadInventory(precedenceDir)
    expect(describeInventory(inv)).toBe([
      '@all:',
      '  |--@ungrouped:',
      '  |  |--bastion (jump@192.0.2.1:2222)',
      '  |--@oslo:',
      '  |  |--@web:',
      '  |  |  |--web1 (deploy@10.0.0.11:2022)',
      '  |  |  |--web2 (deploy@web2)',
      '  |  |  |--app1 (deploy@app1)',
      '  |  |--@db:',
      '  |  |  |--db1 (deploy@db1:2201)',
      '  |  |  |--app1 (deploy@app1)',
      '  |--@zulu:',
      '  |  |--db1 (deploy@db1:2201)',
      '',
    ].join('\n'))
  })

  it('shows only the given hosts and the groups leading to them', async () => {
    const inv = await loadInventory(precedenceDir)
    expect(describeInventory(inv, new Set(['db1']))).toBe([
      '@all:', '  |--@oslo:', '  |  |--@db:', '  |  |  |--db1 (deploy@db1:2201)', '  |--@zulu:', '  |  |--db1 (deploy@db1:2201)', '',
    ].join('\n'))
  })
})

describe('describeHost', () => {
  it('lists connection and vars with the file, line and level each value came from', async () => {
    const inv = await loadInventory(precedenceDir)
    const text = describeHost(inv, 'web1')
    expect(text.split('\n')).toEqual(expect.arrayContaining([
      'web1',
      '  groups: all, oslo, web',
      expect.stringMatching(/^ {2}address +\= 10\.0\.0\.11 +\(hosts\.yaml:24, host\)$/),
      expect.stringMatching(/^ {2}port +\= 2022 +\(host_vars\/web1\.yaml:2, host\)$/),
      expect.stringMatching(/^ {2}user +\= deploy +\(hosts\.yaml:17, group oslo\)$/),
      expect.stringMatching(/^ {2}level +\= "web1-file" +\(host_vars\/web1\.yaml:1, host\)$/),
      expect.stringMatching(/^ {2}web_only +\= true +\(group_vars\/web\.yml:2, group web\)$/),
    ]))
    expect(describeHost(inv, 'web2')).toMatch(/address += web2 +\(default: the host name\)/)
  })

  it('hides values of vars whose names look secret', async () => {
    const dir = await tempInventory({ 'hosts.yaml': 'all:\n  hosts:\n    h1:\n      db_password: hunter2\n      api_token: abc123\n' })
    const text = describeHost(await loadInventory(dir), 'h1')
    expect(text).toMatch(/db_password += \(sensitive, hidden\) +\(hosts\.yaml:4, host\)/)
    expect(text).not.toContain('hunter2')
    expect(text).not.toContain('abc123')
  })

  it('rejects an unknown host with a suggestion', async () => {
    const inv = await loadInventory(precedenceDir)
    const problems = await problemsOf(() => describeHost(inv, 'web3'))
    expect(problems[0]).toMatchObject({ message: "no host 'web3' in this inventory; did you mean 'web1'?", at: { file: precedenceDir } })
    expect(join(precedenceDir)).toBe(inv.source)
  })
})
