import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { hostExec } from '../testbed/index.ts'
import { events, havn } from './cli.ts'
import { bedHosts, hostNames, hostsYaml, hostWrites, writeInventory, changeSet, failures, hostSh } from './support.ts'

const bed = inject('testbed')
const ssh = ['--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts]
const fleet = hostNames(15, 19)



const sh = (host: string, script: string): Promise<string> => hostSh(bed, host, script)

describe('every builtin module on 5 fresh hosts', () => {
  const inv = writeInventory({ 'hosts.yaml': hostsYaml(bedHosts(bed, fleet), (n) => (n === 'host16' ? 'appRole: db' : '')) })
  const args = (verb: string) => [verb, 'test/e2e/playbooks/all-modules.ts', '-i', inv, ...ssh, '--output', 'json']

  it('check changes nothing, predicts exactly what run makes, and a second run changes nothing', async () => {
    const before = fleet.map((h) => hostWrites(bed, h))

    const check = await havn(args('check'))
    const checkEvents = events(check.stdout)
    expect(failures(checkEvents)).toEqual([])
    expect(check.code).toBe(2)
    expect(fleet.map((h) => hostWrites(bed, h))).toEqual(before)

    const predicted = changeSet(checkEvents, ['would-change', 'uncertain'])
    for (const resource of ['package:haproxy', 'service:haproxy', 'user:appuser', 'directory:/etc/app', 'file:/etc/app/app.conf', 'file:/etc/app/my.cnf', 'sysctl:net.ipv4.ip_forward', 'command:date -u > /etc/app/initialized']) {
      expect(predicted.some((c) => c.startsWith(`host15 ${resource} `)), `check predicts a change of ${resource}`).toBe(true)
    }
    // The handler would run too, although cron is not installed yet at check time.
    expect(checkEvents.some((e) => e.type === 'step:end' && e.host === 'host15' && e.role === 'handler e2e-all-modules-restart-cron' && e.status === 'would-change')).toBe(true)

    const run = await havn(args('run'))
    const runEvents = events(run.stdout)
    expect(failures(runEvents)).toEqual([])
    expect(run.code).toBe(0)
    expect(changeSet(runEvents, ['changed'])).toEqual(predicted)

    // The services and files are really there.
    expect(await sh('host16', 'cat /etc/app/app.conf /etc/app/app.env')).toBe('name = host16\nrole = db\nAPP_TUNED=yes\n')
    expect(await sh('host15', "stat -c '%a %U' /etc/app /etc/app/app.conf")).toBe('750 root\n640 root\n')
    expect(await sh('host15', 'cat /etc/app/my.cnf')).toBe('[mysqld]\nnet_read_timeout = 60\n')
    expect(await sh('host15', 'cat /proc/sys/net/ipv4/ip_forward; cat /etc/sysctl.d/99-havn.conf')).toBe('1\nnet.ipv4.ip_forward = 1\n')
    expect(await sh('host15', "dpkg-query -W -f='${Status}' haproxy cron")).toBe('install ok installedinstall ok installed')
    expect((await hostExec(bed, 'host15', 'service haproxy status')).code).not.toBe(0)
    expect(await sh('host15', 'service cron status >/dev/null && echo running')).toBe('running\n')
    expect(await sh('host15', 'getent passwd appuser | cut -d: -f6,7; test -d /home/appuser && echo home')).toBe('/home/appuser:/bin/sh\nhome\n')

    const again = await havn(args('run'))
    const againEvents = events(again.stdout)
    expect(again.code).toBe(0)
    expect(changeSet(againEvents, ['changed', 'would-change', 'uncertain'])).toEqual([])
    const recap = againEvents.at(-1)!
    for (const h of fleet) expect(recap.hosts[h]).toMatchObject({ changed: 0, failed: 0 })
  })

  it('after drift by hand, check predicts exactly what run repairs', async () => {
    await sh('host15', "echo 'name = tampered' > /etc/app/app.conf; chmod 0644 /etc/app/app.conf; touch /etc/app/obsolete.conf")
    await sh('host17', "sed -i 's/60/30/' /etc/app/my.cnf; service haproxy start >/dev/null 2>&1; userdel appuser")
    const check = await havn(args('check'))
    const checkEvents = events(check.stdout)
    expect(failures(checkEvents)).toEqual([])
    expect(check.code).toBe(2)
    const predicted = changeSet(checkEvents, ['would-change', 'uncertain'])
    expect(predicted).toEqual(
      expect.arrayContaining([
        'host15 file:/etc/app/app.conf content',
        'host15 file:/etc/app/app.conf mode',
        'host15 file:/etc/app/obsolete.conf -',
        'host17 file:/etc/app/my.cnf content',
      ]),
    )
    expect(predicted.some((c) => c.startsWith('host17 service:haproxy '))).toBe(true)
    expect(predicted.some((c) => c.startsWith('host17 user:appuser '))).toBe(true)
    expect(predicted.filter((c) => !/^host1[57] /.test(c))).toEqual([])

    const run = await havn(args('run'))
    const runEvents = events(run.stdout)
    expect(failures(runEvents)).toEqual([])
    expect(changeSet(runEvents, ['changed'])).toEqual(predicted)
    expect(await sh('host15', 'cat /etc/app/app.conf; test -e /etc/app/obsolete.conf || echo gone')).toBe('name = host15\nrole = web\ngone\n')
  })
})

describe('check mode across dependent steps', () => {
  it('check predicts exactly what installing a package and starting its service changes, without failing', async () => {
    const inv = writeInventory({ 'hosts.yaml': hostsYaml(bedHosts(bed, ['host20'])) })
    const before = hostWrites(bed, 'host20')
    const res = await havn(['check', 'test/e2e/playbooks/install-start.ts', '-i', inv, ...ssh, '--output', 'json'])
    expect(res.code).toBe(2)
    const steps = events(res.stdout).filter((e) => e.type === 'step:end')
    // Debian's maintainer scripts start and enable haproxy on install, so starting it changes nothing more.
    expect(steps.map((e) => [e.step, e.status])).toEqual([
      [expect.stringContaining('haproxy'), 'would-change'],
      [expect.stringContaining('haproxy'), 'ok'],
    ])
    expect(hostWrites(bed, 'host20')).toEqual(before)
    const run = await havn(['run', 'test/e2e/playbooks/install-start.ts', '-i', inv, ...ssh, '--output', 'json'])
    expect(run.code).toBe(0)
    expect(changeSet(events(run.stdout), ['changed'])).toEqual(changeSet(events(res.stdout), ['would-change', 'uncertain']))
    expect(await sh('host20', 'service haproxy status >/dev/null && echo running')).toBe('running\n')
  })
})

describe('file validation', () => {
  it('retries a step until its predicate holds (a file another process makes), reports the tries, and check never retries', async () => {
    const inv = writeInventory({ 'hosts.yaml': hostsYaml(bedHosts(bed, ['host15'])) })
    await sh('host15', 'rm -rf /srv/retry && mkdir -p /srv/retry')
    const common = ['test/e2e/playbooks/retry-until.ts', '-i', inv, ...ssh, '--output', 'json']
    const check = await havn(['check', ...common])
    expect(check.code).toBe(2)
    expect(events(check.stdout).find((e) => e.type === 'step:end')).toMatchObject({ step: 'wait until ready', status: 'would-change' })
    const started = Date.now()
    const running = havn(['run', ...common])
    await new Promise((r) => setTimeout(r, 1800))
    await sh('host15', 'echo ready > /srv/retry/ready')
    const run = await running
    expect(run.code, run.stderr).toBe(0)
    const end = events(run.stdout).find((e) => e.type === 'step:end')!
    expect(end).toMatchObject({ step: 'wait until ready', status: 'changed', stdout: 'ready\n' })
    expect(end.tries).toBeGreaterThanOrEqual(3)
    expect(end.tries).toBeLessThan(20)
    expect(Date.now() - started).toBeGreaterThan(1800)
    await sh('host15', 'rm -rf /srv/retry')
  })

  it('keeps the live file when the validator rejects new content, and fails with its message', async () => {
    const [host] = bedHosts(bed, ['host18'])
    const good = writeInventory({ 'hosts.yaml': hostsYaml([host!], () => 'body: "good\\nversion 1\\n"') })
    expect((await havn(['run', 'test/e2e/playbooks/validated-file.ts', '-i', good, ...ssh])).code).toBe(0)
    const original = await sh('host18', 'sha256sum /etc/validated.conf; ls -a /etc | grep -c havn || true')

    const bad = writeInventory({ 'hosts.yaml': hostsYaml([host!], () => 'body: "bad\\nversion 2\\n"') })
    const res = await havn(['run', 'test/e2e/playbooks/validated-file.ts', '-i', bad, ...ssh, '--output', 'json'])
    expect(res.code).toBe(1)
    const failed = events(res.stdout).find((e) => e.type === 'step:end' && e.status === 'failed')!
    expect(failed.host).toBe('host18')
    expect(`${failed.error.message}\n${failed.error.stderrTail ?? ''}`).toContain('validator: first line must be good')
    expect(await sh('host18', 'sha256sum /etc/validated.conf; ls -a /etc | grep -c havn || true')).toBe(original)
    expect(await sh('host18', 'cat /etc/validated.conf')).toBe('good\nversion 1\n')
  })
})

describe('secret canary', () => {
  it('never shows a secret var, secret file content or the become password in any output', async () => {
    const canary = `cnry${randomBytes(12).toString('hex')}`
    const [host] = bedHosts(bed, ['host19'])
    await sh('host19', `echo 'deploy:${canary}' | chpasswd`)
    const inv = writeInventory({ 'hosts.yaml': hostsYaml([host!], () => 'user: deploy') })
    // Outside the inventory: every file in an inventory directory is read as an inventory, as in Ansible.
    const passFile = join(writeInventory({ 'become-pass': `${canary}\n` }), 'become-pass')
    const outputs: string[] = []
    for (const [verb, fail] of [['check', '0'], ['run', '0'], ['run', '1']] as const) {
      for (const output of ['human', 'line', 'json']) {
        const res = await havn([verb, 'test/e2e/playbooks/canary.ts', '-i', inv, ...ssh, '--become-password-file', passFile, '--output', output], {
          env: { HAVN_E2E_CANARY: canary, HAVN_E2E_FAIL: fail },
        })
        expect(res.code, `${verb} fail=${fail} --output ${output}: ${res.stderr}`).toBe(fail === '1' ? 1 : verb === 'check' ? 2 : 0)
        outputs.push(res.stdout, res.stderr)
      }
    }
    // The secret really was used on the host, as root through sudo.
    expect(await sh('host19', 'cat /root/canary.txt; cat /root/canary-cmd.txt')).toBe(`${canary}${canary}\n`)
    const joined = outputs.join('\n')
    expect(joined).toContain('sensitive')
    expect(joined).toContain('bad token ***')
    expect(joined).not.toContain(canary)
  })
})
