import { spawn } from 'node:child_process'
import { describe, expect, inject, it } from 'vitest'
import { hostExec } from '../testbed/index.ts'
import { events, havn, REPO } from './cli.ts'
import { bedHosts, hostNames, hostsYaml, writeInventory } from './support.ts'

const bed = inject('testbed')
const ssh = ['--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts]

describe('rolling batches', () => {
  it('stops after a failed canary under maxFailPercent 0; the untouched hosts show as not run', async () => {
    const hosts = hostNames(1, 5)
    for (const h of hosts) await hostExec(bed, h, 'rm -f /root/rolled')
    const inv = writeInventory({ 'hosts.yaml': hostsYaml(bedHosts(bed, hosts), (n) => (n === 'host1' ? 'mustFail: true' : '')) })
    const res = await havn(['run', 'test/e2e/playbooks/rolling.ts', '-i', inv, ...ssh, '--output', 'json'])
    expect(res.code).toBe(1)
    const evs = events(res.stdout)
    expect(evs.filter((e) => e.type === 'batch:start').map((e) => e.hosts)).toEqual([['host1']])
    expect(evs.find((e) => e.type === 'run:stopped')?.reason).toMatch(/over maxFailPercent 0%/)
    const recap = evs.at(-1)!
    expect(recap.stopped).toMatch(/no further batch/)
    expect(recap.hosts.host1).toMatchObject({ failed: 1, notRun: false })
    for (const h of hosts.slice(1)) {
      expect(recap.hosts[h]).toMatchObject({ notRun: true, changed: 0, failed: 0 })
      expect((await hostExec(bed, h, 'test -e /root/rolled')).code).toBe(1)
    }
    const line = await havn(['run', 'test/e2e/playbooks/rolling.ts', '-i', inv, ...ssh, '--output', 'line'])
    expect(line.stdout).toMatch(/^host3 +: .*not-run/m)
  })

  it('rolls through every batch when nothing fails', async () => {
    const hosts = hostNames(1, 5)
    const inv = writeInventory({ 'hosts.yaml': hostsYaml(bedHosts(bed, hosts)) })
    const res = await havn(['run', 'test/e2e/playbooks/rolling.ts', '-i', inv, ...ssh, '--output', 'json'])
    expect(res.code).toBe(0)
    expect(events(res.stdout).filter((e) => e.type === 'batch:start').map((e) => e.hosts)).toEqual([['host1'], ['host2', 'host3'], ['host4', 'host5']])
  })
})

describe('Ctrl-C', () => {
  it('finishes steps in flight, leaves no half-written file, prints the recap and exits 130', async () => {
    const hosts = hostNames(1, 10)
    for (const h of hosts) await hostExec(bed, h, 'rm -rf /srv/many')
    const inv = writeInventory({ 'hosts.yaml': hostsYaml(bedHosts(bed, hosts)) })
    const child = spawn(process.execPath, [`${REPO}bin/havn.js`, 'run', 'test/e2e/playbooks/many-files.ts', '-i', inv, ...ssh, '--output', 'line'], {
      cwd: REPO,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let sent = false
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString()
        // Interrupt once some hosts have written a few files: the run is well under way.
        if (!sent && (out.match(/file \/srv\/many\/f2\.txt/g) ?? []).length >= 3) {
          sent = true
          child.kill('SIGINT')
        }
      })
      child.on('close', (c) => {
        clearTimeout(timer)
        resolve(c)
      })
    })
    expect(sent).toBe(true)
    expect(code).toBe(130)
    expect(out).toContain('RECAP (apply')
    expect(out).toContain('stopped early: interrupted')
    let written = 0
    for (const h of hosts) {
      // Every file present is complete, and no temporary file of an atomic write is left over.
      const listing = (await hostExec(bed, h, 'cd /srv/many 2>/dev/null && ls -A')).stdout.split('\n').filter(Boolean)
      expect(listing.filter((f) => !/^f\d+\.txt$/.test(f)), `leftovers on ${h}`).toEqual([])
      for (const f of listing) {
        const i = Number(/^f(\d+)/.exec(f)![1])
        const expected = `${h} ${i}\n`.repeat(16384).slice(0, 262144)
        const got = (await hostExec(bed, h, `cat /srv/many/${f}`)).stdout
        expect(got === expected, `${h}:${f} is complete`).toBe(true)
      }
      written += listing.length
    }
    expect(written).toBeGreaterThan(0)
    expect(written).toBeLessThan(hosts.length * 20)
  })
})
