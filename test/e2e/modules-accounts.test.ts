import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { events, havn } from './cli.ts'
import { ROLE_HOSTS } from './hosts.ts'
import { bedHosts, changeSet, failures, hostSh, hostsYaml, hostWrites, writeInventory } from './support.ts'

const bed = inject('testbed')
const ssh = ['--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts]

describe.each(bedHosts(bed, ROLE_HOSTS.accounts).map((h) => ({ host: h.name, kind: h.kind })))('group, user, authorizedKey and cron on $kind ($host)', ({ host }) => {
  it('check predicts exactly what run makes, a second run changes nothing, the new account logs in with its key, and cron has its entries, in /etc/cron.d and in the account\'s own crontab', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'havn-accounts-'))
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'havn-ops@e2e', '-f', join(dir, 'ops')])
    const opsKey = readFileSync(join(dir, 'ops.pub'), 'utf8').trim()
    const inv = writeInventory({ 'hosts.yaml': hostsYaml(bedHosts(bed, [host]), () => `opsKey: ${JSON.stringify(opsKey)}`) })
    const common = ['test/e2e/playbooks/accounts-cron.ts', '-i', inv, ...ssh, '--output', 'json']

    const before = hostWrites(bed, host)
    const check = await havn(['check', ...common])
    const checkEvents = events(check.stdout)
    expect(failures(checkEvents), check.stderr).toEqual([])
    expect(check.code).toBe(2)
    expect(hostWrites(bed, host)).toEqual(before)

    const run = await havn(['run', ...common])
    const runEvents = events(run.stdout)
    expect(failures(runEvents), run.stderr).toEqual([])
    expect(run.code).toBe(0)
    expect(changeSet(runEvents, ['changed'])).toEqual(changeSet(checkEvents, ['would-change', 'uncertain']))
    const again = await havn(['run', ...common])
    expect(again.code).toBe(0)
    expect(changeSet(events(again.stdout), ['changed'])).toEqual([])

    const sh = (script: string) => hostSh(bed, host, script)
    expect(await sh('getent group backup-ops | cut -d: -f1,3; id -gn havn-ops')).toBe('backup-ops:2500\nbackup-ops\n')
    expect(await sh("stat -c '%a %U %G' /home/havn-ops/.ssh /home/havn-ops/.ssh/authorized_keys; cat /home/havn-ops/.ssh/authorized_keys")).toBe(`700 havn-ops backup-ops\n600 havn-ops backup-ops\nno-port-forwarding ${opsKey}\n`)
    expect(await sh("stat -c '%a %U' /etc/cron.d/havn-e2e-tick; cat /etc/cron.d/havn-e2e-tick")).toBe('644 root\n# Managed by havn: cron entry havn-e2e-tick\nMAILTO=\n*/5 * * * * havn-ops date >> /tmp/havn-e2e-tick\n')
    expect(await sh('crontab -u havn-ops -l')).toBe('# havn: havn-e2e-own\n@hourly date >> /tmp/havn-e2e-own\n')

    // sshd takes the key: the account logs in with it. The bed's sshd runs without PAM, and then
    // refuses a locked password ('!', useradd's default) even for keys; Debian's default (UsePAM yes) does not.
    await sh("usermod -p '*' havn-ops")
    const login = writeInventory({ 'hosts.yaml': hostsYaml(bedHosts(bed, [host]), () => 'user: havn-ops') })
    const id = await havn(['exec', 'all', '-i', login, '--ssh-config', bed.sshConfig, '--identity', join(dir, 'ops'), '--known-hosts', bed.knownHosts, '--output', 'line', '--', 'id -un; id -gn'])
    expect(id.code, id.stderr + id.stdout).toBe(0)
    expect(id.stdout).toMatch(new RegExp(`^${host} +\\| +havn-ops$`, 'm'))
    expect(id.stdout).toMatch(new RegExp(`^${host} +\\| +backup-ops$`, 'm'))
  })
})
