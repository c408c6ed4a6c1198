import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { secret } from '../../src/connection/quote.ts'
import { factKey } from '../../src/engine/facts.ts'
import { fileState, type FileState } from '../../src/facts/file.ts'
import { mountPoint, parseMountinfo, parseMountPoint, type MountPoint } from '../../src/facts/mount.ts'
import { ensureFstabEntry, parseFstab, removeFstabEntry, renderFstabEntry } from '../../src/modules/fstab.ts'
import { mountStep, type MountArgs } from '../../src/modules/mount.ts'
import { planWith, recorded } from '../support/plan-with.ts'

// /proc/self/mountinfo of a bookworm-systemd bed host with two tmpfs mounted (one at a path with a space), abridged.
const MOUNTINFO = [
  '2552 1526 0:2546 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w,uuid=on',
  '2583 2552 0:2551 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw',
  '2667 2552 254:0 /var/cache/repo /srv/havn-apt ro,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534',
  '1640 2552 0:2579 / /mnt/t rw,relatime - tmpfs tmpfs rw,size=16384k',
  '1641 2552 0:2580 / /mnt/a\\040b rw,relatime - tmpfs tmpfs\\040x rw,size=1024k',
  '',
].join('\n')

const BASE_FSTAB = '# UNCONFIGURED FSTAB FOR BASE SYSTEM\n'
const fstabFile = (content: string): FileState => ({
  kind: 'file', mode: 0o644, owner: 'root', group: 'root', uid: 0, gid: 0, size: Buffer.byteLength(content),
  sha256: createHash('sha256').update(content).digest('hex'), content,
})
const ABSENT_DIR: FileState = { kind: 'absent', parentIsDirectory: true, creator: { owner: 'root', group: 'root', umask: 0o022 } }
// A mounted tmpfs's root as fileState reads it (mode 1777).
const TMPFS_ROOT: FileState = { kind: 'directory', mode: 0o1777, owner: 'root', group: 'root', uid: 0, gid: 0 }
const PATH = '/mnt/havn-e2e'
const LINE = `tmpfs ${PATH} tmpfs size=16m 0 0`
const MOUNTED: MountPoint = { init: 'systemd', mount: { fstype: 'tmpfs', source: 'tmpfs', options: 'rw,relatime,size=16384k' } }

const facts = (fstab: string | FileState, point: MountPoint, dir: FileState = TMPFS_ROOT) => ({
  ...recorded(fileState, ['/etc/fstab'], typeof fstab === 'string' ? fstabFile(fstab) : fstab),
  ...recorded(mountPoint, [PATH], point),
  ...recorded(fileState, [PATH], dir),
})
const tmpfs = (state: MountArgs['state'], opts = 'size=16m'): MountArgs => ({ path: PATH, src: 'tmpfs', fstype: 'tmpfs', opts, state })

describe('fstab parsing and editing', () => {
  const text = [
    '# /etc/fstab: static file system information.',
    '#',
    'UUID=0a1b /               ext4    errors=remount-ro 0       1',
    '',
    '\t/dev/sdb1\t/srv/My\\040Files  vfat\tdefaults,uid=1000',
    'proc /proc proc',
    'broken-line',
    '# tmpfs /mnt/havn-e2e tmpfs size=1m 0 0',
  ].join('\n')

  it('reads entries across tabs and runs of spaces, skips comments, blank and short lines, decodes octal escapes, defaults the numbers', () => {
    expect(parseFstab(text)).toEqual([
      { src: 'UUID=0a1b', path: '/', fstype: 'ext4', opts: 'errors=remount-ro', dump: 0, passno: 1 },
      { src: '/dev/sdb1', path: '/srv/My Files', fstype: 'vfat', opts: 'defaults,uid=1000', dump: 0, passno: 0 },
      { src: 'proc', path: '/proc', fstype: 'proc', opts: 'defaults', dump: 0, passno: 0 },
    ])
  })

  it('writes an entry with escapes that read back the same', () => {
    const e = { src: '//nas/My Share', path: '/mnt/a b\\c', fstype: 'cifs', opts: 'ro', dump: 0, passno: 0 }
    expect(renderFstabEntry(e)).toBe('//nas/My\\040Share /mnt/a\\040b\\134c cifs ro 0 0')
    expect(parseFstab(renderFstabEntry(e))).toEqual([e])
  })

  it('appends a missing entry (adding the newline the file lacks), keeping every other byte', () => {
    expect(ensureFstabEntry(text, { src: 'tmpfs', path: PATH, fstype: 'tmpfs', opts: 'size=16m', dump: 0, passno: 0 })).toBe(`${text}\n${LINE}\n`)
  })

  it('rewrites only the entry that differs, drops later duplicates, and leaves an equal entry with other spacing alone', () => {
    const withEntry = `${text}\n${LINE.replaceAll(' ', '\t')}\n`
    const want = { src: 'tmpfs', path: PATH, fstype: 'tmpfs', opts: 'size=16m', dump: 0, passno: 0 }
    expect(ensureFstabEntry(withEntry, want)).toBe(withEntry)
    expect(ensureFstabEntry(withEntry, { ...want, opts: 'size=32m' })).toBe(`${text}\ntmpfs ${PATH} tmpfs size=32m 0 0\n`)
    expect(ensureFstabEntry(`${LINE}\nproc /proc proc defaults 0 0\n${LINE}\n`, want)).toBe(`${LINE}\nproc /proc proc defaults 0 0\n`)
  })

  it('removes every entry of a mount point, and returns the same text when there is none', () => {
    expect(removeFstabEntry(`a / ext4 defaults 0 1\n${LINE}\n# kept\n${LINE}`, PATH)).toBe('a / ext4 defaults 0 1\n# kept')
    expect(removeFstabEntry(text, PATH)).toBe(text)
  })
})

describe('mount facts', () => {
  it('finds the mount at a path in mountinfo, decoding escapes, options once each', () => {
    expect(parseMountinfo(MOUNTINFO, '/mnt/t')).toEqual({ source: 'tmpfs', fstype: 'tmpfs', options: 'rw,relatime,size=16384k' })
    expect(parseMountinfo(MOUNTINFO, '/mnt/a b')).toEqual({ source: 'tmpfs x', fstype: 'tmpfs', options: 'rw,relatime,size=1024k' })
    expect(parseMountinfo(MOUNTINFO, '/srv/havn-apt')).toEqual({ source: '/dev/vda', fstype: 'ext4', options: 'ro,relatime,discard,resv_strict,resuid=65534,resgid=65534' })
    expect(parseMountinfo(MOUNTINFO, '/mnt')).toBeUndefined()
  })

  it('takes the topmost of stacked mounts and skips optional fields', () => {
    const stacked = `${MOUNTINFO}1700 1640 0:2600 / /mnt/t rw,relatime shared:5 master:1 - tmpfs upper rw,size=8k\n`
    expect(parseMountinfo(stacked, '/mnt/t')).toEqual({ source: 'upper', fstype: 'tmpfs', options: 'rw,relatime,size=8k' })
  })

  it('reads the init system beside the table', () => {
    expect(parseMountPoint({ code: 0, stdout: `init=sysv\n--havn-mountinfo--\n${MOUNTINFO}`, stderr: '' }, '/mnt/t')).toEqual({ init: 'sysv', mount: { source: 'tmpfs', fstype: 'tmpfs', options: 'rw,relatime,size=16384k' } })
    expect(() => parseMountPoint({ code: 1, stdout: '', stderr: 'cat: /proc/self/mountinfo: No such file' }, '/mnt/t')).toThrow(/cannot read the mounts .*No such file/)
  })
})

describe('mount: planning from recorded facts', () => {
  it('mounted from nothing: creates the mount point, adds the entry, reloads systemd, mounts, and predicts all three', async () => {
    const plan = await planWith(mountStep(tmpfs('mounted')), facts(BASE_FSTAB, { init: 'systemd' }, ABSENT_DIR))
    expect(plan.changes).toEqual([
      { resource: `directory:${PATH}`, action: 'create' },
      { resource: 'file:/etc/fstab', action: 'update', field: 'content', before: BASE_FSTAB, after: `${BASE_FSTAB}${LINE}\n` },
      { resource: `mount:${PATH}`, action: 'update', field: 'state', before: 'unmounted', after: 'mounted' },
    ])
    expect(plan.commands).toHaveLength(1)
    expect(plan.commands![0]!.display).toBe(`mkdir ${PATH}; write /etc/fstab; systemctl daemon-reload; mount ${PATH}`)
    const script = plan.commands![0]!.script
    expect(script.indexOf('mkdir -p')).toBeLessThan(script.indexOf('mv -f'))
    expect(script.indexOf('mv -f')).toBeLessThan(script.indexOf('systemctl daemon-reload'))
    expect(script.indexOf('systemctl daemon-reload')).toBeLessThan(script.indexOf(`mount -- '${PATH}'`))
    expect(plan.commands![0]!.stdin).toBe(`${BASE_FSTAB}${LINE}\n`)
    const predicted = new Map(plan.predict?.map((p) => [p.key, p.value]))
    expect(predicted.get(factKey(mountPoint, [PATH]))).toEqual({ init: 'systemd', mount: { source: 'tmpfs', fstype: 'tmpfs', options: 'size=16m' } })
    expect(predicted.get(factKey(fileState, ['/etc/fstab']))).toMatchObject({ kind: 'file', content: `${BASE_FSTAB}${LINE}\n` })
    expect(predicted.get(factKey(fileState, [PATH]))).toMatchObject({ kind: 'directory' })
  })

  it('on a host without systemd, does not reload it', async () => {
    const plan = await planWith(mountStep(tmpfs('mounted')), facts(BASE_FSTAB, { init: 'sysv' }, ABSENT_DIR))
    expect(plan.commands![0]!.display).toBe(`mkdir ${PATH}; write /etc/fstab; mount ${PATH}`)
    expect(plan.commands![0]!.script).not.toContain('systemctl')
  })

  it('changes nothing when the entry is there and the file system is mounted from it', async () => {
    const plan = await planWith(mountStep(tmpfs('mounted')), facts(`${BASE_FSTAB}${LINE}\n`, MOUNTED))
    expect(plan).toEqual({ changes: [] })
  })

  it('remounts when the options changed, comparing the entry (the kernel writes size=16m as size=16384k)', async () => {
    const plan = await planWith(mountStep(tmpfs('mounted', 'size=32m')), facts(`${BASE_FSTAB}${LINE}\n`, MOUNTED))
    expect(plan.changes.map((c) => [c.resource, c.field, c.before, c.after])).toEqual([
      ['file:/etc/fstab', 'content', `${BASE_FSTAB}${LINE}\n`, `${BASE_FSTAB}tmpfs ${PATH} tmpfs size=32m 0 0\n`],
      [`mount:${PATH}`, 'options', 'size=16m', 'size=32m'],
    ])
    expect(plan.commands![0]!.display).toBe(`write /etc/fstab; systemctl daemon-reload; mount -o remount ${PATH}`)
    expect(new Map(plan.predict?.map((p) => [p.key, p.value])).get(factKey(mountPoint, [PATH]))).toEqual({ init: 'systemd', mount: { ...MOUNTED.mount, options: 'size=32m' } })
  })

  it('remounts a file system mounted by hand once its entry is added, showing the live options as before', async () => {
    const plan = await planWith(mountStep(tmpfs('mounted')), facts(BASE_FSTAB, MOUNTED))
    expect(plan.changes.at(-1)).toEqual({ resource: `mount:${PATH}`, action: 'update', field: 'options', before: 'rw,relatime,size=16384k', after: 'size=16m' })
  })

  it('unmounts and mounts again what is mounted from another source', async () => {
    const other: MountPoint = { init: 'sysv', mount: { fstype: 'tmpfs', source: 'scratch', options: 'rw' } }
    const plan = await planWith(mountStep(tmpfs('mounted')), facts(`${BASE_FSTAB}${LINE}\n`, other))
    expect(plan.changes).toEqual([{ resource: `mount:${PATH}`, action: 'update', field: 'source', before: 'tmpfs scratch', after: 'tmpfs tmpfs' }])
    expect(plan.commands![0]!.display).toBe(`umount ${PATH}; mount ${PATH}`)
  })

  it('takes a device named by tag or /dev path, and a bind mount, as the mounted source', async () => {
    const dev: MountPoint = { init: 'sysv', mount: { fstype: 'ext4', source: '/dev/vdb1', options: 'rw,relatime' } }
    for (const src of ['UUID=0a1b-22', '/dev/disk/by-label/data']) {
      const line = `${src} ${PATH} ext4 defaults 0 2\n`
      expect(await planWith(mountStep({ path: PATH, src, fstype: 'ext4', passno: 2, state: 'mounted' }), facts(line, dev))).toEqual({ changes: [] })
    }
    const bind = `/srv/data ${PATH} none bind 0 0\n`
    expect(await planWith(mountStep({ path: PATH, src: '/srv/data', fstype: 'none', opts: 'bind', state: 'mounted' }), facts(bind, dev))).toEqual({ changes: [] })
  })

  it('present writes only the entry, mounted or not', async () => {
    const plan = await planWith(mountStep(tmpfs('present')), facts(BASE_FSTAB, { init: 'sysv' }))
    expect(plan.changes.map((c) => c.resource)).toEqual(['file:/etc/fstab'])
    expect(plan.commands![0]!.display).toBe('write /etc/fstab')
    expect(await planWith(mountStep(tmpfs('present')), facts(`${BASE_FSTAB}${LINE}\n`, { init: 'sysv' }))).toEqual({ changes: [] })
  })

  it('unmounted unmounts and leaves fstab alone', async () => {
    const plan = await planWith(mountStep({ path: PATH, state: 'unmounted' }), facts(`${BASE_FSTAB}${LINE}\n`, MOUNTED))
    expect(plan.changes).toEqual([{ resource: `mount:${PATH}`, action: 'update', field: 'state', before: 'mounted', after: 'unmounted' }])
    expect(plan.commands![0]!.display).toBe(`umount ${PATH}`)
    expect(new Map(plan.predict?.map((p) => [p.key, p.value])).get(factKey(mountPoint, [PATH]))).toEqual({ init: 'systemd' })
    expect(await planWith(mountStep({ path: PATH, state: 'unmounted' }), facts(`${BASE_FSTAB}${LINE}\n`, { init: 'systemd' }))).toEqual({ changes: [] })
  })

  it('absent unmounts first, then removes the entry and reloads systemd; nothing when neither is there', async () => {
    const plan = await planWith(mountStep({ path: PATH, state: 'absent' }), facts(`${BASE_FSTAB}${LINE}\n`, MOUNTED))
    expect(plan.changes.map((c) => `${c.resource} ${c.field}`)).toEqual(['file:/etc/fstab content', `mount:${PATH} state`])
    expect(plan.commands![0]!.display).toBe(`umount ${PATH}; write /etc/fstab; systemctl daemon-reload`)
    expect(await planWith(mountStep({ path: PATH, state: 'absent' }), facts(BASE_FSTAB, { init: 'systemd' }))).toEqual({ changes: [] })
    expect(await planWith(mountStep({ path: PATH, state: 'absent' }), facts({ kind: 'absent', parentIsDirectory: true }, { init: 'sysv' }))).toEqual({ changes: [] })
  })

  it('keeps secret options out of changes and display, and sends the file as sensitive stdin', async () => {
    const args: MountArgs = { path: PATH, src: '//nas/share', fstype: 'cifs', opts: secret('username=u,password=hunter2'), state: 'mounted' }
    const plan = await planWith(mountStep(args), facts(`${BASE_FSTAB}//nas/share ${PATH} cifs username=u,password=old 0 0\n`, { init: 'sysv', mount: { fstype: 'cifs', source: '//nas/share', options: 'rw' } }))
    expect(plan.changes).toEqual([
      { resource: 'file:/etc/fstab', action: 'update', field: 'content', sensitive: true },
      { resource: `mount:${PATH}`, action: 'update', field: 'options', sensitive: true },
    ])
    expect(JSON.stringify(plan.changes) + plan.commands![0]!.display + plan.commands![0]!.script).not.toContain('hunter2')
    expect(plan.commands![0]!.sensitiveStdin).toBe(true)
    expect(plan.sensitiveValues?.[0]).toContain('hunter2')
  })

  it('edits another fstab with mount -T, without reloading systemd', async () => {
    const plan = await planWith(mountStep({ ...tmpfs('mounted'), fstab: '/etc/fstab.havn' }), {
      ...recorded(fileState, ['/etc/fstab.havn'], { kind: 'absent', parentIsDirectory: true, creator: { owner: 'root', group: 'root', umask: 0o022 } }),
      ...recorded(mountPoint, [PATH], { init: 'systemd' }),
      ...recorded(fileState, [PATH], TMPFS_ROOT),
    })
    expect(plan.commands![0]!.display).toBe(`write /etc/fstab.havn; mount ${PATH}`)
    expect(plan.commands![0]!.script).toContain(`mount -T '/etc/fstab.havn' -- '${PATH}'`)
  })

  it('refuses bad arguments and a symlinked mount point, naming the path', async () => {
    await expect(planWith(mountStep({ path: PATH, state: 'mounted' }), {})).rejects.toThrow(`mount ${PATH}: src and fstype are required for state mounted`)
    await expect(planWith(mountStep({ ...tmpfs('mounted'), opts: 'size=1m, mode=0755' }), {})).rejects.toThrow(/single words/)
    await expect(planWith(mountStep({ path: 'mnt/x', state: 'absent' }), {})).rejects.toThrow(/must be absolute/)
    await expect(planWith(mountStep({ path: '/', state: 'unmounted' }), {})).rejects.toThrow(/refusing to unmount \//)
    await expect(planWith(mountStep(tmpfs('mounted')), facts(BASE_FSTAB, { init: 'sysv' }, { kind: 'symlink', target: '/srv/x' }))).rejects.toThrow(`mount ${PATH}: the mount point is a symlink to /srv/x`)
  })
})
