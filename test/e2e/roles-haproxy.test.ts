import { request } from 'node:http'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { events, havn } from './cli.ts'
import { ROLE_HOSTS_BY_KIND, ROLE_KINDS } from './hosts.ts'
import { bedHosts, hostsYaml, hostWrites, writeInventory, changeSet, failures, startUntil, hostSh } from './support.ts'

const bed = inject('testbed')
const ssh = ['--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts]
const sh = (host: string, script: string): Promise<string> => hostSh(bed, host, script)

describe.each(ROLE_KINDS)('haproxy-burst role on %s hosts', (kind) => {
  const [edge, core1, core2, burst] = bedHosts(bed, ROLE_HOSTS_BY_KIND[kind].haproxy)
  const CORE = new Set([core1!.name, core2!.name])
  const URL_ = `http://${edge!.address}:80/`
  const systemd = kind !== 'bookworm-sysv'
  /** The serving processes: the init script's pid file; under systemd the unit's master and its worker. */
  const processes = systemd ? 'm=$(systemctl show -p MainPID --value haproxy); echo $m; pgrep -P $m -x haproxy' : 'cat /var/run/haproxy.pid'
  /** A reload lost to a killed run is proven once, on the init-script set. */
  const itFull = (name: string, fn: () => Promise<void>): void => {
    if (!systemd) it(name, fn)
  }

  /** One GET through the edge on a fresh connection; the body (a backend's name), or `status N` / `error …`. */
  function get(): Promise<{ answer: string; headers: Record<string, unknown> }> {
    return new Promise((resolve) => {
      const req = request(URL_, { agent: false, timeout: 2000 }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => (body += d))
        res.on('end', () => resolve({ answer: res.statusCode === 200 ? body.trim() : `status ${res.statusCode}`, headers: res.headers }))
      })
      req.on('timeout', () => req.destroy(new Error('timeout')))
      req.on('error', (e) => resolve({ answer: `error ${e.message}`, headers: {} }))
      req.end()
    })
  }

  async function answers(n: number): Promise<string[]> {
    const out: string[] = []
    for (let i = 0; i < n; i++) out.push((await get()).answer)
    return out
  }

  /**
   * Polls batches of requests (bounded: at most `limitMs`) until a batch satisfies `ok`; returns every
   * answer seen on the way, so callers can assert what never answered in between.
   */
  async function waitUntil(ok: (batch: string[]) => boolean, what: string, limitMs = 25_000): Promise<string[]> {
    const seen: string[] = []
    const deadline = Date.now() + limitMs
    for (;;) {
      const batch = await answers(6)
      seen.push(...batch)
      if (ok(batch)) return seen
      if (Date.now() > deadline) throw new Error(`${what} not reached within ${limitMs} ms; last answers: ${batch.join(', ')}`)
      await new Promise((r) => setTimeout(r, 300))
    }
  }

  const server = (name: string, h: { address: string }, extra = '') => `  - { name: ${name}, address: ${h.address}, port: 8080${extra} }`

  /** An inventory of the edge host alone, with the role's vars in host_vars. */
  function edgeInventory(extraVars = ''): string {
    return writeInventory({
      'hosts.yaml': hostsYaml([edge!]),
      [`host_vars/${edge!.name}.yaml`]: [
        'coreServers:',
        // Equal small weights: a burst server wrongly left in rotation (weight 1) would get a third of the requests.
        server('core-1', core1!, ', weight: 1'),
        server('core-2', core2!, ', weight: 1'),
        'burstServers:',
        server('burst-1', burst!),
        'healthHost: app.example.test',
        extraVars,
      ].join('\n') + '\n',
    })
  }


  const run = (verb: string, inv: string, ...more: string[]) => havn([verb, 'test/e2e/playbooks/role-haproxy.ts', '-i', inv, ...ssh, '--output', 'json', ...more])

  describe('core first, burst as backup', () => {
    beforeAll(async () => {
      const inv = writeInventory({ 'hosts.yaml': hostsYaml([core1!, core2!, burst!]) })
      const res = await havn(['run', 'test/e2e/playbooks/role-haproxy-backends.ts', '-i', inv, ...ssh, '--output', 'json'])
      expect(failures(events(res.stdout)), res.stderr).toEqual([])
      expect(res.code).toBe(0)
      for (const h of [core1!, core2!, burst!]) expect(await sh(h.name, 'service haproxy status >/dev/null && echo up')).toBe('up\n')
    })

    it('check writes nothing and predicts exactly what run changes; a second run changes nothing', async () => {
      const inv = edgeInventory()
      const before = hostWrites(bed, edge!.name)
      const check = await run('check', inv)
      const checkEvents = events(check.stdout)
      expect(failures(checkEvents)).toEqual([])
      expect(check.code).toBe(2)
      expect(hostWrites(bed, edge!.name)).toEqual(before)
      const predicted = changeSet(checkEvents, ['would-change', 'uncertain'])
      expect(predicted).toEqual(expect.arrayContaining([`${edge!.name} package:haproxy version`, `${edge!.name} file:/etc/haproxy/haproxy.cfg content`, `${edge!.name} service:haproxy state`]))

      const applied = await run('run', inv)
      const runEvents = events(applied.stdout)
      expect(failures(runEvents)).toEqual([])
      expect(applied.code).toBe(0)
      expect(changeSet(runEvents, ['changed'])).toEqual(predicted)

      // Running, enabled at boot, and serving the config the role wrote.
      // The reload handler's signal may still be on its way to the master (see the role's README): bounded wait.
    const active = 'for i in $(seq 50); do s=$(systemctl is-active haproxy); [ "$s" = reloading ] || break; sleep 0.1; done; echo "$s"'
    const boot = systemd ? `${active}; systemctl is-enabled haproxy` : 'service haproxy status >/dev/null && echo running; ls /etc/rc2.d | grep -c haproxy'
      expect(await sh(edge!.name, boot)).toBe(systemd ? 'active\nenabled\n' : 'running\n1\n')
      const cfg = await sh(edge!.name, 'cat /etc/haproxy/haproxy.cfg')
      expect(cfg).toContain(`server core-1 ${core1!.address}:8080 check weight 1`)
      expect(cfg).toContain(`server burst-1 ${burst!.address}:8080 check backup`)
      expect(cfg).toContain('http-check send meth HEAD uri /health ver HTTP/1.1 hdr Host app.example.test')

      const again = await run('run', inv)
      const againEvents = events(again.stdout)
      expect(again.code).toBe(0)
      expect(changeSet(againEvents, ['changed', 'would-change', 'uncertain'])).toEqual([])
      expect(againEvents.at(-1)!.hosts[edge!.name]).toMatchObject({ changed: 0, failed: 0 })
    })

    it('sends traffic to both core servers and none to the burst server while the core is up', async () => {
      const seen = await waitUntil((b) => b.every((a) => CORE.has(a)) && CORE.size === new Set(b).size, 'both core servers answering')
      const later = await answers(12)
      expect(later.every((a) => CORE.has(a)), later.join(', ')).toBe(true)
      expect([...seen, ...later]).not.toContain(burst!.name)
    })

    it('keeps the burst server idle while one core server is left', async () => {
      await sh(core1!.name, 'service haproxy stop >/dev/null 2>&1 </dev/null')
      const seen = await waitUntil((b) => b.every((a) => a === core2!.name), `only ${core2!.name} answering`)
      expect(seen).not.toContain(burst!.name)
    })

    it('fails over to the burst server when the whole core is down, and back when the core returns', async () => {
      await sh(core2!.name, 'service haproxy stop >/dev/null 2>&1 </dev/null')
      await waitUntil((b) => b.every((a) => a === burst!.name), `burst server ${burst!.name} answering`)
      await sh(core1!.name, 'service haproxy start >/dev/null 2>&1 </dev/null')
      await sh(core2!.name, 'service haproxy start >/dev/null 2>&1 </dev/null')
      await waitUntil((b) => b.every((a) => CORE.has(a)), 'core servers answering again')
      const later = await answers(12)
      expect(later.every((a) => CORE.has(a)), later.join(', ')).toBe(true)
    })

    it('a var that breaks the config fails the run; HAProxy keeps the old config and keeps serving', async () => {
      const live = 'sha256sum /etc/haproxy/haproxy.cfg; ls -a /etc/haproxy; cat /var/run/haproxy.pid'
      const before = await sh(edge!.name, live)
      const res = await run('run', edgeInventory('extraBackendLines: ["option no-such-option"]'))
      expect(res.code).toBe(1)
      const failed = failures(events(res.stdout))
      expect(failed).toHaveLength(1)
      expect(failed[0]!.host).toBe(edge!.name)
      expect(`${failed[0]!.error.message}\n${failed[0]!.error.stderrTail ?? ''}`).toContain("unknown option 'no-such-option'")
      expect(await sh(edge!.name, live)).toBe(before)
      const after = await answers(6)
      expect(after.every((a) => CORE.has(a)), after.join(', ')).toBe(true)
    })

    it('applies a changed var as check predicted, with a graceful reload: no request fails meanwhile', async () => {
      const inv = edgeInventory('extraBackendLines: ["http-response set-header X-Havn-Rev 2"]')
      const expected = [`${edge!.name} file:/etc/haproxy/haproxy.cfg content`, `${edge!.name} service:haproxy state`]
      const writes = hostWrites(bed, edge!.name)
      const check = await run('check', inv)
      expect(check.code).toBe(2)
      expect(changeSet(events(check.stdout), ['would-change', 'uncertain'])).toEqual(expected)
      const diff = events(check.stdout).flatMap((e) => (e.type === 'step:end' ? (e.changes as { field?: string; before?: string; after?: string }[]) : [])).find((c) => c.field === 'content')!
      expect(diff.before).not.toContain('X-Havn-Rev')
      expect(diff.after).toBe(diff.before!.replace(/\n$/, '\n\thttp-response set-header X-Havn-Rev 2\n'))
      expect(hostWrites(bed, edge!.name)).toEqual(writes)

      const pidBefore = await sh(edge!.name, processes)
      let stop = false
      const during: string[] = []
      // Bounded: at most 600 requests, and it stops as soon as the run is over.
      const load = (async () => {
        for (let i = 0; i < 600 && !stop; i++) during.push((await get()).answer)
      })()
      const res = await run('run', inv)
      stop = true
      await load
      const evs = events(res.stdout)
      expect(failures(evs)).toEqual([])
      expect(res.code).toBe(0)
      expect(changeSet(evs, ['changed'])).toEqual(expected)
      expect(during.length).toBeGreaterThan(5)
      expect(during.filter((a) => !CORE.has(a))).toEqual([])
      // systemd's reload only signals the master (kill -USR2), which then starts the new worker: poll briefly.
      let rev = (await get()).headers['x-havn-rev']
      for (let i = 0; i < 50 && systemd && rev !== '2'; i++) {
        await new Promise((r) => setTimeout(r, 100))
        rev = (await get()).headers['x-havn-rev']
      }
      expect(rev).toBe('2')
      const pidAfter = await sh(edge!.name, processes)
      if (systemd) {
        // Through systemd: the same master (MainPID) under the unit, with a new worker.
        const [main, ...workers] = pidBefore.trim().split('\n')
        const [mainAfter, ...workersAfter] = pidAfter.trim().split('\n')
        expect(mainAfter).toBe(main)
        // The old worker may still be finishing its connections beside the new one.
        expect(workersAfter.filter((w) => !workers.includes(w))).toHaveLength(1)
        expect(await sh(edge!.name, 'systemctl show -p NRestarts --value haproxy; systemctl is-active haproxy')).toBe('0\nactive\n')
      } else expect(pidAfter).not.toBe(pidBefore)
    })

    itFull('a reload lost to a killed run is done by the next run', async () => {
      const inv = edgeInventory('extraBackendLines: ["http-response set-header X-Havn-Rev 3"]')
      const first = await startUntil(['run', 'test/e2e/playbooks/role-haproxy-interrupted.ts', '-i', inv, ...ssh, '--output', 'json'], /"step":"slow step"/)
      process.kill(first.pid, 'SIGKILL')
      await first.done
      // The new config is on disk, but the killed run never reloaded: the old one still serves.
      expect(await sh(edge!.name, 'cat /etc/haproxy/haproxy.cfg')).toContain('X-Havn-Rev 3')
      expect((await get()).headers['x-havn-rev']).toBe('2')

      const next = await run('run', inv, '--break-lock')
      const evs = events(next.stdout)
      expect(failures(evs)).toEqual([])
      expect(next.code).toBe(0)
      expect(changeSet(evs, ['changed'])).toEqual([`${edge!.name} service:haproxy state`])
      expect((await get()).headers['x-havn-rev']).toBe('3')
    })
  })
})
