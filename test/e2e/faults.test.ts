import { describe, expect, inject, it } from 'vitest'
import { events, havn } from './cli.ts'
import { bedHosts, hostsYaml, writeInventory } from './support.ts'
import { freezeHost, hostExec, thawHost } from '../testbed/index.ts'

const bed = inject('testbed')
// Fleet hosts: this file changes only /srv/fault on them, and brings their link back up.
const HOSTS = ['host15', 'host16']
const ssh = ['--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts, '--output', 'json']
const inventory = () => writeInventory({ 'hosts.yaml': hostsYaml(bedHosts(bed, HOSTS)) })

/**
 * Runs fault-steps.ts on both hosts with a 3 s step, injects a fault into host16 1.5 s in, and undoes
 * it once the run has ended (whatever happened); returns the run and how long it took.
 */
async function runWithFault(inv: string, path: string, commandTimeout: string, inject: () => Promise<unknown>, undo: () => Promise<unknown>) {
  const started = Date.now()
  const running = havn(['run', 'test/e2e/playbooks/fault-steps.ts', '-i', inv, ...ssh, '--command-timeout', commandTimeout], { env: { HAVN_E2E_PATH: path, HAVN_E2E_SLEEP: '3' }, timeoutMs: 60_000 })
  await new Promise((r) => setTimeout(r, 1500))
  await inject()
  try {
    return { res: await running, elapsed: Date.now() - started }
  } finally {
    await undo()
  }
}

describe('faults injected in the middle of real work', () => {
  it('full disk: the write fails naming ENOSPC, the path and the host; the old file is intact and no temporary file is left', async () => {
    await hostExec(bed, 'host15', 'mkdir -p /srv/fault && mount -t tmpfs -o size=64k tmpfs /srv/fault && printf "old\\n" > /srv/fault/app.conf')
    try {
      const res = await havn(['run', 'test/e2e/playbooks/fault-steps.ts', '-i', inventory(), '--limit', 'host15', ...ssh], { env: { HAVN_E2E_SIZE: String(256 * 1024) } })
      expect(res.code).toBe(1)
      const failed = events(res.stdout).find((e) => e.type === 'step:end' && e.status === 'failed')!
      expect(failed.host).toBe('host15')
      expect(`${failed.error.message}\n${failed.error.stderrTail ?? ''}`).toMatch(/No space left on device/)
      expect(`${failed.step} ${failed.error.message}`).toContain('/srv/fault/app.conf')
      const left = await hostExec(bed, 'host15', 'cat /srv/fault/app.conf; ls -A /srv/fault')
      expect(left.stdout).toBe('old\napp.conf\n')
    } finally {
      await hostExec(bed, 'host15', 'umount /srv/fault; rmdir /srv/fault')
    }
  })

  it('a link that goes down mid-run: that host fails within the command timeout, the other finishes, and after the link returns the next run converges', async () => {
    const inv = inventory()
    const env = { HAVN_E2E_PATH: '/srv/fault-link.conf' }
    const { res, elapsed } = await runWithFault(inv, env.HAVN_E2E_PATH, '8', () => hostExec(bed, 'host16', 'ip link set eth0 down'), () => hostExec(bed, 'host16', 'ip link set eth0 up'))
    expect(res.code).toBe(1)
    const recap = events(res.stdout).at(-1)!
    expect(recap.hosts.host15).toMatchObject({ failed: 0, unreachable: false })
    expect(recap.hosts.host16.failed + (recap.hosts.host16.unreachable ? 1 : 0)).toBeGreaterThan(0)
    expect(elapsed).toBeLessThan(30_000)
    const again = await havn(['run', 'test/e2e/playbooks/fault-steps.ts', '-i', inv, ...ssh], { env: { ...env, HAVN_E2E_SLEEP: '0' }, timeoutMs: 60_000 })
    expect(again.code, again.stderr).toBe(0)
    expect(events(again.stdout).at(-1)!.hosts.host16).toMatchObject({ failed: 0, unreachable: false })
    expect((await hostExec(bed, 'host16', 'cat /srv/fault-link.conf')).stdout).toBe(`${'x'.repeat(16)}\n`)
    await Promise.all(HOSTS.map((h) => hostExec(bed, h, 'rm -f /srv/fault-link.conf')))
  })

  it('a host that freezes mid-run (every process stopped in the freezer cgroup): --command-timeout ends it with a clear error, nothing else waits for it, and after it thaws the next run converges', async () => {
    const inv = inventory()
    const env = { HAVN_E2E_PATH: '/srv/fault-freeze.conf' }
    const { res, elapsed } = await runWithFault(inv, env.HAVN_E2E_PATH, '6', () => freezeHost(bed, 'host16'), () => thawHost(bed, 'host16'))
    expect(elapsed).toBeLessThan(30_000)
    expect(res.code).toBe(1)
    const evs = events(res.stdout)
    expect(evs.at(-1)!.hosts.host15).toMatchObject({ failed: 0, unreachable: false })
    const failed = evs.find((e) => e.type === 'step:end' && e.host === 'host16' && e.status === 'failed')!
    expect(failed.error).toMatchObject({ kind: 'timeout', message: 'host host16: command timed out after 6000 ms: sleep 3; echo done' })
    const again = await havn(['run', 'test/e2e/playbooks/fault-steps.ts', '-i', inv, ...ssh], { env: { ...env, HAVN_E2E_SLEEP: '0' }, timeoutMs: 60_000 })
    expect(again.code, again.stderr).toBe(0)
    await Promise.all(HOSTS.map((h) => hostExec(bed, h, 'rm -f /srv/fault-freeze.conf')))
  })
})
