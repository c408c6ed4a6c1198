import { describe, expect, inject, it } from 'vitest'
import { havn } from './cli.ts'
import { bedHosts, hostNames, hostsYaml, writeInventory } from './support.ts'

const bed = inject('testbed')

describe('--output line', () => {
  it('prefixes every line with its host and keeps each step block contiguous across 10 parallel hosts', async () => {
    const hosts = hostNames(1, 10)
    const inv = writeInventory({ 'hosts.yaml': hostsYaml(bedHosts(bed, hosts)) })
    const res = await havn(['run', 'test/e2e/playbooks/multiline.ts', '-i', inv, '--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts, '--output', 'line'])
    expect(res.code).toBe(0)
    const lines = res.stdout.split('\n').filter((l) => l !== '')
    const headers = /^(RUN|PLAY|BATCH|RECAP|STOPPED) /
    const recapAt = lines.findIndex((l) => l.startsWith('RECAP '))
    for (const l of lines.slice(0, recapAt)) {
      if (headers.test(l)) continue
      expect(l).toMatch(/^host\d+ +\| /)
    }
    for (const h of hosts) {
      for (const step of ['first', 'second']) {
        const at = lines.findIndex((l) => new RegExp(`^${h} +\\| changed +${step} block$`).test(l))
        expect(at, `${h} ${step} block header`).toBeGreaterThanOrEqual(0)
        const block = lines.slice(at + 1, at + 6)
        expect(block).toEqual([1, 2, 3, 4, 5].map((i) => `${h.padEnd(6)} |   ${h} ${step} ${i}`))
      }
    }
  })
})
