import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { restartHost } from '../testbed/index.ts'
import { events, havn } from './cli.ts'
import { BED_HOSTS } from './hosts.ts'
import { bedHosts, hostNames, hostsYaml, writeInventory } from './support.ts'

const bed = inject('testbed')
// Every bed host; the playbook only reads the host name.
const HOSTS = hostNames(1, BED_HOSTS)

/** A recap without timings, for comparing runs. */
function counts(recap: Record<string, Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(recap).map(([h, r]) => [h, { ...r, durationMs: 0 }]))
}

describe('shards across machines', () => {
  // cli-basics may have stopped host21 already (files run in no fixed order); booting it again is harmless to both.
  beforeAll(() => restartHost(bed, 'host21'))
  it(`${HOSTS.length} hosts in 4 shard processes: every host runs exactly once, and havn recap equals a single run`, async () => {
    const inv = writeInventory({ 'hosts.yaml': hostsYaml(bedHosts(bed, HOSTS)) })
    const common = ['run', 'test/e2e/playbooks/hostname.ts', '-i', inv, '--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts, '--output', 'json']
    const single = await havn(common)
    expect(single.code, single.stderr).toBe(0)
    const whole = events(single.stdout).at(-1)!

    const shards = await Promise.all([1, 2, 3, 4].map((k) => havn([...common, '--shard', `${k}/4`])))
    const dir = mkdtempSync(join(tmpdir(), 'havn-shards-'))
    const files = shards.map((res, i) => {
      expect(res.code, res.stderr).toBe(0)
      const file = join(dir, `shard-${i + 1}.ndjson`)
      writeFileSync(file, res.stdout)
      return file
    })
    const ran = shards.map((res) => Object.keys(events(res.stdout).at(-1)!.hosts))
    expect(ran.flat().sort()).toEqual([...HOSTS].sort())
    expect(new Set(ran.flat()).size).toBe(HOSTS.length)
    for (const part of ran) expect(Math.abs(part.length - HOSTS.length / 4)).toBeLessThanOrEqual(1)

    const merged = await havn(['recap', ...files, '--output', 'json'])
    expect(merged.code, merged.stderr).toBe(single.code)
    const recap = events(merged.stdout).at(-1)!
    expect(recap.mode).toBe(whole.mode)
    expect(counts(recap.hosts)).toEqual(counts(whole.hosts))
    const text = await havn(['recap', ...files, '--output', 'line'])
    expect(text.stdout).toMatch(/^RECAP \(apply, /m)
    expect(text.stdout.split('\n').filter((l) => /^host\d+ +: ok=/.test(l))).toHaveLength(HOSTS.length)

    // The same shard twice is a host run twice: invalid input, naming both files.
    const twice = await havn(['recap', files[0]!, files[0]!])
    expect(twice.code).toBe(4)
    expect(twice.stderr).toContain(`is also in ${files[0]}; each host must run in exactly one shard`)
  })

  it('a saved plan keeps its shard: 4 shard plans applied at once each check and apply only their own hosts, so none meets another\'s lock', async () => {
    const inv = writeInventory({ 'hosts.yaml': hostsYaml(bedHosts(bed, HOSTS)) })
    const dir = mkdtempSync(join(tmpdir(), 'havn-shard-plans-'))
    const env = { HAVN_PLAN_KEY_FILE: join(dir, 'plan-key') }
    const ssh = ['-i', inv, '--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts, '--output', 'json']
    const plans = [1, 2, 3, 4].map((k) => join(dir, `plan-${k}.json`))
    const checks = await Promise.all(plans.map((out, i) => havn(['check', 'test/e2e/playbooks/hostname.ts', ...ssh, '--shard', `${i + 1}/4`, '--out', out], { env })))
    for (const c of checks) expect(c.code, c.stderr).toBeLessThanOrEqual(2)
    const options = plans.map((p) => (JSON.parse(readFileSync(p, 'utf8')) as { options: { shard?: string } }).options.shard)
    expect(options).toEqual(['1/4', '2/4', '3/4', '4/4'])
    const applied = await Promise.all(plans.map((p) => havn(['apply', p, '--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts, '--output', 'json'], { env })))
    const parts = applied.map((res) => {
      expect(res.code, res.stderr + res.stdout.slice(-1500)).toBe(0)
      return Object.keys(events(res.stdout).at(-1)!.hosts).sort()
    })
    expect(parts.map((p, i) => [i, p])).toEqual(checks.map((c, i) => [i, Object.keys(events(c.stdout).at(-1)!.hosts).sort()]))
    expect(parts.flat().sort()).toEqual([...HOSTS].sort())
  })
})
