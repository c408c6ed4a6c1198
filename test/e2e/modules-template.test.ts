import { describe, expect, inject, it } from 'vitest'
import { events, havn } from './cli.ts'
import { ROLE_HOSTS } from './hosts.ts'
import { bedHosts, changeSet, checkThenRun, failures, hostSh, hostsYaml, hostWrites, writeInventory } from './support.ts'

const bed = inject('testbed')
const ssh = ['--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts]
const [host] = ROLE_HOSTS.template

describe('template over SSH', () => {
  it('renders an Ansible .j2, one with a secret var (never shown), and a typed literal: check equals run, a second run changes nothing, an undefined variable fails the step and writes nothing', async () => {
    const inv = writeInventory({ 'hosts.yaml': hostsYaml(bedHosts(bed, [host])) })
    const common = ['test/e2e/playbooks/template.ts', '-i', inv, ...ssh, '--output', 'json']
    const canary = `canary-${process.pid}-${Date.now()}`
    const env = { HAVN_E2E_CANARY: canary }

    const { run, printed } = await checkThenRun(bed, [host], common, env)
    expect(changeSet(run, ['changed'])).toContain(`${host} file:/etc/havn-tpl/app.conf content`)
    // The secret var makes db.conf sensitive: its content shows nowhere, in check or run.
    expect(run.find((e) => e.type === 'step:end' && e.step === 'template /etc/havn-tpl/db.conf')?.changes).toContainEqual({ resource: 'file:/etc/havn-tpl/db.conf', action: 'create', field: 'content', sensitive: true })
    expect(printed).not.toContain(canary)
    const again = await havn(['run', ...common], { env })
    expect(again.code).toBe(0)
    expect(changeSet(events(again.stdout), ['changed'])).toEqual([])

    expect(await hostSh(bed, host, "stat -c '%a %U %G' /etc/havn-tpl/app.conf; cat /etc/havn-tpl/app.conf")).toBe(
      '640 root root\n# Shop (managed by havn)\n[server]\nworkers = 2\nlisten = 127.0.0.1:8080\nlisten = 0.0.0.0:443\ntls_cert = /etc/ssl/shop.pem\nlog_level = info\n',
    )
    expect(await hostSh(bed, host, 'cat /etc/havn-tpl/typed.conf')).toBe('port = 9090\nworkers = 4\n')
    expect(await hostSh(bed, host, "stat -c '%a' /etc/havn-tpl/db.conf; cat /etc/havn-tpl/db.conf")).toBe(`600\n[database]\nuser = app\npassword = ${canary}\n`)

    const written = hostWrites(bed, host)
    const broken = await havn(['run', ...common], { env: { ...env, HAVN_E2E_UNDEFINED: '1' } })
    expect(broken.code).toBe(1)
    const failed = failures(events(broken.stdout))
    expect(failed.map((e) => [e.host, e.step])).toEqual([[host, 'template /etc/havn-tpl/app.conf']])
    expect(failed[0]?.error.message).toMatch(/template \/.*\/test\/e2e\/playbooks\/templates\/app\.conf\.j2, line 11: 'log_level' is undefined/)
    expect(hostWrites(bed, host)).toEqual(written)
  })
})
