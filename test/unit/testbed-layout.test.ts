import { describe, expect, it } from 'vitest'
import { bedNames, hostAddress } from '../testbed/layout.ts'

describe('hostAddress', () => {
  it('numbers hosts from .0.11 and skips .0/.255 last octets', () => {
    expect(hostAddress('10.213', 1)).toBe('10.213.0.11')
    expect(hostAddress('10.213', 244)).toBe('10.213.0.254')
    expect(hostAddress('10.213', 245)).toBe('10.213.1.1')
    const all = Array.from({ length: 2000 }, (_, i) => hostAddress('10.213', i + 1))
    expect(new Set(all).size).toBe(2000)
    for (const a of all) expect(a).toMatch(/^10\.213\.\d+\.([1-9]\d?|1\d\d|2[0-4]\d|25[0-4])$/)
  })
  it('rejects indexes that are not positive integers', () => {
    expect(() => hostAddress('10.213', 0)).toThrow(/positive integer/)
    expect(() => hostAddress('10.213', 1.5)).toThrow(/positive integer/)
  })
})

describe('bedNames', () => {
  it('keeps interface names within the kernel limit of 15 characters even for 1000 hosts', () => {
    const names = bedNames('/srv/checkout/.testbed')
    for (const n of [names.bridge, names.hiddenBridge, names.jumpVeth, names.veth('h', 1000), names.veth('j', 1000)]) {
      expect(n.length).toBeLessThanOrEqual(15)
    }
  })
  it('gives different beds different names', () => {
    expect(bedNames('/a/.testbed').bridge).not.toBe(bedNames('/b/.testbed').bridge)
    expect(bedNames('/a/.testbed').netns('host1')).toMatch(/^havn-[0-9a-f]{4}-host1$/)
  })
})
