import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { events, havn } from './cli.ts'
import { ROLE_HOSTS } from './hosts.ts'
import { bedHosts, changeSet, failures, hostSh, hostsYaml, hostWrites, writeInventory } from './support.ts'

const bed = inject('testbed')
const ssh = ['--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts]

describe('copy over SSH', () => {
  it('copies a tree with a 64 MiB file (streamed, as root and through sudo): check equals run, a second run sends nothing, delete removes strays', async () => {
    const src = mkdtempSync(join(tmpdir(), 'havn-copy-src-'))
    mkdirSync(join(src, 'conf.d'))
    writeFileSync(join(src, 'app.conf'), 'port = 8080\n')
    writeFileSync(join(src, 'conf.d', 'tuning.conf'), 'workers = 4\n')
    const chunk = randomBytes(1 << 20)
    for (let i = 0; i < 64; i++) writeFileSync(join(src, 'image.bin'), chunk, { flag: i === 0 ? 'w' : 'a' })
    const imageSum = createHash('sha256').update(readFileSync(join(src, 'image.bin'))).digest('hex')
    const [asRoot, viaSudo] = ROLE_HOSTS.copy
    const inv = writeInventory({ 'hosts.yaml': hostsYaml(bedHosts(bed, [asRoot!, viaSudo!]), (h) => (h === viaSudo ? 'user: deploy, ansible_become: true' : '')) })
    const env = { HAVN_E2E_SRC: src }
    const common = ['test/e2e/playbooks/copy-tree.ts', '-i', inv, ...ssh, '--become-password-file', bed.becomePasswordFile, '--output', 'json']

    const before = [asRoot!, viaSudo!].map((h) => hostWrites(bed, h))
    const check = await havn(['check', ...common], { env })
    expect(failures(events(check.stdout)), check.stderr).toEqual([])
    expect(check.code).toBe(2)
    expect([asRoot!, viaSudo!].map((h) => hostWrites(bed, h))).toEqual(before)
    const run = await havn(['run', ...common], { env })
    expect(failures(events(run.stdout)), run.stderr).toEqual([])
    expect(run.code).toBe(0)
    expect(changeSet(events(run.stdout), ['changed'])).toEqual(changeSet(events(check.stdout), ['would-change', 'uncertain']))
    for (const h of [asRoot!, viaSudo!]) {
      expect(await hostSh(bed, h, 'cd /srv/havn-copy && sha256sum image.bin | cut -d" " -f1 && cat app.conf conf.d/tuning.conf && stat -c "%U %G" image.bin')).toBe(`${imageSum}\nport = 8080\nworkers = 4\nroot root\n`)
    }
    const again = await havn(['run', ...common], { env })
    expect(again.code).toBe(0)
    expect(changeSet(events(again.stdout), ['changed'])).toEqual([])

    writeFileSync(join(src, 'app.conf'), 'port = 9090\n')
    for (const h of [asRoot!, viaSudo!]) await hostSh(bed, h, 'echo stray > /srv/havn-copy/stray.conf')
    const pruned = await havn(['run', ...common], { env: { ...env, HAVN_E2E_DELETE: '1' } })
    expect(pruned.code, pruned.stderr).toBe(0)
    expect(changeSet(events(pruned.stdout), ['changed']).filter((c) => c.startsWith(`${asRoot} `))).toEqual([
      `${asRoot} file:/srv/havn-copy/app.conf content`,
      `${asRoot} file:/srv/havn-copy/stray.conf -`,
    ])
    for (const h of [asRoot!, viaSudo!]) expect(await hostSh(bed, h, 'ls -A /srv/havn-copy; cat /srv/havn-copy/app.conf')).toBe('app.conf\nconf.d\nimage.bin\nport = 9090\n')
  })
})
