import { describe, expect, it } from 'vitest'
import { parseServiceStatus, serviceCommand, serviceStatus } from '../../src/facts/service.ts'
import { localRemote } from '../support/local-remote.ts'

// Captured on 2026-11-23 from havn test bed hosts (Debian 12, no systemd) by running serviceCommand()
// there: before installing haproxy/cron, after install (postinst starts them), after
// `service X stop`, and after `update-rc.d cron disable`.
const svcCronBefore =
  "init=sysv\nexists=no\n"
const svcCronDisabledStopped =
  "init=sysv\nexists=yes\nstatus=3\nlink=/etc/rc2.d/K01cron\nlink=/etc/rc3.d/K01cron\nlink=/etc/rc4.d/K01cron\nlink=/etc/rc5.d/K01cron\n"
const svcCronRunning =
  "init=sysv\nexists=yes\nstatus=0\nstart-link=/etc/rc2.d/S01cron\nstart-link=/etc/rc3.d/S01cron\nstart-link=/etc/rc4.d/S01cron\nstart-link=/etc/rc5.d/S01cron\nlink=/etc/rc2.d/S01cron\nlink=/etc/rc3.d/S01cron\nlink=/etc/rc4.d/S01cron\nlink=/etc/rc5.d/S01cron\n"
const svcCronStopped =
  "init=sysv\nexists=yes\nstatus=3\nstart-link=/etc/rc2.d/S01cron\nstart-link=/etc/rc3.d/S01cron\nstart-link=/etc/rc4.d/S01cron\nstart-link=/etc/rc5.d/S01cron\nlink=/etc/rc2.d/S01cron\nlink=/etc/rc3.d/S01cron\nlink=/etc/rc4.d/S01cron\nlink=/etc/rc5.d/S01cron\n"
const svcHaproxyBefore =
  "init=sysv\nexists=no\n"
const svcHaproxyRunning =
  "init=sysv\nexists=yes\nstatus=0\nstart-link=/etc/rc2.d/S01haproxy\nstart-link=/etc/rc3.d/S01haproxy\nstart-link=/etc/rc4.d/S01haproxy\nstart-link=/etc/rc5.d/S01haproxy\nlink=/etc/rc0.d/K01haproxy\nlink=/etc/rc1.d/K01haproxy\nlink=/etc/rc2.d/S01haproxy\nlink=/etc/rc3.d/S01haproxy\nlink=/etc/rc4.d/S01haproxy\nlink=/etc/rc5.d/S01haproxy\nlink=/etc/rc6.d/K01haproxy\n"
const svcHaproxyStopped =
  "init=sysv\nexists=yes\nstatus=3\nstart-link=/etc/rc2.d/S01haproxy\nstart-link=/etc/rc3.d/S01haproxy\nstart-link=/etc/rc4.d/S01haproxy\nstart-link=/etc/rc5.d/S01haproxy\nlink=/etc/rc0.d/K01haproxy\nlink=/etc/rc1.d/K01haproxy\nlink=/etc/rc2.d/S01haproxy\nlink=/etc/rc3.d/S01haproxy\nlink=/etc/rc4.d/S01haproxy\nlink=/etc/rc5.d/S01haproxy\nlink=/etc/rc6.d/K01haproxy\n"
const svcSshBefore =
  "init=sysv\nexists=yes\nstatus=0\nstart-link=/etc/rc2.d/S01ssh\nstart-link=/etc/rc3.d/S01ssh\nstart-link=/etc/rc4.d/S01ssh\nstart-link=/etc/rc5.d/S01ssh\nlink=/etc/rc2.d/S01ssh\nlink=/etc/rc3.d/S01ssh\nlink=/etc/rc4.d/S01ssh\nlink=/etc/rc5.d/S01ssh\n"

// Representative (not captured: the bed has no systemd) output of the systemd branch.
const systemdRunningEnabled = 'init=systemd\nLoadState=loaded\nActiveState=active\nUnitFileState=enabled\nIsEnabled=enabled\n'
const systemdStoppedDisabled = 'init=systemd\nLoadState=loaded\nActiveState=inactive\nUnitFileState=disabled\nIsEnabled=disabled\n'
const systemdNotFound = 'init=systemd\nLoadState=not-found\nActiveState=inactive\nUnitFileState=\nIsEnabled=\n'
const systemdStatic = 'init=systemd\nLoadState=loaded\nActiveState=failed\nUnitFileState=static\nIsEnabled=static\n'
const systemdMasked = 'init=systemd\nLoadState=masked\nActiveState=inactive\nUnitFileState=masked\nIsEnabled=masked\n'
const systemdSysvScript = 'init=systemd\nLoadState=loaded\nActiveState=active\nUnitFileState=\nIsEnabled=enabled\n'

describe('service.status parser, init scripts (recorded)', () => {
  it('reads a service that is not installed', () => {
    expect(parseServiceStatus(svcHaproxyBefore)).toEqual({ init: 'sysv', exists: false, running: false, enabled: 'disabled', hasLinks: false })
    expect(parseServiceStatus(svcCronBefore).exists).toBe(false)
  })

  it('reads running and stopped services from the LSB status exit code', () => {
    expect(parseServiceStatus(svcHaproxyRunning)).toEqual({ init: 'sysv', exists: true, running: true, enabled: 'enabled', hasLinks: true })
    expect(parseServiceStatus(svcCronRunning)).toEqual({ init: 'sysv', exists: true, running: true, enabled: 'enabled', hasLinks: true })
    expect(parseServiceStatus(svcHaproxyStopped)).toEqual({ init: 'sysv', exists: true, running: false, enabled: 'enabled', hasLinks: true })
    expect(parseServiceStatus(svcCronStopped).running).toBe(false)
    expect(parseServiceStatus(svcSshBefore).running).toBe(true)
  })

  it('reads a disabled service from its K links', () => {
    expect(parseServiceStatus(svcCronDisabledStopped)).toEqual({ init: 'sysv', exists: true, running: false, enabled: 'disabled', hasLinks: true })
  })
})

describe('service.status parser, systemd (representative)', () => {
  it('maps systemctl show / is-enabled', () => {
    expect(parseServiceStatus(systemdRunningEnabled)).toEqual({ init: 'systemd', exists: true, running: true, enabled: 'enabled', hasLinks: false })
    expect(parseServiceStatus(systemdStoppedDisabled)).toMatchObject({ exists: true, running: false, enabled: 'disabled' })
    expect(parseServiceStatus(systemdNotFound)).toMatchObject({ exists: false, running: false })
    expect(parseServiceStatus(systemdStatic)).toMatchObject({ exists: true, running: false, enabled: 'static' })
    expect(parseServiceStatus(systemdMasked)).toMatchObject({ exists: true, enabled: 'masked' })
    expect(parseServiceStatus(systemdSysvScript)).toMatchObject({ exists: true, running: true, enabled: 'enabled' })
  })
})

describe('service.status command', () => {
  it('rejects unsafe names and strips .service', () => {
    expect(() => serviceCommand('a;b')).toThrow(/invalid service name/)
    expect(() => serviceCommand('x*')).toThrow(/invalid service name/)
    expect(serviceCommand('haproxy.service')).toMatch(/^n='haproxy'\n/)
    expect(serviceCommand('wg-quick@wg0')).toMatch(/^n='wg-quick@wg0'\n/)
  })

  it('runs for real on this machine (no systemd) and reports a missing service', async () => {
    const res = await localRemote().exec(serviceStatus.command('havn-no-such-service'))
    expect(res.code).toBe(0)
    expect(res.stdout).toBe('init=sysv\nexists=no\n')
    expect(serviceStatus.parse(res, 'havn-no-such-service')).toMatchObject({ init: 'sysv', exists: false, running: false, enabled: 'disabled', hasLinks: false })
  })
})
