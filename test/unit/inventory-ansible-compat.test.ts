import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { loadInventory } from '../../src/inventory/load.ts'
import { toAnsibleList } from '../../src/inventory/ansible-list.ts'

// Each case is an inventory plus the JSON that ansible-inventory 2.14 printed for it (`--list`).
const DIR = new URL('../fixtures/ansible/inventories/', import.meta.url)
const CASES = readdirSync(DIR).filter((f) => f.endsWith('.list.json')).map((f) => f.replace(/\.list\.json$/, ''))

describe('inventories read exactly as ansible-inventory --list reads them', () => {
  it('has recorded cases to compare', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(5)
  })

  for (const name of CASES) {
    it(name, async () => {
      const source = readdirSync(DIR).find((f) => f.startsWith(`${name}.`) && !f.endsWith('.list.json')) ?? name
      const want = JSON.parse(readFileSync(new URL(`${name}.list.json`, DIR), 'utf8')) as unknown
      const inv = await loadInventory(new URL(source, DIR).pathname)
      expect(toAnsibleList(inv)).toEqual(want)
    })
  }
})
