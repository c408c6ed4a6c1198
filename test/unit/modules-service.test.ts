import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CommandFailedError } from '../../src/connection/errors.ts'
import type { Remote } from '../../src/engine/context.ts'
import { factKey } from '../../src/engine/facts.ts'
import { pendingInstalls } from '../../src/facts/packages.ts'
import { parseServiceStatus, serviceStatus } from '../../src/facts/service.ts'
import { serviceStep, type ServiceArgs } from '../../src/modules/service.ts'
import { installFakeCommands, remoteWithFakes } from '../support/local-remote.ts'
import { planWith, recorded, applyPlan } from '../support/plan-with.ts'

// Captured on the havn test bed (Debian 12, init scripts): see facts-service.test.ts.
const notInstalled = parseServiceStatus('init=sysv\nexists=no\n')
const running = parseServiceStatus(
  'init=sysv\nexists=yes\nstatus=0\nstart-link=/etc/rc2.d/S01haproxy\nstart-link=/etc/rc3.d/S01haproxy\nstart-link=/etc/rc4.d/S01haproxy\nstart-link=/etc/rc5.d/S01haproxy\nlink=/etc/rc0.d/K01haproxy\nlink=/etc/rc1.d/K01haproxy\nlink=/etc/rc2.d/S01haproxy\nlink=/etc/rc3.d/S01haproxy\nlink=/etc/rc4.d/S01haproxy\nlink=/etc/rc5.d/S01haproxy\nlink=/etc/rc6.d/K01haproxy\n',
)
const stopped = { ...running, running: false }
const disabledStopped = parseServiceStatus('init=sysv\nexists=yes\nstatus=3\nlink=/etc/rc2.d/K01cron\nlink=/etc/rc3.d/K01cron\nlink=/etc/rc4.d/K01cron\nlink=/etc/rc5.d/K01cron\n')
// systemd values as `systemctl show` prints them (live proofs: test/e2e/systemd-hosts.test.ts).
const sdStopped = parseServiceStatus('init=systemd\nLoadState=loaded\nActiveState=inactive\nUnitFileState=disabled\nIsEnabled=disabled\n')
const sdStatic = parseServiceStatus('init=systemd\nLoadState=loaded\nActiveState=active\nUnitFileState=static\nIsEnabled=static\n')

const plan = (args: ServiceArgs, value: typeof running, pending: string[] = []) =>
  planWith(serviceStep(args), { ...recorded(serviceStatus, [args.name.replace(/\.service$/, '')], value), ...recorded(pendingInstalls, [], pending) })

describe('service planning', () => {
  it('changes nothing for a running, enabled service asked to be started and enabled', async () => {
    const p = await plan({ name: 'haproxy', state: 'started', enabled: true }, running)
    expect(p.changes).toEqual([])
    expect(p.commands).toBeUndefined()
    expect((await plan({ name: 'cron', state: 'stopped', enabled: false }, disabledStopped)).changes).toEqual([])
  })

  it('starts a stopped service and predicts it running', async () => {
    const p = await plan({ name: 'haproxy', state: 'started' }, stopped)
    expect(p.changes).toEqual([{ resource: 'service:haproxy', action: 'update', field: 'state', before: 'stopped', after: 'running' }])
    expect(p.predict).toEqual([{ key: factKey(serviceStatus, ['haproxy']), value: { ...stopped, running: true } }])
  })

  it('stops a running service; enables with update-rc.d enable when links exist, defaults when none', async () => {
    const stop = await plan({ name: 'haproxy', state: 'stopped', enabled: false }, running)
    expect(stop.changes).toEqual([
      { resource: 'service:haproxy', action: 'update', field: 'enabled', before: 'true', after: 'false' },
      { resource: 'service:haproxy', action: 'update', field: 'state', before: 'running', after: 'stopped' },
    ])
    const enable = await plan({ name: 'cron', enabled: true }, disabledStopped)
    expect(enable.changes).toEqual([{ resource: 'service:cron', action: 'update', field: 'enabled', before: 'false', after: 'true' }])
    const calls: string[] = []
    const rec: Remote = { host: 'h1', exec: async (s, o) => (calls.push(o?.display ?? ''), { code: 0, stdout: '', stderr: '' }) }
    await applyPlan(enable, rec)
    const noLinks = await plan({ name: 'cron', enabled: true }, { ...disabledStopped, hasLinks: false })
    await applyPlan(noLinks, rec)
    expect(calls).toEqual(['update-rc.d cron enable', 'update-rc.d cron defaults'])
  })

  it('always changes for restarted and reloaded, and starts instead of reloading a stopped service', async () => {
    const r = await plan({ name: 'haproxy', state: 'restarted' }, running)
    expect(r.changes).toEqual([{ resource: 'service:haproxy', action: 'update', field: 'state', before: 'running', after: 'restarted' }])
    const calls: string[] = []
    const rec: Remote = { host: 'h1', exec: async (s, o) => (calls.push(o?.display ?? ''), { code: 0, stdout: '', stderr: '' }) }
    await applyPlan(await plan({ name: 'haproxy', state: 'reloaded' }, running), rec)
    await applyPlan(await plan({ name: 'haproxy', state: 'reloaded' }, stopped), rec)
    expect(calls).toEqual(['service haproxy reload', 'service haproxy start'])
  })

  it('reports a service that is not installed as missing, with the changes it would make', async () => {
    const p = await plan({ name: 'haproxy', state: 'started', enabled: true }, notInstalled)
    expect(p.missing).toBe('service haproxy is not installed')
    expect(p.changes).toEqual([
      { resource: 'service:haproxy', action: 'update', field: 'enabled', before: '(not installed)', after: 'true' },
      { resource: 'service:haproxy', action: 'update', field: 'state', before: '(not installed)', after: 'running' },
    ])
    expect((await plan({ name: 'haproxy' }, notInstalled)).changes).toEqual([])
  })

  it('plans a service an install pending in this run brings as Debian leaves it: started and enabled', async () => {
    const p = await plan({ name: 'haproxy', state: 'started', enabled: true }, notInstalled, ['haproxy'])
    expect(p.missing).toBeUndefined()
    expect(p.changes).toEqual([])
    const stop = await plan({ name: 'haproxy', state: 'stopped', enabled: false }, notInstalled, ['haproxy'])
    expect(stop.changes.map((c) => `${c.field} ${c.before} -> ${c.after}`)).toEqual(['enabled true -> false', 'state running -> stopped'])
    // Packages enable no template instances: wireguard-tools ships wg-quick@.service, not wg-quick@wg0.
    const instance = await plan({ name: 'wg-quick@wg0', enabled: true }, notInstalled, ['wireguard-tools'])
    expect(instance.changes.map((c) => `${c.field} ${c.before} -> ${c.after}`)).toEqual(['enabled false -> true'])
  })

  it('uses systemctl on systemd hosts and leaves static units alone', async () => {
    const p = await plan({ name: 'nginx.service', state: 'started', enabled: true }, sdStopped)
    const calls: string[] = []
    await applyPlan(p, { host: 'h1', exec: async (s) => (calls.push(s), { code: 0, stdout: '', stderr: '' }) })
    expect(calls).toEqual(["{ systemctl enable -- 'nginx.service'\n} || exit $?\n{ systemctl start -- 'nginx.service'\n} || exit $?"])
    expect((await plan({ name: 'dbus', enabled: false, state: 'started' }, sdStatic)).changes).toEqual([])
    await expect(plan({ name: 'x', enabled: true }, { ...sdStopped, enabled: 'masked' })).rejects.toThrow(/masked/)
  })
})

describe('service apply scripts, run by /bin/sh against a fake `service`/`update-rc.d`', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'havn-svc-'))
    // Logs every call; `start` of "broken" fails like a bad config does.
    const fake = `#!/bin/sh\necho "$(basename "$0") $*" >> ${dir}/log\nif [ "$1 $2" = "broken start" ]; then echo "[ALERT] config : parse error" >&2; exit 1; fi\necho "$1 $2 done"\n`
    await installFakeCommands(dir, ['service', 'update-rc.d'], fake)
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  const withFakes = (): Remote => remoteWithFakes(dir)

  it('enables then starts, in one command', async () => {
    const p = await plan({ name: 'cron', state: 'started', enabled: true }, disabledStopped)
    await applyPlan(p, withFakes())
    expect(await readFile(join(dir, 'log'), 'utf8')).toBe('update-rc.d cron enable\nservice cron start\n')
  })

  it('fails with host, command, exit code and the init script output', async () => {
    const p = await plan({ name: 'broken', state: 'started', enabled: true }, { ...disabledStopped })
    const err = await applyPlan(p, withFakes()).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CommandFailedError)
    expect((err as CommandFailedError).message).toBe(
      'host h1: command failed (exit 1): update-rc.d broken enable && service broken start\n[ALERT] config : parse error',
    )
  })
})
