import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadInventory, selectHosts, type Inventory } from '../../src/inventory/index.ts'
import { problemsOf, removeTempInventories, tempInventory } from '../fixtures/inventories/temp-inventory.ts'

let inv: Inventory

beforeAll(async () => {
  const dir = await tempInventory({
    'hosts.yaml': [
      'all:',
      '  hosts:',
      '    bastion:',
      '    "2001:db8::7":',
      '  children:',
      '    oslo:',
      '      children:',
      '        web:',
      '          hosts: {web-1: , web-2: , web-10: }',
      '        db:',
      '          hosts: {db-a: , db-b: }',
      '    burst:',
      '      hosts: {web-2: , burst-1: }',
      '    empty:',
      '',
    ].join('\n'),
  })
  inv = await loadInventory(dir)
})
afterAll(removeTempInventories)

describe('selectHosts', () => {
  it('selects every host for undefined, all and *, in inventory order', () => {
    const every = ['bastion', '2001:db8::7', 'web-1', 'web-2', 'web-10', 'db-a', 'db-b', 'burst-1']
    expect(selectHosts(inv, undefined)).toEqual(every)
    expect(selectHosts(inv, 'all')).toEqual(every)
    expect(selectHosts(inv, '*')).toEqual(every)
  })

  it('selects hosts and groups (with descendants), keeping inventory order whatever the term order', () => {
    expect(selectHosts(inv, 'db-b,bastion')).toEqual(['bastion', 'db-b'])
    expect(selectHosts(inv, 'oslo')).toEqual(['web-1', 'web-2', 'web-10', 'db-a', 'db-b'])
    expect(selectHosts(inv, 'burst:db')).toEqual(['web-2', 'db-a', 'db-b', 'burst-1'])
    expect(selectHosts(inv, 'ungrouped')).toEqual(['bastion', '2001:db8::7'])
  })

  it('matches globs and ~regexes against host and group names', () => {
    expect(selectHosts(inv, 'web-?')).toEqual(['web-1', 'web-2'])
    expect(selectHosts(inv, 'web-*')).toEqual(['web-1', 'web-2', 'web-10'])
    expect(selectHosts(inv, 'db-[!a]')).toEqual(['db-b'])
    expect(selectHosts(inv, 'o*')).toEqual(['web-1', 'web-2', 'web-10', 'db-a', 'db-b'])
    expect(selectHosts(inv, '~(web|db)-[0-9]+$')).toEqual(['web-1', 'web-2', 'web-10'])
  })

  it('applies !exclusions and &intersections after the union, from all when only they are given', () => {
    expect(selectHosts(inv, 'oslo,!db')).toEqual(['web-1', 'web-2', 'web-10'])
    expect(selectHosts(inv, 'oslo:!web-1:!db-*')).toEqual(['web-2', 'web-10'])
    expect(selectHosts(inv, 'web:&burst')).toEqual(['web-2'])
    expect(selectHosts(inv, '!oslo')).toEqual(['bastion', '2001:db8::7', 'burst-1'])
    expect(selectHosts(inv, '&burst')).toEqual(['web-2', 'burst-1'])
  })

  it('keeps IPv6 host names whole instead of splitting on their colons', () => {
    expect(selectHosts(inv, '2001:db8::7')).toEqual(['2001:db8::7'])
    expect(selectHosts(inv, 'bastion,2001:db8::7')).toEqual(['bastion', '2001:db8::7'])
  })

  it('rejects a term that names nothing, even when other terms match, with a suggestion', async () => {
    const problems = await problemsOf(() => selectHosts(inv, 'web,osloo,!nope*', '--limit'))
    expect(problems.map((p) => p.message)).toEqual([
      expect.stringMatching(/^--limit 'web,osloo,!nope\*': 'osloo' is not a host or group of .*; did you mean 'oslo'\?$/),
      expect.stringMatching(/^--limit 'web,osloo,!nope\*': 'nope\*' is not a host or group/),
    ])
  })

  it('suggests the closest name for a swapped-letter typo', async () => {
    expect((await problemsOf(() => selectHosts(inv, 'wbe', '--limit')))[0]!.message).toMatch(/did you mean 'web'\?$/)
  })

  it('rejects an empty selection, naming where the pattern came from', async () => {
    expect((await problemsOf(() => selectHosts(inv, 'web:&db', "play 'site' hosts")))[0]!.message).toBe("play 'site' hosts 'web:&db' matches no host")
    expect((await problemsOf(() => selectHosts(inv, 'empty', '--limit')))[0]!.message).toBe("--limit 'empty' matches no host")
    expect((await problemsOf(() => selectHosts(inv, ' , ')))[0]!.message).toBe("pattern ' , ' is empty")
    expect((await problemsOf(() => selectHosts(inv, '~(')))[0]!.message).toMatch(/invalid regular expression/)
  })
})
