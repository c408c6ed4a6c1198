import { describe, expect, inject, it } from 'vitest'
import { events, havn } from './cli.ts'
import { SYSTEMD_HOSTS } from './hosts.ts'
import { bedHosts, changeSet, failures, hostSh, hostsYaml, hostWrites, writeInventory } from './support.ts'

const bed = inject('testbed')
const ssh = ['--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts]
const sh = (host: string, script: string): Promise<string> => hostSh(bed, host, script)

const KINDS = Object.entries(SYSTEMD_HOSTS).map(([kind, names]) => ({ kind, host: names![0]!, release: kind.startsWith('trixie') ? '13' : '12' }))

describe.each(KINDS)('$kind host ($host)', ({ kind, host, release }) => {
  const [target] = bedHosts(bed, [host])
  const inventory = (vars: string) => writeInventory({ 'hosts.yaml': hostsYaml([target!], () => vars) })
  const states = (vars: string) => havn(['run', 'test/e2e/playbooks/service-states.ts', '-i', inventory(vars), ...ssh, '--output', 'json'])
  const mainPid = () => sh(host, 'systemctl show -p MainPID --value haproxy.service')

  it('boots systemd as PID 1, which started sshd through ssh.service', async () => {
    expect(target!.kind).toBe(kind)
    expect(await sh(host, 'cat /proc/1/comm; systemctl is-active ssh.service; . /etc/os-release; echo "$VERSION_ID"')).toBe(`systemd\nactive\n${release}\n`)
    expect(await sh(host, 'systemctl is-system-running || true')).toMatch(/^(running|degraded)\n$/)
    const res = await havn(['inventory', '-i', inventory(''), '--host', host])
    expect(res.code).toBe(0)
  })

  it('check predicts exactly what installing and starting a service under systemd changes; a second run changes nothing', async () => {
    const inv = writeInventory({ 'hosts.yaml': hostsYaml([target!]) })
    const before = hostWrites(bed, host)
    const check = await havn(['check', 'test/e2e/playbooks/install-start.ts', '-i', inv, ...ssh, '--output', 'json'])
    const checkEvents = events(check.stdout)
    expect(failures(checkEvents), check.stderr).toEqual([])
    expect(check.code).toBe(2)
    expect(hostWrites(bed, host)).toEqual(before)
    const predicted = changeSet(checkEvents, ['would-change', 'uncertain'])

    const run = await havn(['run', 'test/e2e/playbooks/install-start.ts', '-i', inv, ...ssh, '--output', 'json'])
    const runEvents = events(run.stdout)
    expect(failures(runEvents), run.stderr).toEqual([])
    expect(run.code).toBe(0)
    expect(changeSet(runEvents, ['changed'])).toEqual(predicted)
    // Debian's maintainer scripts started and enabled it under systemd.
    expect(await sh(host, 'systemctl is-active haproxy.service; systemctl is-enabled haproxy.service')).toBe('active\nenabled\n')

    const again = await havn(['run', 'test/e2e/playbooks/install-start.ts', '-i', inv, ...ssh, '--output', 'json'])
    expect(again.code).toBe(0)
    expect(changeSet(events(again.stdout), ['changed', 'would-change', 'uncertain'])).toEqual([])
    const recheck = await havn(['check', 'test/e2e/playbooks/install-start.ts', '-i', inv, ...ssh, '--output', 'json'])
    expect(recheck.code).toBe(0)
  })

  it('service stops, starts, restarts, reloads, disables and enables through systemctl', async () => {
    const stopped = await states('svc: haproxy, state: stopped')
    expect(changeSet(events(stopped.stdout), ['changed'])).toEqual([`${host} service:haproxy state`])
    expect((await hostSh(bed, host, 'systemctl is-active haproxy.service || true')).trim()).toBe('inactive')
    expect(changeSet(events((await states('svc: haproxy, state: stopped')).stdout), ['changed'])).toEqual([])

    expect((await states('svc: haproxy, state: started')).code).toBe(0)
    expect(await sh(host, 'systemctl is-active haproxy.service')).toBe('active\n')
    const first = await mainPid()
    expect((await states('svc: haproxy, state: restarted')).code).toBe(0)
    const restarted = await mainPid()
    expect(restarted).not.toBe(first)
    // A reload keeps the master process: the workers are replaced gracefully.
    const reload = await states('svc: haproxy, state: reloaded')
    expect(changeSet(events(reload.stdout), ['changed'])).toEqual([`${host} service:haproxy state`])
    expect(await mainPid()).toBe(restarted)
    expect(await sh(host, 'systemctl is-active haproxy.service')).toBe('active\n')

    expect(changeSet(events((await states('svc: haproxy, enabled: false')).stdout), ['changed'])).toEqual([`${host} service:haproxy enabled`])
    expect((await hostSh(bed, host, 'systemctl is-enabled haproxy.service || true')).trim()).toBe('disabled')
    expect(changeSet(events((await states('svc: haproxy, enabled: false')).stdout), ['changed'])).toEqual([])
    expect((await states('svc: haproxy, enabled: true')).code).toBe(0)
    expect(await sh(host, 'systemctl is-enabled haproxy.service')).toBe('enabled\n')
  })

  it('a unit that does not exist fails the host, naming it, and changes nothing', async () => {
    const before = hostWrites(bed, host)
    const res = await states('svc: no-such-unit, state: started')
    expect(res.code).toBe(1)
    const failed = failures(events(res.stdout))
    expect(failed).toHaveLength(1)
    expect(failed[0]!.host).toBe(host)
    expect(failed[0]!.error.message).toContain('service no-such-unit is not installed')
    expect(hostWrites(bed, host)).toEqual(before)
  })

  it('a role refuses a release it does not support before anything changes, naming host, role and release', async () => {
    await sh(host, 'rm /etc/os-release && sed "s/^VERSION_ID=.*/VERSION_ID=\\"11\\"/" /usr/lib/os-release > /etc/os-release')
    try {
      const before = hostWrites(bed, host)
      const res = await havn(['run', 'test/e2e/playbooks/role-mysql.ts', '-i', inventory(''), ...ssh, '--output', 'json'])
      expect(res.code).toBe(1)
      const failed = failures(events(res.stdout))
      expect(failed.map((e) => [e.host, e.role, e.step, e.error.kind])).toEqual([[host, 'mysql-nvme', 'supported platform', 'unsupported']])
      expect(failed[0]!.error.message).toBe(`role mysql-nvme does not support host ${host}: it runs debian 11; the role supports debian 12, 13`)
      expect(hostWrites(bed, host)).toEqual(before)
    } finally {
      await sh(host, 'ln -sfn ../usr/lib/os-release /etc/os-release')
    }
  })

  describe('systemdUnit', () => {
    const UNIT = 'havn-e2e-sleeper.service'
    const unitText = '[Unit]\nDescription=havn e2e sleeper\n\n[Service]\nExecStart=/bin/sleep 86400\n\n[Install]\nWantedBy=multi-user.target\n'
    const dropIn = (value: string) => `[Service]\nEnvironment=HAVN_E2E=${value}\n`
    const unit = (args: Record<string, unknown>) => inventory(`unit: ${JSON.stringify({ name: UNIT, ...args })}`)
    const run = async (mode: 'run' | 'check', args: Record<string, unknown>) => {
      const res = await havn([mode, 'test/e2e/playbooks/systemd-unit.ts', '-i', unit(args), ...ssh, '--output', 'json'])
      return { ...res, evs: events(res.stdout) }
    }
    const pid = () => sh(host, `systemctl show -p MainPID --value ${UNIT}`)
    const wanted = { content: unitText, dropIns: { '10-env.conf': dropIn('one') }, enabled: true, state: 'started' }

    it('creates a unit with a drop-in, enabled and started: check exact, then nothing to do', async () => {
      const before = hostWrites(bed, host)
      const check = await run('check', wanted)
      expect(failures(check.evs), check.stderr).toEqual([])
      expect(check.code).toBe(2)
      expect(hostWrites(bed, host)).toEqual(before)
      const done = await run('run', wanted)
      expect(failures(done.evs), done.stderr).toEqual([])
      expect(changeSet(done.evs, ['changed'])).toEqual(changeSet(check.evs, ['would-change']))
      expect(changeSet(done.evs, ['changed'])).toEqual([
        `${host} directory:/etc/systemd/system/${UNIT}.d -`,
        `${host} file:/etc/systemd/system/${UNIT} content`,
        `${host} file:/etc/systemd/system/${UNIT} mode`,
        `${host} file:/etc/systemd/system/${UNIT}.d/10-env.conf content`,
        `${host} file:/etc/systemd/system/${UNIT}.d/10-env.conf mode`,
        `${host} unit:${UNIT} enabled`,
        `${host} unit:${UNIT} state`,
      ])
      expect(await sh(host, `systemctl is-active ${UNIT}; systemctl is-enabled ${UNIT}; systemctl show -p Environment --value ${UNIT}; cat /etc/systemd/system/${UNIT}`)).toBe(`active\nenabled\nHAVN_E2E=one\n${unitText}`)
      expect((await run('run', wanted)).evs.filter((e) => e.type === 'step:end').map((e) => e.status)).toEqual(['ok'])
      expect((await run('check', wanted)).code).toBe(0)
    })

    it('a changed drop-in is reloaded; the unit restarts only with restartOnChange', async () => {
      const first = await pid()
      const reloaded = await run('run', { ...wanted, dropIns: { '10-env.conf': dropIn('two') } })
      expect(changeSet(reloaded.evs, ['changed'])).toEqual([`${host} file:/etc/systemd/system/${UNIT}.d/10-env.conf content`])
      expect(await sh(host, `systemctl show -p NeedDaemonReload --value ${UNIT}`)).toBe('no\n')
      expect(await pid()).toBe(first)
      const restarted = await run('run', { ...wanted, dropIns: { '10-env.conf': dropIn('three') }, restartOnChange: true })
      expect(changeSet(restarted.evs, ['changed'])).toEqual([`${host} file:/etc/systemd/system/${UNIT}.d/10-env.conf content`, `${host} unit:${UNIT} state`])
      expect(await pid()).not.toBe(first)
      expect(await sh(host, `systemctl show -p Environment --value ${UNIT}`)).toBe('HAVN_E2E=three\n')
    })

    it('reloads systemd when its copy of the unit is older than the file, and only then', async () => {
      const args = { ...wanted, dropIns: { '10-env.conf': dropIn('three') } }
      await sh(host, `touch -d '+1 min' /etc/systemd/system/${UNIT}; systemctl show -p NeedDaemonReload --value ${UNIT}`)
      const check = await run('check', args)
      expect(changeSet(check.evs, ['would-change'])).toEqual([`${host} unit:${UNIT} loaded`])
      const res = await run('run', args)
      expect(changeSet(res.evs, ['changed'])).toEqual([`${host} unit:${UNIT} loaded`])
      expect(await sh(host, `systemctl show -p NeedDaemonReload --value ${UNIT}`)).toBe('no\n')
      expect(changeSet((await run('run', args)).evs, ['changed'])).toEqual([])
    })

    it('an invalid drop-in never goes live: the host fails naming systemd-analyze\'s complaint, files and unit untouched', async () => {
      const before = hostWrites(bed, host)
      const pidBefore = await pid()
      const res = await run('run', { ...wanted, dropIns: { '10-env.conf': '[Service]\nEnviroment=HAVN_E2E=typo\n' } })
      expect(res.code).toBe(1)
      const [failed] = failures(res.evs)
      expect(failed!.host).toBe(host)
      expect(failed!.error.stderrTail).toContain(`/etc/systemd/system/${UNIT}.d/10-env.conf:2: Unknown key`)
      expect(failed!.error.stderrTail).toContain('nothing was written')
      expect(hostWrites(bed, host)).toEqual(before)
      expect(await pid()).toBe(pidBefore)
    })

    it('removes a drop-in, stops and disables the unit', async () => {
      const args = { content: unitText, dropIns: { '10-env.conf': null }, enabled: false, state: 'stopped' }
      const check = await run('check', args)
      const res = await run('run', args)
      expect(failures(res.evs), res.stderr).toEqual([])
      expect(changeSet(res.evs, ['changed'])).toEqual(changeSet(check.evs, ['would-change']))
      expect(changeSet(res.evs, ['changed'])).toEqual([`${host} file:/etc/systemd/system/${UNIT}.d/10-env.conf -`, `${host} unit:${UNIT} enabled`, `${host} unit:${UNIT} state`])
      expect(await sh(host, `systemctl is-active ${UNIT} || true; systemctl is-enabled ${UNIT} || true; systemctl show -p Environment --value ${UNIT}`)).toBe('inactive\ndisabled\n\n')
      expect(changeSet((await run('run', args)).evs, ['changed'])).toEqual([])
    })
  })
})
