import { describe, expect, inject, it } from 'vitest'
import { events, havn } from './cli.ts'
import { bedHosts, hostsYaml, writeInventory } from './support.ts'
import { freezeHost, hostExec, restartHost, thawHost } from '../testbed/index.ts'

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

  describe('a host killed (every process at once, then booted again from the same disk)', () => {
    const KILL = 'host16'
    const killInv = () => writeInventory({ 'hosts.yaml': hostsYaml(bedHosts(bed, [KILL])) })
    const runKill = (inv: string, env: Record<string, string>, cmd = 'run') =>
      havn([cmd, 'test/e2e/playbooks/fault-kill.ts', '-i', inv, ...ssh, '--command-timeout', '60'], { env, timeoutMs: 120_000 })
    /** Waits inside the host until `condition` (shell) holds, bounded by 60 s, then power-cycles it. */
    const killWhen = async (condition: string) => {
      const seen = await hostExec(bed, KILL, `i=0; until ${condition}; do i=$((i+1)); [ $i -lt 6000 ] || exit 1; sleep 0.01; done`, 90_000)
      if (seen.code !== 0) throw new Error(`${KILL}: '${condition}' never held`)
      await restartHost(bed, KILL)
    }
    const handlerRuns = async () => Number((await hostExec(bed, KILL, 'cat /srv/fault-kill/handler.log 2>/dev/null | wc -l')).stdout.trim())

    it('mid file write: the target keeps its old content, the next run completes it, removes the dead write\'s temp file and runs the handler notified before the kill', async () => {
      const size = 96 * 1024 * 1024
      await hostExec(bed, KILL, 'rm -rf /srv/fault-kill /var/lib/havn/notify/e2e-fault-kill-recorded; mkdir -p /srv/fault-kill; printf "old\\n" > /srv/fault-kill/big.bin')
      const env = { HAVN_E2E_WORK: 'write', HAVN_E2E_SIZE: String(size), HAVN_E2E_TRIGGER: 'two' }
      const inv = killInv()
      const running = runKill(inv, env)
      await killWhen('[ -n "$(find /srv/fault-kill -name \'.big.bin.havn-*\' -size +0)" ]')
      const killed = await running
      expect(killed.code).toBe(1)
      expect(events(killed.stdout).at(-1)!.hosts[KILL].failed + (events(killed.stdout).at(-1)!.hosts[KILL].unreachable ? 1 : 0)).toBeGreaterThan(0)
      // Caught in the act: a partial temp file beside the untouched target, the notification on disk.
      const after = (await hostExec(bed, KILL, 'cd /srv/fault-kill && cat big.bin && cat trigger.conf && stat -c %s .big.bin.havn-* && ls /var/lib/havn/notify')).stdout.split('\n')
      expect(after.slice(0, 2)).toEqual(['old', 'two'])
      expect(Number(after[2])).toBeLessThan(size)
      expect(after[3]).toBe('e2e-fault-kill-recorded')
      expect(await handlerRuns()).toBe(0)

      const again = await runKill(inv, env)
      expect(again.code, again.stderr).toBe(0)
      const steps = events(again.stdout).filter((e) => e.type === 'step:end').map((e) => [e.step, e.status])
      expect(steps).toEqual([
        ['directory /srv/fault-kill', 'ok'],
        ['file /srv/fault-kill/trigger.conf', 'ok'],
        ['file /srv/fault-kill/big.bin', 'changed'],
        ['record handler', 'changed'],
      ])
      expect(await handlerRuns()).toBe(1)
      expect((await hostExec(bed, KILL, 'cd /srv/fault-kill && ls -A && stat -c %s big.bin')).stdout).toBe(`big.bin\nhandler.log\ntrigger.conf\n${size}\n`)
      const third = await runKill(inv, env)
      expect(third.code).toBe(0)
      expect(events(third.stdout).at(-1)!.hosts[KILL]).toMatchObject({ changed: 0, failed: 0 })
      expect(await handlerRuns()).toBe(1)
    })

    it('mid package install: dpkg is left interrupted; check predicts finishing it, the next run finishes it, installs the package and runs the handler notified before the kill', async () => {
      const pkg = 'python3'
      await hostExec(bed, KILL, 'rm -rf /srv/fault-kill /var/lib/havn/notify/e2e-fault-kill-recorded')
      expect((await hostExec(bed, KILL, `dpkg-query -W -f='\${Status}' ${pkg} 2>/dev/null`)).stdout).not.toContain('install ok installed')
      const env = { HAVN_E2E_WORK: 'install', HAVN_E2E_PACKAGE: pkg, HAVN_E2E_TRIGGER: 'three' }
      const inv = killInv()
      const running = runKill(inv, env)
      // dpkg's journal fills once it has started changing the status of a package.
      await killWhen('[ -n "$(ls -A /var/lib/dpkg/updates 2>/dev/null)" ]')
      const killed = await running
      expect(killed.code).toBe(1)
      expect((await hostExec(bed, KILL, 'ls -A /var/lib/dpkg/updates | wc -l')).stdout.trim()).not.toBe('0')
      expect(await handlerRuns()).toBe(0)

      const check = await runKill(inv, env, 'check')
      expect(check.code, check.stderr).toBe(2)
      const planned = events(check.stdout).find((e) => e.type === 'step:end' && e.step === `packages present ${pkg}`)!
      expect(planned.changes[0]).toMatchObject({ resource: 'dpkg', before: 'interrupted', after: 'configured' })

      const again = await runKill(inv, env)
      expect(again.code, again.stderr).toBe(0)
      expect(events(again.stdout).filter((e) => e.type === 'step:end').map((e) => [e.step, e.status])).toEqual([
        ['directory /srv/fault-kill', 'ok'],
        ['file /srv/fault-kill/trigger.conf', 'ok'],
        [`packages present ${pkg}`, 'changed'],
        ['record handler', 'changed'],
      ])
      expect(await handlerRuns()).toBe(1)
      expect((await hostExec(bed, KILL, `dpkg --audit; dpkg-query -W -f='\${Status}' ${pkg}`)).stdout).toBe('install ok installed')
      const third = await runKill(inv, env)
      expect(events(third.stdout).at(-1)!.hosts[KILL]).toMatchObject({ changed: 0, failed: 0 })
    })
  })
})
