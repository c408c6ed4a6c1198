import { describe, expect, it } from 'vitest'
import { checkSysctlKey, parseSysctlLive, sysctlLive, sysctlPath } from '../../src/facts/sysctl.ts'

// Outputs captured on Debian 12 by running sysctlLive.command() with /bin/sh as root: in the
// initial namespaces (ip_forward, tcp_rmem with its tabs, a key the kernel lacks, the read-only
// kernel.ostype) and inside `unshare -n -m` after `mount -o bind,ro /proc/sys /proc/sys`.
const captured = {
  ipForward: 'value 1\n0\n',
  tcpRmem: 'value 1\n4096\t131072\t33554432\n',
  missing: 'absent\n',
  ostype: 'value 0\nLinux\n',
  readOnlyNs: 'value 0\n0\n',
}
const ok = (stdout: string) => ({ code: 0, stdout, stderr: '' })

describe('sysctlLive', () => {
  it('parses values, collapsing tabs, and writability', () => {
    expect(parseSysctlLive(ok(captured.ipForward), 'net.ipv4.ip_forward')).toEqual({ value: '0', writable: true })
    expect(parseSysctlLive(ok(captured.tcpRmem), 'net.ipv4.tcp_rmem')).toEqual({ value: '4096 131072 33554432', writable: true })
    expect(parseSysctlLive(ok(captured.ostype), 'kernel.ostype')).toEqual({ value: 'Linux', writable: false })
    expect(parseSysctlLive(ok(captured.readOnlyNs), 'net.ipv4.ip_forward')).toEqual({ value: '0', writable: false })
    expect(parseSysctlLive(ok(captured.missing), 'net.nope')).toBeUndefined()
  })
  it('fails with the key and stderr when the value cannot be read', () => {
    expect(() => parseSysctlLive({ code: 1, stdout: 'value 0\n', stderr: 'cat: /proc/sys/x: Permission denied\n' }, 'x')).toThrow(/cannot read sysctl x \(exit 1\): cat: .*Permission denied/)
  })
  it('maps keys to /proc/sys paths and rejects odd keys', () => {
    expect(sysctlPath('net.ipv4.ip_forward')).toBe('/proc/sys/net/ipv4/ip_forward')
    expect(sysctlPath('net/ipv4/conf/eth0.10/rp_filter')).toBe('/proc/sys/net/ipv4/conf/eth0.10/rp_filter')
    for (const bad of ['', '../etc/passwd', 'net..x', 'a b', "k'"]) expect(() => checkSysctlKey(bad), bad).toThrow(/not a sysctl key/)
  })
  it('reads the real kernel through the command', async () => {
    const { spawnSync } = await import('node:child_process')
    const run = (key: string) => {
      const r = spawnSync('/bin/sh', ['-c', sysctlLive.command(key)], { encoding: 'utf8' })
      return sysctlLive.parse({ code: r.status ?? 255, stdout: r.stdout, stderr: r.stderr }, key)
    }
    expect(run('kernel.ostype')).toEqual({ value: 'Linux', writable: false })
    expect(run('net.ipv4.tcp_rmem')?.value).toMatch(/^\d+ \d+ \d+$/)
    expect(run('net.ipv4.does_not_exist')).toBeUndefined()
  })
})
