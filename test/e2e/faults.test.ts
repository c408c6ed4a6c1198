import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { events, havn, REPO, type JsonEvent } from './cli.ts'
import { faultTable, recapMismatches, type FaultRow } from './fault-ledger.ts'
import { BASTION, ROLE_HOSTS } from './hosts.ts'
import { bedHosts, hostsYaml, writeInventory } from './support.ts'
import { freezeHost, hostExec, restartHost, thawHost } from '../testbed/index.ts'
import { writeEstateInventory, writeResticPassword } from '../testbed/estate.ts'

const bed = inject('testbed')
// Fleet hosts: this file changes only /srv/fault* on them, and brings their link back up.
const HOSTS = ['host15', 'host16']
const ssh = ['--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts, '--output', 'json']
const inventory = () => writeInventory({ 'hosts.yaml': hostsYaml(bedHosts(bed, HOSTS)) })

const table: FaultRow[] = []
afterAll(() => {
  if (table.length > 0) process.stdout.write(`\nfault suite:\n${faultTable(table)}\n\n`)
})

/** 1 when `content` (what the target path holds) is neither the old nor the new file, else 0. */
const halfWritten = (content: string, ...whole: string[]) => (whole.includes(content) ? 0 : 1)

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

/** What a faulted host16 holds at `path` after the fault run and after the run that followed it. */
async function linkLikeCase(fault: string, path: string, commandTimeout: string, inject: () => Promise<unknown>, undo: () => Promise<unknown>) {
  const inv = inventory()
  const { res, elapsed } = await runWithFault(inv, path, commandTimeout, inject, undo)
  const faulted = (await hostExec(bed, 'host16', `cat ${path} 2>/dev/null`)).stdout
  const again = await havn(['run', 'test/e2e/playbooks/fault-steps.ts', '-i', inv, ...ssh], { env: { HAVN_E2E_PATH: path, HAVN_E2E_SLEEP: '0' }, timeoutMs: 60_000 })
  const after = (await hostExec(bed, 'host16', `cat ${path}`)).stdout
  const whole = `${'x'.repeat(16)}\n`
  table.push({
    fault,
    injected: 1,
    hosts: 1,
    runs: 2,
    halfWritten: halfWritten(faulted, '', whole) + halfWritten(after, whole),
    notificationsLost: undefined,
    recapMismatches: recapMismatches(events(res.stdout)) + recapMismatches(events(again.stdout)),
  })
  await Promise.all(HOSTS.map((h) => hostExec(bed, h, `rm -f ${path}`)))
  return { res, elapsed, again, after, whole }
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
      table.push({ fault: 'full disk (64 KiB tmpfs)', injected: 1, hosts: 1, runs: 1, halfWritten: halfWritten(left.stdout, 'old\napp.conf\n'), notificationsLost: undefined, recapMismatches: recapMismatches(events(res.stdout)) })
      expect(left.stdout).toBe('old\napp.conf\n')
    } finally {
      await hostExec(bed, 'host15', 'umount /srv/fault; rmdir /srv/fault')
    }
  })

  it('a link that goes down mid-run: that host fails within the command timeout, the other finishes, and after the link returns the next run converges', async () => {
    const { res, elapsed, again, after, whole } = await linkLikeCase('link down mid-run', '/srv/fault-link.conf', '8', () => hostExec(bed, 'host16', 'ip link set eth0 down'), () => hostExec(bed, 'host16', 'ip link set eth0 up'))
    expect(res.code).toBe(1)
    const recap = events(res.stdout).at(-1)!
    expect(recap.hosts.host15).toMatchObject({ failed: 0, unreachable: false })
    expect(recap.hosts.host16.failed + (recap.hosts.host16.unreachable ? 1 : 0)).toBeGreaterThan(0)
    expect(elapsed).toBeLessThan(30_000)
    expect(again.code, again.stderr).toBe(0)
    expect(events(again.stdout).at(-1)!.hosts.host16).toMatchObject({ failed: 0, unreachable: false })
    expect(after).toBe(whole)
  })

  it('a host that freezes mid-run (every process stopped in the freezer cgroup): --command-timeout ends it with a clear error, nothing else waits for it, and after it thaws the next run converges', async () => {
    const { res, elapsed, again } = await linkLikeCase('host frozen mid-run', '/srv/fault-freeze.conf', '6', () => freezeHost(bed, 'host16'), () => thawHost(bed, 'host16'))
    expect(elapsed).toBeLessThan(30_000)
    expect(res.code).toBe(1)
    const evs = events(res.stdout)
    expect(evs.at(-1)!.hosts.host15).toMatchObject({ failed: 0, unreachable: false })
    const failed = evs.find((e) => e.type === 'step:end' && e.host === 'host16' && e.status === 'failed')!
    expect(failed.error).toMatchObject({ kind: 'timeout', message: 'host host16: command timed out after 6000 ms: sleep 3; echo done' })
    expect(again.code, again.stderr).toBe(0)
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
      const sizeOf = `stat -c %s /srv/fault-kill/big.bin; head -c 4 /srv/fault-kill/big.bin`
      const atKill = (await hostExec(bed, KILL, sizeOf)).stdout
      const after = (await hostExec(bed, KILL, 'cd /srv/fault-kill && cat trigger.conf && stat -c %s .big.bin.havn-* && ls /var/lib/havn/notify')).stdout.split('\n')
      expect(atKill).toBe('4\nold\n')
      expect(after[0]).toBe('two')
      expect(Number(after[1])).toBeLessThan(size)
      expect(after[2]).toBe('e2e-fault-kill-recorded')
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
      const handled = await handlerRuns()
      const listing = (await hostExec(bed, KILL, `cd /srv/fault-kill && ls -A && ${sizeOf}`)).stdout
      const third = await runKill(inv, env)
      table.push({
        fault: 'host killed mid file write',
        injected: 1,
        hosts: 1,
        runs: 3,
        halfWritten: halfWritten(atKill, '4\nold\n', `${size}\nyyyy`) + halfWritten(listing, `big.bin\nhandler.log\ntrigger.conf\n${size}\nyyyy`),
        notificationsLost: handled === 1 ? 0 : 1,
        recapMismatches: recapMismatches(events(killed.stdout)) + recapMismatches(events(again.stdout)) + recapMismatches(events(third.stdout)),
      })
      expect(handled).toBe(1)
      expect(listing).toBe(`big.bin\nhandler.log\ntrigger.conf\n${size}\nyyyy`)
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
      const handled = await handlerRuns()
      const dpkg = (await hostExec(bed, KILL, `dpkg --audit; dpkg-query -W -f='\${Status}' ${pkg}`)).stdout
      const third = await runKill(inv, env)
      table.push({
        fault: 'host killed mid package install',
        injected: 1,
        hosts: 1,
        runs: 4,
        halfWritten: undefined,
        notificationsLost: handled === 1 ? 0 : 1,
        recapMismatches: [killed, check, again, third].reduce((n, r) => n + recapMismatches(events(r.stdout)), 0),
      })
      expect(handled).toBe(1)
      expect(dpkg).toBe('install ok installed')
      expect(events(third.stdout).at(-1)!.hosts[KILL]).toMatchObject({ changed: 0, failed: 0 })
    })
  })

  it('the controller SIGKILLed at 10 random points of the site playbook: no half-written config, no lock blocks a run silently, the next runs converge and no notification is lost', async () => {
    const hosts = [...ROLE_HOSTS.faultSite]
    const dir = mkdtempSync(join(tmpdir(), 'havn-fault-site-'))
    const inv = join(dir, 'inventory')
    const mapping = await writeEstateInventory(bed, hosts, inv)
    const passwordFile = join(dir, 'restic-password')
    await writeResticPassword(passwordFile)
    const env = { ...process.env, NO_COLOR: '1', HAVN_RESTIC_PASSWORD_FILE: passwordFile }
    const args = ['run', 'playbooks/site.ts', '-i', inv, ...ssh]
    // Seeded, printed and overridable, so a failing sequence of kill points can be replayed.
    const seed = Number(process.env.HAVN_FAULT_SEED ?? Date.now() % 1_000_000)
    let state = seed
    const random = () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31)
    const kills: { afterSteps: number; lastStep: string; killedPid: number }[] = []
    const earlyEnds: string[] = []
    let runs = 0
    const halfWritten: string[] = []
    /** What HALF_WRITTEN_SH finds on `h`, each line naming the host and when it was looked at. */
    const halfWrittenOn = async (h: string, when: string): Promise<string[]> => {
      const found = (await hostExec(bed, h, HALF_WRITTEN_SH)).stdout.split('\n').filter(Boolean).map((l) => `${h} after ${when}: ${l}`)
      const busy = found.filter((l) => l.includes(DPKG_BUSY))
      if (busy.length) process.stdout.write(`not counted, a package install of the killed run still at work:\n  ${busy.join('\n  ')}\n`)
      return found.filter((l) => !l.includes(DPKG_BUSY))
    }
    let silentLocks = 0
    let mismatches = 0
    for (let attempt = 0; kills.length < 10 && attempt < 20; attempt++) {
      // A point of the playbook, not of the clock: after the K-th finished step (K of the
      // 60 or more a site run has until it converges), plus up to half a second into the next one.
      const afterSteps = 1 + Math.floor(random() * 60)
      const lag = Math.floor(random() * 500)
      const child = spawn(process.execPath, [`${REPO}bin/havn.js`, ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] })
      runs++
      let out = ''
      let ended = 0
      let timer: NodeJS.Timeout | undefined
      const kill = () => child.kill('SIGKILL')
      const bound = setTimeout(kill, 300_000)
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString()
        const steps = out.split('"type":"step:end"').length - 1
        if (steps >= afterSteps && ended === 0) {
          ended = steps
          timer = setTimeout(kill, lag)
        }
      })
      const code = await new Promise<number | null>((r) => child.on('close', r))
      clearTimeout(timer)
      clearTimeout(bound)
      const evs = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as JsonEvent)
      // A run that reached its end before the kill is not a kill point; its recap must be exact.
      if (code !== null) {
        mismatches += recapMismatches(evs)
        silentLocks += lockFailures(evs).filter((e) => !/stale/.test(e.error.message)).length
        earlyEnds.push(`exit ${code}: ${evs.filter((e) => e.type === 'step:end' && e.status === 'failed').map((e) => `${e.host} ${e.step}: ${e.error?.message}`).join('; ')}`)
        continue
      }
      silentLocks += lockFailures(evs).filter((e) => !/stale/.test(e.error.message)).length
      kills.push({ afterSteps, lastStep: evs.filter((e) => e.type === 'step:start').at(-1)?.step ?? '(connecting)', killedPid: child.pid! })
      for (const h of hosts) halfWritten.push(...(await halfWrittenOn(h, `kill ${kills.length}`)))
    }
    if (earlyEnds.length) process.stdout.write(`runs that ended before their kill point:\n  ${earlyEnds.join('\n  ')}\n`)
    process.stdout.write(`controller kills (HAVN_FAULT_SEED=${seed}):\n${kills.map((k, i) => `  ${i + 1}. after ${k.afterSteps} steps, during: ${k.lastStep}`).join('\n')}\n`)
    expect(kills).toHaveLength(10)

    // Sessions of a killed run may still finish their step and hold the lock a moment: a run that
    // meets one must say it is stale and name the killed run; a later run then gets the host.
    let final: JsonEvent[] = []
    for (let attempt = 0; attempt < 5; attempt++) {
      const res = await havn(args, { env: { HAVN_RESTIC_PASSWORD_FILE: passwordFile }, timeoutMs: 600_000 })
      runs++
      final = events(res.stdout)
      mismatches += recapMismatches(final)
      if (res.code === 0) break
      const locked = lockFailures(final)
      silentLocks += locked.filter((e) => !/stale/.test(e.error.message)).length
      const other = final.filter((e) => e.type === 'step:end' && e.status === 'failed' && e.error?.kind !== 'locked')
      expect(other, res.stderr).toEqual([])
      expect(locked.every((e) => kills.some((k) => e.error.message.includes(`(pid ${k.killedPid})`))), JSON.stringify(locked)).toBe(true)
      await new Promise((r) => setTimeout(r, 3000))
    }
    expect(final.at(-1)?.type).toBe('recap')
    expect(Object.values(final.at(-1)!.hosts as Record<string, { failed: number }>).every((h) => h.failed === 0)).toBe(true)
    const still = await havn(args, { env: { HAVN_RESTIC_PASSWORD_FILE: passwordFile }, timeoutMs: 300_000 })
    runs++
    mismatches += recapMismatches(events(still.stdout))
    const changedAfter = events(still.stdout).filter((e) => e.type === 'step:end' && e.status !== 'ok' && e.status !== 'skipped')

    let lost = 0
    for (const h of hosts) lost += (await hostExec(bed, h, 'ls -A /var/lib/havn/notify 2>/dev/null')).stdout.split('\n').filter(Boolean).length
    for (const h of hosts) lost += (await hostExec(bed, h, WG_PEERS_LIVE_SH)).code === 0 ? 0 : 1
    lost += (await hostExec(bed, mapping.get('oslo-pg1')!, PG_CONF_LOADED_SH)).code === 0 ? 0 : 1
    lost += (await hostExec(bed, mapping.get('oslo-edge1')!, HAPROXY_RELOADED_SH)).code === 0 ? 0 : 1
    for (const h of hosts) halfWritten.push(...(await halfWrittenOn(h, 'the end')))
    table.push({ fault: 'controller SIGKILLed (site playbook)', injected: kills.length, hosts: hosts.length, runs, halfWritten: halfWritten.length, notificationsLost: lost, recapMismatches: mismatches })

    expect(halfWritten).toEqual([])
    expect(silentLocks).toBe(0)
    expect(mismatches).toBe(0)
    expect(still.code, still.stderr).toBe(0)
    expect(changedAfter.map((e) => `${e.host} ${e.step} ${e.status}`)).toEqual([])
    expect(lost).toBe(0)
  })

  it('50 hosts reached through one ProxyJump bastion whose sshd keeps the default MaxSessions and MaxStartups: every host is reached, through the bastion, and no channel is dropped', async () => {
    const jump = bedHosts(bed, [BASTION.jump])[0]!
    const targets = bedHosts(bed, BASTION.targets)
    const dir = mkdtempSync(join(tmpdir(), 'havn-bastion-'))
    const config = join(dir, 'ssh_config')
    // The first value ssh config obtains wins, so the ProxyJump block goes before the bed's own.
    writeFileSync(config, `Host ${targets.map((t) => t.name).join(' ')}\n  ProxyJump ${jump.name}\n\n${readFileSync(bed.sshConfig, 'utf8')}`)
    const inv = writeInventory({ 'hosts.yaml': `all:\n  hosts:\n${targets.map((t) => `    ${t.name}: {}\n`).join('')}` })
    const sshd = await hostExec(bed, jump.name, "sshd -T 2>/dev/null | grep -E '^(maxsessions|maxstartups) '")
    expect(sshd.stdout).toBe('maxsessions 10\nmaxstartups 10:30:100\n')
    const res = await havn(['exec', 'all', '-i', inv, '--ssh-config', config, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts, '--output', 'json', '--', 'echo "$SSH_CONNECTION"'], { timeoutMs: 120_000 })
    const evs = events(res.stdout)
    const answers = evs.filter((e) => e.type === 'step:end' && e.status !== 'failed')
    const via = new Set(answers.map((e) => String(e.stdout ?? '').split(' ')[0]))
    table.push({ fault: `${targets.length} hosts behind one bastion`, injected: 0, hosts: targets.length, runs: 1, halfWritten: undefined, notificationsLost: undefined, recapMismatches: recapMismatches(evs) })
    expect(res.code, res.stderr + res.stdout.slice(-2000)).toBe(0)
    expect(answers).toHaveLength(targets.length)
    expect([...via]).toEqual([jump.address])
  })
})

function lockFailures(evs: readonly JsonEvent[]): JsonEvent[] {
  return evs.filter((e) => e.type === 'step:end' && e.status === 'failed' && e.error?.kind === 'locked')
}

/** The prefix HALF_WRITTEN_SH gives a finding in a file that a package install still in progress may be writing. */
const DPKG_BUSY = 'dpkg busy: '

/**
 * Every config file the site's roles write that exists and is not whole: a non-empty file that does
 * not end in a newline (each role renders whole lines), or one its own checker rejects. haproxy.cfg
 * and pg_hba.conf start as the packages' own: while a dpkg of a killed run is still at work on the
 * host, or left a package half-installed, a finding in them is prefixed with DPKG_BUSY.
 */
const HALF_WRITTEN_SH = `busy=
for c in /proc/[0-9]*/comm; do n=; read -r n 2>/dev/null < "$c"; [ "$n" = dpkg ] && busy=1; done
[ -n "$(dpkg --audit 2>/dev/null)" ] && busy=1
for f in /etc/haproxy/haproxy.cfg /etc/wireguard/*.conf /etc/postgresql/*/main/conf.d/60-havn-wan.conf /etc/postgresql/*/main/pg_hba.conf \\
  /etc/mysql/mariadb.conf.d/60-nvme.cnf /etc/havn-restic/env /etc/havn-restic/excludes /usr/local/sbin/havn-restic /usr/local/sbin/havn-restic-backup /etc/cron.d/havn-restic; do
  [ -f "$f" ] || continue
  p=; case $f in /etc/haproxy/*|*/pg_hba.conf) [ -z "$busy" ] || p='${DPKG_BUSY}';; esac
  [ ! -s "$f" ] || [ "$(tail -c1 "$f" | wc -l)" = 1 ] || echo "$p$f: does not end in a newline"
done
p=; [ -z "$busy" ] || p='${DPKG_BUSY}'
if [ -f /etc/haproxy/haproxy.cfg ] && command -v haproxy >/dev/null; then out=$(haproxy -c -q -f /etc/haproxy/haproxy.cfg 2>&1) || echo "$p/etc/haproxy/haproxy.cfg: rejected by haproxy -c: $(printf '%s' "$out" | tail -n 3 | tr '\\n' ' ')"; fi
for s in /usr/local/sbin/havn-restic /usr/local/sbin/havn-restic-backup; do [ ! -f "$s" ] || sh -n "$s" 2>/dev/null || echo "$s: rejected by sh -n"; done
true`

/** Exits 0 when every WireGuard interface configured in /etc/wireguard runs with exactly its file's peers. */
const WG_PEERS_LIVE_SH = `for c in /etc/wireguard/*.conf; do
  i=$(basename "$c" .conf)
  want=$(awk '/^\\[Peer\\]/{p=1} p && $1 == "PublicKey" {print $3}' "$c" | sort)
  have=$(wg show "$i" peers | sort) || exit 1
  [ "$want" = "$have" ] || { echo "$i: live peers differ from $c"; exit 1; }
done`

/** Exits 0 when PostgreSQL loaded its config after the last write to it (to the microsecond) and no setting waits for a restart. */
const PG_CONF_LOADED_SH = `newest=$(stat -c %.9Y /etc/postgresql/*/main/postgresql.conf /etc/postgresql/*/main/pg_hba.conf /etc/postgresql/*/main/conf.d/* | sort -n | tail -1)
loaded=$(su postgres -c "psql -Atc 'select extract(epoch from pg_conf_load_time())'")
pending=$(su postgres -c "psql -Atc 'select count(*) from pg_settings where pending_restart'")
awk -v l="$loaded" -v n="$newest" 'BEGIN { exit !(l >= n) }' && [ "$pending" = 0 ]`

/**
 * Exits 0 when the newest HAProxy process started after the last write of its config (a reload
 * starts new workers). Times to 10 ms: whole seconds (/proc/stat's btime) cannot order a reload
 * made in the same second as the write.
 */
const HAPROXY_RELOADED_SH = `hz=$(getconf CLK_TCK); boot=$(awk -v now="$(date +%s.%N)" '{ printf "%.3f", now - $1 }' /proc/uptime)
newest=0
for p in $(pidof haproxy); do newest=$(awk -v hz="$hz" -v b="$boot" -v n="$newest" '{sub(/.*\\) /, ""); t = b + $20 / hz; printf "%.3f", (t > n ? t : n)}' /proc/$p/stat); done
awk -v t="$newest" -v c="$(stat -c %.9Y /etc/haproxy/haproxy.cfg)" 'BEGIN { exit !(t >= c) }'`
