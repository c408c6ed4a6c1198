import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { expandHostRange } from '../../src/inventory/names.ts'

// Recorded from ansible-core 2.14 (Debian 12): ansible.plugins.inventory.expand_hostname_range on each pattern.
const ANSIBLE = JSON.parse(readFileSync(new URL('../fixtures/ansible/host-ranges.json', import.meta.url), 'utf8')) as { ok: Record<string, string[]>; errors: Record<string, string> }

describe('host ranges, as Ansible expands them', () => {
  it('gives the same hosts as Ansible for every recorded pattern', () => {
    expect(Object.keys(ANSIBLE.ok).length).toBeGreaterThanOrEqual(10)
    for (const [pattern, hosts] of Object.entries(ANSIBLE.ok)) expect(expandHostRange(pattern), pattern).toEqual(hosts)
  })

  it('refuses every pattern Ansible refuses, naming the range, and a range that runs backwards or is too large', () => {
    for (const pattern of Object.keys(ANSIBLE.errors)) expect(() => expandHostRange(pattern), pattern).toThrow(`host range '${pattern.slice(pattern.indexOf('['))}'`)
    // Ansible gives no host at all for these two; an error says why instead.
    expect(() => expandHostRange('w[3:1]')).toThrow("host range '[3:1]' runs backwards")
    expect(() => expandHostRange('w[0:99999]')).toThrow('too large')
  })

  it('expands a large padded range in order', () => {
    const hosts = expandHostRange('web[0001:1000].oslo')
    expect(hosts).toHaveLength(1000)
    expect([hosts[0], hosts[999]]).toEqual(['web0001.oslo', 'web1000.oslo'])
  })
})
