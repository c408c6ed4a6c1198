import { describe, expect, inject, it } from 'vitest'
import { events, havn } from './cli.ts'
import { SYSTEMD_HOSTS } from './hosts.ts'
import { bedHosts, changeSet, failures, hostSh, hostsYaml, hostWrites, writeInventory } from './support.ts'

const bed = inject('testbed')
const ssh = ['--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts]
const sh = (host: string, script: string): Promise<string> => hostSh(bed, host, script)

const KINDS = Object.entries(SYSTEMD_HOSTS).map(([kind, names]) => ({ kind, host: names[0], release: kind.startsWith('trixie') ? '13' : '12' }))

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
})
