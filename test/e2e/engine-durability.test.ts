import { describe, expect, inject, it } from 'vitest'
import { hostExec } from '../testbed/index.ts'
import { events, havn } from './cli.ts'
import { bedHosts, hostsYaml, writeInventory, startUntil } from './support.ts'

const bed = inject('testbed')
const ssh = ['--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts]


describe('durable handlers', () => {
  it('runs a handler on the next run when the run that notified it was killed before the handler', async () => {
    const [host] = bedHosts(bed, ['host13'])
    await hostExec(bed, 'host13', 'rm -f /root/changed /root/handled.log')
    const slow = writeInventory({ 'hosts.yaml': hostsYaml([host!], () => 'sleepSeconds: 30') })
    const first = await startUntil(['run', 'test/e2e/playbooks/slow-handler.ts', '-i', slow, ...ssh, '--output', 'json'], /"step":"slow step"/)
    await untilSleeping('host13')
    process.kill(first.pid, 'SIGKILL')
    await first.done
    expect((await hostExec(bed, 'host13', 'test -e /root/changed && echo yes')).stdout.trim()).toBe('yes')
    expect((await hostExec(bed, 'host13', 'cat /root/handled.log 2>/dev/null | wc -l')).stdout.trim()).toBe('0')
    // The killed run's session still runs its step and holds the lock, though its controller is
    // gone: this run must say the lock is stale, then --break-lock clears it.
    const fast = writeInventory({ 'hosts.yaml': hostsYaml([host!]) })
    const locked = await havn(['run', 'test/e2e/playbooks/slow-handler.ts', '-i', fast, ...ssh, '--output', 'json'])
    expect(locked.code).toBe(1)
    expect(locked.stdout).toContain('stale')
    expect(locked.stdout).toContain('--break-lock')

    const second = await havn(['run', 'test/e2e/playbooks/slow-handler.ts', '-i', fast, ...ssh, '--output', 'json', '--break-lock'])
    expect(second.code).toBe(0)
    const steps = events(second.stdout).filter((e) => e.type === 'step:end')
    expect(steps.map((e) => [e.role ?? null, e.step, e.status])).toEqual([
      [null, 'make change', 'ok'],
      ['handler e2e-record-handled', 'record handled', 'changed'],
    ])
    expect((await hostExec(bed, 'host13', 'cat /root/handled.log')).stdout).toBe('handled\n')

    const third = await havn(['run', 'test/e2e/playbooks/slow-handler.ts', '-i', fast, ...ssh, '--output', 'json'])
    expect(third.code).toBe(0)
    expect(events(third.stdout).filter((e) => e.type === 'step:end').map((e) => e.status)).toEqual(['ok'])
    expect((await hostExec(bed, 'host13', 'cat /root/handled.log')).stdout).toBe('handled\n')
  })

  it('a run killed mid-step leaves no lock once that step ends: the next run goes ahead and runs the handler', async () => {
    const [host] = bedHosts(bed, ['host22'])
    await hostExec(bed, 'host22', 'rm -f /root/changed /root/handled.log')
    const first = await startUntil(['run', 'test/e2e/playbooks/slow-handler.ts', '-i', writeInventory({ 'hosts.yaml': hostsYaml([host!], () => 'sleepSeconds: 2') }), ...ssh, '--output', 'json'], /"step":"slow step"/)
    await untilSleeping('host22')
    process.kill(first.pid, 'SIGKILL')
    await first.done
    // Once the sleep is over, the session's shell reads the end of its input and its exit trap frees the lock.
    const lockGone = async () => (await hostExec(bed, 'host22', 'test -e /tmp/havn.lock && echo held || echo free')).stdout.trim()
    for (let i = 0; i < 50 && (await lockGone()) === 'held'; i++) await new Promise((r) => setTimeout(r, 200))
    expect(await lockGone()).toBe('free')
    const next = await havn(['run', 'test/e2e/playbooks/slow-handler.ts', '-i', writeInventory({ 'hosts.yaml': hostsYaml([host!]) }), ...ssh, '--output', 'json'])
    expect(next.code).toBe(0)
    expect(events(next.stdout).filter((e) => e.type === 'step:end').map((e) => [e.step, e.status])).toEqual([['make change', 'ok'], ['record handled', 'changed']])
  })
})

/** Waits until the slow step's `sleep` runs on the host, so a kill lands in the middle of it. */
async function untilSleeping(host: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await hostExec(bed, host, 'ps -eo comm= | grep -qx sleep && echo yes || echo no')).stdout.trim() === 'yes') return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`no sleep started on ${host}`)
}

describe('run lock', () => {
  it('lets one of two concurrent runs proceed and makes the other exit quickly, naming the holder', async () => {
    const [host] = bedHosts(bed, ['host14'])
    await hostExec(bed, 'host14', 'rm -f /root/changed /root/handled.log')
    const inv = writeInventory({ 'hosts.yaml': hostsYaml([host!], () => 'sleepSeconds: 8') })
    const first = await startUntil(['run', 'test/e2e/playbooks/slow-handler.ts', '-i', inv, ...ssh, '--output', 'json'], /"step":"slow step"/)
    const second = await havn(['run', 'test/e2e/playbooks/slow-handler.ts', '-i', inv, ...ssh, '--output', 'json'])
    expect(second.code).toBe(1)
    expect(second.ms).toBeLessThan(5_000)
    const failure = events(second.stdout).find((e) => e.type === 'step:end' && e.status === 'failed')!
    expect(failure.step).toBe('take run lock')
    expect(failure.error.message).toMatch(new RegExp(`locked by \\w+@\\S+ \\(pid ${first.pid}\\) running .*slow-handler.ts since \\d{4}-`))
    // The refused run's session has ended, and its exit trap (armed before it tried) left the holder's lock alone.
    await new Promise((r) => setTimeout(r, 300))
    expect((await hostExec(bed, 'host14', 'head -n1 /tmp/havn.lock')).stdout).toContain(`"pid":${first.pid}`)
    expect(await first.done).toBe(0)
    // Once the first run is done, the lock is gone.
    const after = await havn(['run', 'test/e2e/playbooks/slow-handler.ts', '-i', writeInventory({ 'hosts.yaml': hostsYaml([host!]) }), ...ssh])
    expect(after.code).toBe(0)
  })
})
