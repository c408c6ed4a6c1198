import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { hostExec } from '../testbed/index.ts'
import { writeEstateInventory, writeResticPassword } from '../testbed/estate.ts'
import { events, havn } from './cli.ts'
import { ROLE_HOSTS } from './hosts.ts'
import { bedHosts, hostWrites, changeSet } from './support.ts'

const bed = inject('testbed')
const hosts = [...ROLE_HOSTS.site]
/** The units the site's roles run or schedule. */
const ROLE_UNITS = /^(postgresql|mariadb|mysql|haproxy|wg-quick@|havn-restic-backup)/


describe('playbooks/site.ts on a bed shaped like the Oslo estate', () => {
  it('on a mixed estate (bookworm sysv, bookworm and trixie systemd): check predicts exactly what run changes, a second run and check change nothing, services run, no Python', async () => {
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
    const recheck = await havn(args('check'), { env, timeoutMs: 300_000 })
    expect(recheck.code, recheck.stderr).toBe(0)

    // The estate mixes kinds; on systemd hosts no unit the roles touched is left failed, and the
    // services run under systemd.
    const kinds = new Set(bedHosts(bed, hosts).map((h) => h.kind))
    expect(kinds).toEqual(new Set(['bookworm-sysv', 'bookworm-systemd', 'trixie-systemd']))
    for (const h of bedHosts(bed, hosts).filter((x) => x.kind.endsWith('-systemd'))) {
      const failed = (await hostExec(bed, h.name, 'systemctl --failed --no-legend --plain')).stdout.split('\n').filter((l) => ROLE_UNITS.test(l))
      expect(failed, `${h.name} (${h.kind}) failed units`).toEqual([])
    }
    // The database hosts are the estate's backup hosts: their backups are scheduled by the systemd timer.
    const units: Record<string, string> = { 'oslo-pg1': 'postgresql.service havn-restic-backup.timer', 'oslo-db1': 'mariadb.service havn-restic-backup.timer', 'oslo-edge1': 'haproxy.service' }
    for (const [estate, list] of Object.entries(units)) {
      const res = await hostExec(bed, mapping.get(estate)!, `systemctl is-active ${list}`)
      expect(res.stdout, `${estate}: ${list}`).toBe(list.split(' ').map(() => 'active\n').join(''))
    }

    // The mesh works end to end: every spoke reaches the hub over the tunnel.
    for (const estate of ['oslo-pg1', 'oslo-db1', 'oslo-edge1', 'oslo-app1', 'burst-fra1']) {
      const res = await hostExec(bed, mapping.get(estate)!, 'ping -c 1 -W 5 10.10.0.1')
      expect(res.code, `${estate} pings the hub: ${res.stdout}${res.stderr}`).toBe(0)
    }
    for (const h of hosts) expect((await hostExec(bed, h, 'command -v python3 python || true')).stdout.trim(), `${h} has no Python`).toBe('')
  })
})
