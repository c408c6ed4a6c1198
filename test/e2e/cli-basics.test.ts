import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { events, havn } from './cli.ts'
import { bedHosts, connectionCounter, hostNames, hostsYaml, writeInventory } from './support.ts'
import { stopHost } from '../testbed/index.ts'

const bed = inject('testbed')
const twenty = hostNames(1, 20)
const ssh = ['--ssh-config', bed.sshConfig, '--identity', bed.identityFile]

function knownHostsFor(addresses: readonly string[]): string[] {
  return readFileSync(bed.knownHosts, 'utf8')
    .split('\n')
    .filter((l) => addresses.includes(l.split(' ')[0] ?? ''))
}

function scratchFile(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'havn-e2e-')), name)
  writeFileSync(file, text)
  return file
}

/** `SHA256:…` fingerprint of a known_hosts line, as OpenSSH prints it. */
function fingerprintOf(line: string): string {
  const out = execFileSync('ssh-keygen', ['-l', '-f', scratchFile('kh', `${line}\n`)], { encoding: 'utf8' })
  const fp = out.split(' ')[1]
  if (!fp?.startsWith('SHA256:')) throw new Error(`unexpected ssh-keygen output: ${out}`)
  return fp
}

describe('havn run over real sshd hosts', () => {
  it('runs hostname on 20 hosts and each prints its own name', async () => {
    const inv = writeInventory({ 'hosts.yaml': hostsYaml(bedHosts(bed, twenty)) })
    const line = await havn(['run', 'test/e2e/playbooks/hostname.ts', '-i', inv, ...ssh, '--known-hosts', bed.knownHosts, '--output', 'line'])
    expect(line.stderr).toBe('')
    expect(line.code).toBe(0)
    for (const name of twenty) expect(line.stdout).toMatch(new RegExp(`^${name} +\\|   ${name}$`, 'm'))

    const json = await havn(['run', 'test/e2e/playbooks/hostname.ts', '-i', inv, ...ssh, '--known-hosts', bed.knownHosts, '--output', 'json'])
    expect(json.code).toBe(0)
    const evs = events(json.stdout)
    const recap = evs.at(-1)!
    expect(recap.type).toBe('recap')
    expect(Object.keys(recap.hosts).sort()).toEqual([...twenty].sort())
    for (const r of Object.values(recap.hosts)) expect(r).toMatchObject({ failed: 0, unreachable: false, changed: 1 })
    const outputs = evs.filter((e) => e.type === 'step:end').map((e) => `${String(e.host)}=${String(e.stdout).trim()}`)
    expect(outputs.sort()).toEqual(twenty.map((n) => `${n}=${n}`).sort())
  })

  it('refuses a host whose known key changed, names the offered fingerprint, and runs the others (exit 3)', async () => {
    const hosts = bedHosts(bed, hostNames(1, 4))
    const victim = hosts[2]!
    const lines = readFileSync(bed.knownHosts, 'utf8').split('\n').filter((l) => l.trim())
    const realLine = lines.find((l) => l.startsWith(`${victim.address} `))!
    const otherKey = lines.find((l) => l.startsWith(`${hosts[0]!.address} `))!.split(' ').slice(1).join(' ')
    const tampered = lines.map((l) => (l === realLine ? `${victim.address} ${otherKey}` : l))
    const badLine = tampered.indexOf(`${victim.address} ${otherKey}`) + 1
    const kh = scratchFile('known_hosts', `${tampered.join('\n')}\n`)

    const res = await havn(['run', 'test/e2e/playbooks/hostname.ts', '-i', writeInventory({ 'hosts.yaml': hostsYaml(hosts) }), ...ssh, '--known-hosts', kh, '--output', 'json'])
    expect(res.code).toBe(3)
    const evs = events(res.stdout)
    const refused = evs.find((e) => e.type === 'host:unreachable')!
    expect(refused.host).toBe(victim.name)
    expect(refused.error.kind).toBe('host-key')
    expect(refused.error.message).toContain(fingerprintOf(realLine))
    expect(refused.error.message).toContain(`${kh}:${badLine}`)
    const recap = evs.at(-1)!
    for (const h of hosts) expect(recap.hosts[h.name]).toMatchObject(h === victim ? { unreachable: true, changed: 0 } : { unreachable: false, changed: 1 })
  })

  it('refuses an unknown host key by default and records it with --accept-new-host-keys', async () => {
    const [host] = bedHosts(bed, ['host5'])
    const inv = writeInventory({ 'hosts.yaml': hostsYaml([host!]) })
    const kh = scratchFile('known_hosts', '')
    const refused = await havn(['run', 'test/e2e/playbooks/hostname.ts', '-i', inv, ...ssh, '--known-hosts', kh])
    expect(refused.code).toBe(3)
    expect(refused.stdout).toMatch(/unknown host key SHA256:\S+/)
    expect(refused.stdout).toContain('--accept-new-host-keys')
    expect(readFileSync(kh, 'utf8')).toBe('')

    const accepted = await havn(['run', 'test/e2e/playbooks/hostname.ts', '-i', inv, ...ssh, '--known-hosts', kh, '--accept-new-host-keys'])
    expect(accepted.code).toBe(0)
    expect(accepted.stdout).toMatch(/^host5 +\|   host5$/m)
    expect(readFileSync(kh, 'utf8').trim().split('\n')).toEqual(knownHostsFor([host!.address]))
  })

  it('accepts 20 new hosts at once and writes exactly 20 correct known_hosts lines', async () => {
    const hosts = bedHosts(bed, twenty)
    const kh = scratchFile('known_hosts', '')
    const res = await havn(['run', 'test/e2e/playbooks/hostname.ts', '-i', writeInventory({ 'hosts.yaml': hostsYaml(hosts) }), ...ssh, '--known-hosts', kh, '--accept-new-host-keys'])
    expect(res.code).toBe(0)
    const written = readFileSync(kh, 'utf8').split('\n').filter((l) => l)
    expect(written).toHaveLength(20)
    expect([...written].sort()).toEqual(knownHostsFor(hosts.map((h) => h.address)).sort())
  })

  it('reaches a host that only another test host can reach, through ProxyJump in ssh_config', async () => {
    const res = await havn(['run', 'test/e2e/playbooks/hostname.ts', '-i', bed.inventoryDir, ...ssh, '--known-hosts', bed.knownHosts, '--limit', 'hidden1', '--output', 'line'])
    expect(res.stderr).toBe('')
    expect(res.code).toBe(0)
    expect(res.stdout).toMatch(/^hidden1 +\|   hidden1$/m)
  })

  it('becomes root through sudo as deploy with the password from a file, and never prints the password', async () => {
    const password = readFileSync(bed.becomePasswordFile, 'utf8').trim()
    expect(password.length).toBeGreaterThan(8)
    const inv = writeInventory({ 'hosts.yaml': hostsYaml(bedHosts(bed, ['host6', 'host7']), () => 'user: deploy') })
    const base = ['run', 'test/e2e/playbooks/become.ts', '-i', inv, ...ssh, '--known-hosts', bed.knownHosts, '--become-password-file', bed.becomePasswordFile]
    const line = await havn([...base, '--output', 'line'])
    expect(line.code).toBe(0)
    expect(line.stdout).toMatch(/^host6 +\|   0$/m)
    expect(line.stdout).toMatch(/^host7 +\|   0$/m)
    const json = await havn([...base, '--output', 'json'])
    expect(json.code).toBe(0)
    const ids = events(json.stdout).filter((e) => e.type === 'step:end').map((e) => String(e.stdout).trim())
    expect(ids).toEqual(['0', '0'])
    // A saved plan and the report files of a become run hold it just as little.
    const dir = mkdtempSync(join(tmpdir(), 'havn-become-plan-'))
    const files = { plan: join(dir, 'p.json'), report: join(dir, 'r.html'), junit: join(dir, 'j.xml') }
    const check = await havn(['check', ...base.slice(1), '--output', 'json', '--out', files.plan, '--report', files.report, '--junit', files.junit], { env: { HAVN_PLAN_KEY_FILE: join(dir, 'key') } })
    expect(check.code).toBe(2)
    for (const out of [line.stdout, line.stderr, json.stdout, json.stderr, check.stdout, check.stderr, ...Object.values(files).map((f) => readFileSync(f, 'utf8'))]) expect(out).not.toContain(password)
  })

  it('exits 1 when a command fails somewhere, with the exit code and stderr tail, while other hosts finish', async () => {
    const inv = writeInventory({ 'hosts.yaml': hostsYaml(bedHosts(bed, ['host8', 'host9', 'host10']), (n) => (n === 'host9' ? 'mustFail: true' : '')) })
    const junitPath = join(mkdtempSync(join(tmpdir(), 'havn-junit-')), 'run.xml')
    const res = await havn(['run', 'test/e2e/playbooks/fail-one.ts', '-i', inv, ...ssh, '--known-hosts', bed.knownHosts, '--output', 'json', '--junit', junitPath])
    expect(res.code).toBe(1)
    const junit = readFileSync(junitPath, 'utf8')
    expect(junit).toContain('<testsuites name="havn apply fail-one" tests="3" failures="1">')
    expect(junit).toContain('<failure type="command" message="command failed (exit 7): echo going down &gt;&amp;2; exit 7">going down</failure>')
    const evs = events(res.stdout)
    const failed = evs.find((e) => e.type === 'step:end' && e.status === 'failed')!
    expect(failed.host).toBe('host9')
    expect(failed.error).toMatchObject({ kind: 'command', exitCode: 7, stderrTail: 'going down' })
    const recap = evs.at(-1)!
    expect(recap.hosts.host8).toMatchObject({ changed: 1, failed: 0 })
    expect(recap.hosts.host10).toMatchObject({ changed: 1, failed: 0 })
  })

  it('--limit @last-failed runs only the hosts that failed last time; --limit @FILE reads a retry file', async () => {
    const env = { HAVN_RUNS_DIR: mkdtempSync(join(tmpdir(), 'havn-runs-')) }
    const inv = writeInventory({ 'hosts.yaml': hostsYaml(bedHosts(bed, ['host8', 'host9', 'host10']), (n) => (n === 'host9' ? 'mustFail: true' : '')) })
    const base = ['run', 'test/e2e/playbooks/fail-one.ts', '-i', inv, ...ssh, '--known-hosts', bed.knownHosts, '--output', 'json']
    const none = await havn([...base, '--limit', '@last-failed'], { env })
    expect(none.code).toBe(4)
    expect(none.stderr).toContain('no run has been recorded here yet')
    expect((await havn(base, { env })).code).toBe(1)
    const retry = await havn([...base, '--limit', '@last-failed'], { env })
    expect(retry.code).toBe(1)
    expect(Object.keys(events(retry.stdout).at(-1)!.hosts)).toEqual(['host9'])
    const file = join(env.HAVN_RUNS_DIR, 'site.retry')
    writeFileSync(file, 'host10\n# a comment\nhost8\n')
    const fromFile = await havn([...base, '--limit', `@${file}`], { env })
    expect(fromFile.code).toBe(0)
    expect(Object.keys(events(fromFile.stdout).at(-1)!.hosts).sort()).toEqual(['host10', 'host8'])
  })
})

describe('invalid input stops before any host is contacted (exit 4)', () => {
  let counter: Awaited<ReturnType<typeof connectionCounter>>
  beforeAll(async () => {
    counter = await connectionCounter()
  })
  afterAll(async () => {
    await counter.close()
  })
  const local = () => `all:\n  hosts:\n    trap: { address: 127.0.0.1, port: ${counter.port} }\n`

  it('a YAML syntax error names the file and line', async () => {
    const inv = writeInventory({ 'hosts.yaml': `${local()}    broken: { address: 127.0.0.1\n    other: {}\n` })
    const res = await havn(['run', 'test/e2e/playbooks/hostname.ts', '-i', inv, ...ssh])
    expect(res.code).toBe(4)
    expect(res.stderr).toMatch(new RegExp(`${join(inv, 'hosts.yaml')}:[45]:\\d+`))
    expect(counter.count()).toBe(0)
  })

  it('a var of the wrong type names the file, host, role and var', async () => {
    const inv = writeInventory({ 'hosts.yaml': local(), 'host_vars/trap.yaml': 'repeat: "three"\n' })
    const res = await havn(['run', 'test/e2e/playbooks/typed-vars.ts', '-i', inv, ...ssh])
    expect(res.code).toBe(4)
    expect(res.stderr).toContain(join(inv, 'host_vars/trap.yaml'))
    expect(res.stderr).toMatch(/host trap, role greet, at \/repeat: must be integer/)
    expect(counter.count()).toBe(0)
  })

  it('a --limit that matches nothing names the pattern', async () => {
    const inv = writeInventory({ 'hosts.yaml': local() })
    const res = await havn(['run', 'test/e2e/playbooks/hostname.ts', '-i', inv, ...ssh, '--limit', 'nosuchhost'])
    expect(res.code).toBe(4)
    expect(res.stderr).toContain('nosuchhost')
    expect(res.stderr).toContain('--limit')
    expect(counter.count()).toBe(0)
  })
})

describe('an unreachable host', () => {
  it('is reported within the connect timeout while the others finish (exit 3)', async () => {
    await stopHost(bed, 'host21')
    const inv = writeInventory({ 'hosts.yaml': hostsYaml(bedHosts(bed, ['host11', 'host12', 'host21'])) })
    const res = await havn(['run', 'test/e2e/playbooks/hostname.ts', '-i', inv, ...ssh, '--known-hosts', bed.knownHosts, '--connect-timeout', '3', '--output', 'json'])
    expect(res.code).toBe(3)
    const evs = events(res.stdout)
    const down = evs.find((e) => e.type === 'host:unreachable')!
    expect(down).toMatchObject({ host: 'host21', error: { kind: 'unreachable' } })
    const recap = evs.at(-1)!
    expect(recap.hosts.host11).toMatchObject({ changed: 1, unreachable: false })
    expect(recap.hosts.host12).toMatchObject({ changed: 1, unreachable: false })
    expect(res.ms).toBeLessThan(3_000 + 8_000)
  })
})
