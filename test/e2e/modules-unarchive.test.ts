import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { events, havn } from './cli.ts'
import { ROLE_HOSTS } from './hosts.ts'
import { bedHosts, changeSet, checkThenRun, failures, hostSh, hostsYaml, writeInventory } from './support.ts'

const bed = inject('testbed')
const ssh = ['--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts]
const [host] = ROLE_HOSTS.unarchive

/** Packs `app-1.0/{bin/run, conf/app.conf}` as app.tar.gz and app.zip in `dir`. */
function pack(dir: string, conf: string): void {
  mkdirSync(join(dir, 'src', 'app-1.0', 'bin'), { recursive: true })
  mkdirSync(join(dir, 'src', 'app-1.0', 'conf'), { recursive: true })
  writeFileSync(join(dir, 'src', 'app-1.0', 'bin', 'run'), '#!/bin/sh\necho run\n', { mode: 0o755 })
  writeFileSync(join(dir, 'src', 'app-1.0', 'conf', 'app.conf'), conf)
  execFileSync('tar', ['-czf', join(dir, 'app.tar.gz'), 'app-1.0'], { cwd: join(dir, 'src') })
  // A fresh zip: updating one in place (-FS) keeps an entry whose size and 2-second DOS time did not change.
  rmSync(join(dir, 'app.zip'), { force: true })
  execFileSync('zip', ['-qr', join(dir, 'app.zip'), 'app-1.0'], { cwd: join(dir, 'src') })
}

describe('unarchive over SSH', () => {
  it('extracts a tar.gz and a zip from the controller and a tar.gz on the host: check equals run, a second run changes nothing, a changed archive is extracted again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'havn-unarchive-'))
    pack(dir, 'port = 8080\n')
    const inv = writeInventory({ 'hosts.yaml': hostsYaml(bedHosts(bed, [host])) })
    const env = { HAVN_E2E_TGZ: join(dir, 'app.tar.gz'), HAVN_E2E_ZIP: join(dir, 'app.zip') }
    const common = ['test/e2e/playbooks/unarchive.ts', '-i', inv, ...ssh, '--output', 'json']

    const { run } = await checkThenRun(bed, [host], common, env)
    expect(changeSet(run, ['changed']).filter((c) => c.endsWith(' extracted'))).toEqual([
      `${host} directory:/srv/havn-unarchive extracted`,
      `${host} directory:/srv/havn-unarchive/tgz extracted`,
      `${host} directory:/srv/havn-unarchive/zip extracted`,
    ])
    const again = await havn(['run', ...common], { env })
    expect(again.code).toBe(0)
    expect(changeSet(events(again.stdout), ['changed'])).toEqual([])

    const sh = (script: string) => hostSh(bed, host, script)
    expect(await sh("cd /srv/havn-unarchive/tgz && find . | sort && stat -c '%a %U %G' bin/run && cat conf/app.conf")).toBe(
      '.\n./.havn-unarchive-app.tar.gz\n./bin\n./bin/run\n./conf\n./conf/app.conf\n755 daemon daemon\nport = 8080\n',
    )
    expect(await sh('cd /srv/havn-unarchive/zip && find . | sort && cat app-1.0/conf/app.conf && ./app-1.0/bin/run')).toBe(
      '.\n./.havn-unarchive-app.zip\n./app-1.0\n./app-1.0/bin\n./app-1.0/bin/run\n./app-1.0/conf\n./app-1.0/conf/app.conf\nport = 8080\nrun\n',
    )
    expect(await sh("stat -c '%U' /srv/havn-unarchive/app-1.0/conf/app.conf; cat /srv/havn-unarchive/app-1.0/conf/app.conf; ls -A /srv/havn-unarchive")).toBe(
      'root\nport = 8080\n.havn-unarchive-app.tar.gz\napp-1.0\ntgz\nzip\n',
    )

    pack(dir, 'port = 9090\n')
    const changed = await havn(['run', ...common], { env })
    expect(failures(events(changed.stdout)), changed.stderr).toEqual([])
    expect(changeSet(events(changed.stdout), ['changed'])).toEqual([
      `${host} directory:/srv/havn-unarchive extracted`,
      `${host} directory:/srv/havn-unarchive/tgz extracted`,
      `${host} directory:/srv/havn-unarchive/zip extracted`,
      `${host} file:/root/app.tar.gz content`,
    ])
    expect(await sh('cat /srv/havn-unarchive/tgz/conf/app.conf /srv/havn-unarchive/zip/app-1.0/conf/app.conf /srv/havn-unarchive/app-1.0/conf/app.conf')).toBe('port = 9090\n'.repeat(3))
  })
})
