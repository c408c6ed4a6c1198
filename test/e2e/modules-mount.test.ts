import { describe, expect, inject, it } from 'vitest'
import { events, havn } from './cli.ts'
import { ROLE_HOSTS } from './hosts.ts'
import { bedHosts, changeSet, failures, hostSh, hostsYaml, hostWrites, writeInventory } from './support.ts'

const bed = inject('testbed')
const ssh = ['--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts]
const PATH = '/mnt/havn-e2e'

describe.each(bedHosts(bed, ROLE_HOSTS.mount).map((h) => ({ host: h.name, kind: h.kind })))('mount on $kind ($host)', ({ host, kind }) => {
  it('mounts a tmpfs from a new fstab entry, remounts it when its size changes, and takes it away: check equals run, second runs change nothing', async () => {
    const inv = writeInventory({ 'hosts.yaml': hostsYaml(bedHosts(bed, [host])) })
    const common = ['test/e2e/playbooks/mount.ts', '-i', inv, ...ssh, '--output', 'json']
    const sh = (script: string) => hostSh(bed, host, script)
    const fstabBefore = await sh('cat /etc/fstab')
    const systemd = kind.endsWith('systemd')

    /** check (nothing written), run (the same changes), run again (nothing): the changes made. */
    const converge = async (env: Record<string, string>, checkWrites = true): Promise<string[]> => {
      const before = hostWrites(bed, host)
      const check = await havn(['check', ...common], { env })
      expect(failures(events(check.stdout)), check.stderr).toEqual([])
      expect(check.code).toBe(2)
      if (checkWrites) expect(hostWrites(bed, host)).toEqual(before)
      const run = await havn(['run', ...common], { env })
      expect(failures(events(run.stdout)), run.stderr + run.stdout).toEqual([])
      expect(run.code).toBe(0)
      const made = changeSet(events(run.stdout), ['changed'])
      expect(made).toEqual(changeSet(events(check.stdout), ['would-change', 'uncertain']))
      const again = await havn(['run', ...common], { env })
      expect(again.code, again.stderr).toBe(0)
      expect(changeSet(events(again.stdout), ['changed'])).toEqual([])
      return made
    }
    const findmnt = () => sh(`findmnt -n -o SOURCE,FSTYPE,OPTIONS --mountpoint ${PATH} || true`)
    // A mount systemd only saw in mountinfo has that as its source; after a reload, the unit comes from fstab.
    // With an fstab newer than its units, systemd flags the unit; a reload after each edit keeps it clear.
    const unitReloaded = async (source = '/etc/fstab') => {
      if (!systemd) return
      expect(await sh(`systemctl show -p NeedDaemonReload -p SourcePath "$(systemd-escape --path --suffix=mount ${PATH})" | sort`)).toBe(`NeedDaemonReload=no\nSourcePath=${source}\n`)
    }

    expect(await converge({})).toEqual([`${host} directory:${PATH} -`, `${host} file:/etc/fstab content`, `${host} mount:${PATH} state`])
    expect(await findmnt()).toMatch(/^tmpfs +tmpfs +rw,relatime,size=16384k,mode=755\n$/)
    expect(await sh('cat /etc/fstab')).toBe(`${fstabBefore}tmpfs ${PATH} tmpfs size=16m,mode=0755 0 0\n`)
    await unitReloaded()
    if (systemd) expect(await sh(`systemctl is-active "$(systemd-escape --path --suffix=mount ${PATH})"`)).toBe('active\n')

    expect(await converge({ HAVN_E2E_MOUNT_SIZE: '32m' })).toEqual([`${host} file:/etc/fstab content`, `${host} mount:${PATH} options`])
    expect(await findmnt()).toMatch(/^tmpfs +tmpfs +rw,relatime,size=32768k,mode=755\n$/)
    await unitReloaded()

    expect(await converge({ HAVN_E2E_MOUNT_STATE: 'absent', HAVN_E2E_MOUNT_SIZE: '32m' })).toEqual([`${host} file:/etc/fstab content`, `${host} mount:${PATH} state`])
    expect(await findmnt()).toBe('')
    expect(await sh('cat /etc/fstab')).toBe(fstabBefore)
    await unitReloaded('')
  })
})
