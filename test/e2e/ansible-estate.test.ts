import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn as ptySpawn } from 'node-pty'
import { describe, expect, inject, it } from 'vitest'
import { havn, REPO } from './cli.ts'
import { bedHosts, writeInventory } from './support.ts'
import { hostExec } from '../testbed/index.ts'

const bed = inject('testbed')
// Fleet hosts: this file writes only /root/estate-*.txt on them.
const HOSTS = ['host17', 'host18']
// The value inside test/fixtures/ansible/vault/estate-vault.yml (made with ansible-vault 2.14).
const CANARY = 'havn-canary-7d41e9b2c0f5'
const VAULT = join(REPO, 'test/fixtures/ansible/vault')
const VAULTED = readFileSync(join(VAULT, 'estate-vault.yml'), 'utf8')

/** Every file under `dir`, read as text (for "the secret is nowhere on disk" checks). */
function textsUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'))
}

describe('an Ansible estate, unchanged', () => {
  it('an INI inventory with ansible_ssh_* keys and a vaulted var drives a real run; the secret reaches the hosts and no output', async () => {
    const [a, b] = bedHosts(bed, HOSTS)
    const inv = writeInventory({
      'hosts': [
        '# As an Ansible team writes it: names that ssh_config does not know, addresses in ansible_ssh_host.',
        '[estate]',
        `oslo-a ansible_ssh_host=${a!.address} ansible_ssh_port=${a!.port}`,
        `oslo-b ansible_ssh_host=${b!.address} ansible_ssh_port=${b!.port}`,
        '',
        '[estate:vars]',
        'ansible_ssh_user=deploy',
        `ansible_ssh_private_key_file=${bed.identityFile}`,
        'ansible_become=true',
        '',
      ].join('\n'),
      'group_vars/estate/main.yml': 'token: "{{ vault_estate_token }}"\n',
      'group_vars/estate/vault.yml': VAULTED,
    })
    const cache = mkdtempSync(join(tmpdir(), 'havn-cache-'))
    const common = ['-i', join(inv, 'hosts'), '--vault-password-file', join(VAULT, 'pass.txt'), '--become-password-file', bed.becomePasswordFile, '--known-hosts', bed.knownHosts]
    const env = { HAVN_CACHE_DIR: cache }
    const outputs: string[] = []
    for (const [verb, output, code] of [['check', 'line', 2], ['run', 'json', 0], ['run', 'line', 0]] as const) {
      const res = await havn([verb, 'test/e2e/playbooks/ansible-estate.ts', ...common, '--output', output], { env })
      expect(res.code, `${verb} --output ${output}: ${res.stderr}`).toBe(code)
      outputs.push(res.stdout, res.stderr)
    }
    const listed = await havn(['inventory', ...common.slice(0, 4), '--list'], { env })
    expect(listed.code, listed.stderr).toBe(0)
    outputs.push(listed.stdout, listed.stderr)
    expect(JSON.parse(listed.stdout)._meta.hostvars['oslo-a']).toMatchObject({ ansible_ssh_user: 'deploy', vault_estate_token: '***', token: '{{ vault_estate_token }}' })

    // The vaulted value reached both hosts, written as root through sudo from a deploy login.
    for (const host of HOSTS) {
      const { stdout } = await hostExec(bed, host, 'cat /root/estate-token.txt; echo; cat /root/estate-login.txt; stat -c %U:%a /root/estate-token.txt')
      expect(stdout).toBe(`${CANARY}\ndeploy\nroot:600\n`)
    }
    // ...and appears nowhere else: not in any output, and not in havn's parse cache.
    const joined = outputs.join('\n')
    expect(joined).toContain('oslo-a')
    expect(joined.split(CANARY).length - 1).toBe(0)
    expect(textsUnder(cache).join('\n')).not.toContain(CANARY)
  })

  it('a wrong vault password is exit 4 naming the file, before any host is contacted', async () => {
    const [a] = bedHosts(bed, HOSTS)
    const inv = writeInventory({ 'inventory.ini': `[estate]\noslo-a ansible_ssh_host=${a!.address}\n`, 'pass': 'not the password\n', 'group_vars/estate/vault.yml': VAULTED })
    const vaultDir = join(inv, 'group_vars', 'estate')
    const res = await havn(['run', 'test/e2e/playbooks/ansible-estate.ts', '-i', join(inv, 'inventory.ini'), '--vault-password-file', join(inv, 'pass'), '--known-hosts', bed.knownHosts])
    expect(res.code).toBe(4)
    expect(res.stderr).toContain(`${join(vaultDir, 'vault.yml')}: encrypted with Ansible Vault, and the vault password given (--vault-password-file ${join(inv, 'pass')}) does not open it`)
    expect(res.stdout).toBe('')
  })

  it('havn exec runs an ad-hoc command on the matching hosts (as the login user, or through sudo with -b), with run\'s recap and exit codes', async () => {
    const [a, b] = bedHosts(bed, HOSTS)
    const inv = writeInventory({
      'inventory': `[estate]\noslo-a ansible_ssh_host=${a!.address}\noslo-b ansible_ssh_host=${b!.address}\n\n[estate:vars]\nansible_ssh_user=deploy\nansible_ssh_private_key_file=${bed.identityFile}\n`,
    })
    const common = ['-i', join(inv, 'inventory'), '--known-hosts', bed.knownHosts, '--output', 'line']
    const plain = await havn(['exec', 'estate', ...common, '--', 'id', '-un'])
    expect(plain.code, plain.stderr).toBe(0)
    expect(plain.stdout).toMatch(/^oslo-a +\| +deploy$/m)
    expect(plain.stdout).toMatch(/^oslo-b +\| +deploy$/m)
    const sudo = await havn(['exec', 'estate[0]', ...common, '-b', '--become-password-file', bed.becomePasswordFile, '--', 'id -un'])
    expect(sudo.code, sudo.stderr).toBe(0)
    expect(sudo.stdout).toMatch(/^oslo-a +\| +root$/m)
    expect(sudo.stdout).not.toContain('oslo-b')
    const failing = await havn(['exec', 'estate', ...common, '--limit', 'oslo-b', '--', 'echo broken >&2; exit 3'])
    expect(failing.code).toBe(1)
    expect(failing.stdout).toContain('broken')
    expect(failing.stdout).not.toContain('oslo-a')

    const facts = await havn(['facts', 'estate', '-i', join(inv, 'inventory'), '--known-hosts', bed.knownHosts, '--packages', 'openssh-server,no-such-package-here', '--json'])
    expect(facts.code, facts.stderr).toBe(0)
    const read = JSON.parse(facts.stdout) as Record<string, { os: { id: string; versionId: string; initSystem: string }; packages: { packages: Record<string, { installed?: string }> } }>
    expect(Object.keys(read)).toEqual(['oslo-a', 'oslo-b'])
    const release = await hostExec(bed, HOSTS[0]!, '. /etc/os-release; echo "$ID $VERSION_ID"')
    expect(`${read['oslo-a']!.os.id} ${read['oslo-a']!.os.versionId}\n`).toBe(release.stdout)
    expect(read['oslo-a']!.packages.packages['openssh-server']!.installed).toMatch(/^1:\d/)
    expect(read['oslo-a']!.packages.packages['no-such-package-here']!.installed).toBeUndefined()
    const text = await havn(['facts', 'oslo-b', '-i', join(inv, 'inventory'), '--known-hosts', bed.knownHosts])
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toMatch(/^oslo-b\n  os +debian \d+\n  init system +(sysv|systemd)\n  package manager +apt\n  memory +[\d.]+ GiB\n$/)
  })

  it('ansible_connection: local runs the host\'s commands on the controller, without SSH', async () => {
    const inv = writeInventory({ hosts: '[control]\ncontroller ansible_connection=local ansible_host=127.0.0.1 ansible_port=1\n' })
    const marker = `local-${process.pid}`
    const res = await havn(['exec', 'controller', '-i', join(inv, 'hosts'), '--output', 'line', '--', `echo ${marker} $PPID`])
    expect(res.code, res.stderr).toBe(0)
    // Over SSH this would fail: nothing listens on 127.0.0.1:1.
    expect(res.stdout).toMatch(new RegExp(`^controller +\\| +${marker} \\d+$`, 'm'))
    const facts = await havn(['facts', 'controller', '-i', join(inv, 'hosts'), '--json'])
    expect(facts.code, facts.stderr).toBe(0)
    expect(JSON.parse(facts.stdout).controller.os.id).toBe(readFileSync('/etc/os-release', 'utf8').match(/^ID=(.*)$/m)![1]!.replace(/"/g, ''))
  })

  it('--ask-vault-pass and --vault-id LABEL@prompt ask on the terminal, without echoing what is typed', async () => {
    const vaulted = join(REPO, 'test/fixtures/ansible/inventories/vaulted')
    const answers = [readFileSync(join(vaulted, 'pass.txt'), 'utf8').trim(), readFileSync(join(vaulted, 'pass-b.txt'), 'utf8').trim()]
    const args = ['inventory', '-i', join(vaulted, 'hosts.ini'), '--vault-id', 'prod@prompt', '--ask-vault-pass', '--list']
    const { code, out } = await new Promise<{ code: number; out: string }>((resolve, reject) => {
      const term = ptySpawn(process.execPath, [`${REPO}bin/havn.js`, ...args], { cols: 120, rows: 40, cwd: REPO, env: process.env as Record<string, string> })
      let seen = ''
      const typed = new Set<string>()
      term.onData((d) => {
        seen += d
        // Answer each prompt once: the labelled one with its password, the plain one with the default.
        if (seen.includes('Vault password (prod): ') && !typed.has('prod')) { typed.add('prod'); term.write(`${answers[1]}\r`) }
        if (/Vault password: /.test(seen) && !typed.has('default')) { typed.add('default'); term.write(`${answers[0]}\r`) }
      })
      const timer = setTimeout(() => { term.kill('SIGKILL'); reject(new Error(`no answer in time:\n${seen}`)) }, 60_000)
      term.onExit(({ exitCode }) => { clearTimeout(timer); resolve({ code: exitCode, out: seen }) })
    })
    expect(code, out).toBe(0)
    expect(out).toContain('"vault_api_token": "***"')
    for (const answer of answers) expect(out).not.toContain(answer)
    expect(out).not.toContain('web1-token-5c1d')
  })
})
