import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { hostExec } from '../testbed/index.ts'
import { writeEstateInventory, writeResticPassword } from '../testbed/estate.ts'
import { events, havn } from './cli.ts'
import { ROLE_HOSTS } from './hosts.ts'
import { hostWrites, changeSet } from './support.ts'

const bed = inject('testbed')
const hosts = [...ROLE_HOSTS.site]


describe('playbooks/site.ts on a bed shaped like the Oslo estate', () => {
  it('check predicts exactly what run changes, a second run changes nothing, and hosts never get Python', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'havn-site-'))
    const inventory = join(dir, 'inventory')
    const mapping = await writeEstateInventory(bed, hosts, inventory)
    expect(mapping.size).toBe(6)
    const passwordFile = join(dir, 'restic-password')
    await writeResticPassword(passwordFile)
    const env = { HAVN_RESTIC_PASSWORD_FILE: passwordFile }
    const args = (verb: string) => [verb, 'playbooks/site.ts', '-i', inventory, '--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts, '--output', 'json']

    const before = hosts.map((h) => hostWrites(bed, h))
    const check = await havn(args('check'), { env, timeoutMs: 300_000 })
    const checkEvents = events(check.stdout)
    expect(checkEvents.filter((e) => e.type === 'step:end' && e.status === 'failed'), check.stderr).toEqual([])
    expect(check.code).toBe(2)
    expect(hosts.map((h) => hostWrites(bed, h))).toEqual(before)

    const run = await havn(args('run'), { env, timeoutMs: 600_000 })
    const runEvents = events(run.stdout)
    expect(runEvents.filter((e) => e.type === 'step:end' && e.status === 'failed'), run.stderr).toEqual([])
    expect(run.code).toBe(0)
    expect(changeSet(runEvents, ['changed'])).toEqual(changeSet(checkEvents, ['would-change', 'uncertain']))

    const again = await havn(args('run'), { env, timeoutMs: 300_000 })
    expect(again.code).toBe(0)
    expect(changeSet(events(again.stdout), ['changed', 'would-change', 'uncertain'])).toEqual([])

    // The mesh works end to end: every spoke reaches the hub over the tunnel.
    for (const estate of ['oslo-pg1', 'oslo-db1', 'oslo-edge1', 'oslo-app1', 'burst-fra1']) {
      const res = await hostExec(bed, mapping.get(estate)!, 'ping -c 1 -W 5 10.10.0.1')
      expect(res.code, `${estate} pings the hub: ${res.stdout}${res.stderr}`).toBe(0)
    }
    for (const h of hosts) expect((await hostExec(bed, h, 'command -v python3 python || true')).stdout.trim(), `${h} has no Python`).toBe('')
  })
})
