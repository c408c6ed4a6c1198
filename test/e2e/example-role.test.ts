import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { GATEWAY_SUFFIX, SUBNET } from '../testbed/layout.ts'
import { events, havn } from './cli.ts'
import { ROLE_HOSTS } from './hosts.ts'
import { bedHosts, changeSet, checkThenRun, hostSh, hostsYaml, writeInventory } from './support.ts'

const bed = inject('testbed')
const ssh = ['--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts]

describe('the example role (playbooks/examples/ops-baseline)', () => {
  it('builds an ops host from nine modules: check predicts the run exactly, a second run changes nothing, and the tools and the report work', async () => {
    const [host] = ROLE_HOSTS.example
    const dir = mkdtempSync(join(tmpdir(), 'havn-example-'))
    // A tools bundle as a release would ship it: one top folder.
    mkdirSync(join(dir, 'ops-tools-1.0', 'bin'), { recursive: true })
    writeFileSync(join(dir, 'ops-tools-1.0', 'bin', 'hello'), '#!/bin/sh\necho "hello from ops-tools 1.0"\n', { mode: 0o755 })
    execFileSync('tar', ['-czf', join(dir, 'tools.tar.gz'), '-C', dir, 'ops-tools-1.0'])
    const bundle = readFileSync(join(dir, 'tools.tar.gz'))
    const sha256 = createHash('sha256').update(bundle).digest('hex')
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ops@example', '-f', join(dir, 'ops')])
    const opsKey = readFileSync(join(dir, 'ops.pub'), 'utf8').trim()

    let requests = 0
    const server = createServer((_req, res) => {
      requests++
      res.end(bundle)
    })
    // The controller's address on the bed's bridge, which the hosts reach.
    const gateway = `${SUBNET}.${GATEWAY_SUFFIX}`
    await new Promise<void>((resolve) => server.listen(0, gateway, resolve))
    try {
      const addr = server.address()
      if (addr === null || typeof addr === 'string') throw new Error('server has no port')
      const inv = writeInventory({
        'hosts.yaml': hostsYaml(bedHosts(bed, [host!])),
        'group_vars/all.yaml': [
          `opsKeys: [${JSON.stringify(opsKey)}]`,
          'contact: oncall-oslo',
          'watchPaths: [/, /var]',
          'diskWarnPercent: 99',
          `tools: { url: "http://${gateway}:${addr.port}/ops-tools-1.0.tar.gz", sha256: ${sha256} }`,
          '',
        ].join('\n'),
      })
      const common = ['playbooks/ops.ts', '-i', inv, ...ssh, '--output', 'json']

      const { run } = await checkThenRun(bed, [host!], common)
      const changedSteps = run.filter((e) => e.type === 'step:end' && e.status === 'changed').map((e) => String(e.step))
      expect(changedSteps).toEqual([
        'group ops', 'user ops', 'authorized key of ops', 'packages present cron',
        'download /var/cache/ops-tools.tar.gz', 'unarchive /opt/ops-tools',
        'copy /usr/local/lib/ops/bin', 'directory /etc/ops', 'template /etc/ops/ops.conf', 'cron ops-report',
      ])

      const fetched = requests
      const again = await havn(['run', ...common])
      expect(again.code, again.stderr).toBe(0)
      expect(changeSet(events(again.stdout), ['changed'])).toEqual([])
      // The archive on the host has the sum: nothing is fetched again.
      expect(requests).toBe(fetched)

      const sh = (script: string) => hostSh(bed, host!, script)
      expect(await sh('/opt/ops-tools/bin/hello; stat -c "%a %U %G" /opt/ops-tools/bin/hello')).toBe('hello from ops-tools 1.0\n750 root ops\n')
      expect(await sh('cat /etc/ops/ops.conf')).toBe(`# Managed by havn (ops-baseline); local edits are replaced.\n# Settings of the ops tools on ${host}.\ncontact = oncall-oslo\ndisk_warn_percent = 99\nwatch = /\nwatch = /var\ntools = /opt/ops-tools\n`)
      expect(await sh('su -s /bin/sh ops -c /usr/local/lib/ops/bin/ops-report | tail -n 1')).toBe('status ok; contact oncall-oslo\n')
      expect(await sh('cat /home/ops/.ssh/authorized_keys; id -gn ops')).toBe(`${opsKey}\nops\n`)
      expect(await sh('cat /etc/cron.d/ops-report')).toBe('# Managed by havn: cron entry ops-report\nMAILTO=\n15 7 * * * ops /usr/local/lib/ops/bin/ops-report >> /home/ops/report.log 2>&1\n')
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
