import { execFile } from 'node:child_process'
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { measure, type Measured } from './measure.ts'
import type { HavnKind, BedFiles } from './havn-run.ts'
import { APP_ENV, hostVars, type BenchHost } from './workspace.ts'

/** Runs a local command, bounded by `timeoutMs`; never throws for a non-zero exit. */
function run(cmd: string, args: readonly string[], timeoutMs = 30_000): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 4 << 20 }, (err, stdout) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 127) : 0, stdout })
    })
  })
}

/** `ansible-playbook --version`'s first line, or undefined when ansible-core is not installed. */
export async function ansibleVersion(): Promise<string | undefined> {
  const r = await run('ansible-playbook', ['--version'])
  return r.code === 0 ? r.stdout.split('\n')[0]?.trim() : undefined
}

/** True when community.general.ini_file is installed (the `ansible` package, not bare ansible-core). */
export async function hasIniFile(): Promise<boolean> {
  return (await run('ansible-doc', ['-t', 'module', 'community.general.ini_file'])).code === 0
}

/** W5 as an Ansible play; `ini` picks ini_file when present, else an equivalent blockinfile. */
function playbookYaml(ini: boolean): string {
  const iniTask = ini
    ? `    - name: net_read_timeout
      community.general.ini_file: { path: /etc/bench/my.cnf, section: mysqld, option: net_read_timeout, value: "60", create: true }`
    : `    - name: net_read_timeout (ini_file not installed; a [mysqld] block instead)
      ansible.builtin.blockinfile: { path: /etc/bench/my.cnf, create: true, block: "[mysqld]\\nnet_read_timeout = 60" }`
  return `- hosts: all
  gather_facts: false
  tasks:
    - name: directory
      ansible.builtin.file: { path: /etc/bench, state: directory, mode: "0755" }
    - name: app.conf
      ansible.builtin.copy:
        dest: /etc/bench/app.conf
        mode: "0644"
        content: |
          # managed by havn
          name = {{ inventory_hostname }}
          port = {{ app_port }}
          env = {{ app_env }}
${iniTask}
    - name: secret.key mode
      ansible.builtin.file: { path: /etc/bench/secret.key, state: touch, mode: "0600", modification_time: preserve, access_time: preserve }
    - name: initialize bench
      ansible.builtin.shell: { cmd: "date -u > /etc/bench/initialized", creates: /etc/bench/initialized }
`
}

/** Where one N's Ansible files live. */
export interface AnsibleSetup {
  readonly dir: string
  readonly config: string
  readonly controlDir: string
}

/**
 * Writes inventory, ansible.cfg (pipelining, forks = N, ControlPersist 60s, strict host keys
 * against the bed's known_hosts, facts off) and the W5 playbook for the first `n` hosts.
 */
export async function writeAnsible(root: string, hosts: readonly BenchHost[], n: number, files: BedFiles, ini: boolean): Promise<AnsibleSetup> {
  const dir = join(root, `ansible-${n}`)
  const controlDir = join(dir, 'cp')
  await mkdir(controlDir, { recursive: true })
  const inv = ['all:', '  vars:', `    app_env: ${APP_ENV}`, '  hosts:']
  hosts.slice(0, n).forEach((h, i) => inv.push(`    ${h.name}: { ansible_host: ${h.address}, ansible_user: root, app_port: ${hostVars(i).app_port} }`))
  await writeFile(join(dir, 'hosts.yaml'), `${inv.join('\n')}\n`)
  await writeFile(join(dir, 'w5.yaml'), playbookYaml(ini))
  const config = join(dir, 'ansible.cfg')
  await writeFile(
    config,
    `[defaults]
inventory = ${join(dir, 'hosts.yaml')}
forks = ${n}
gathering = explicit
host_key_checking = True
private_key_file = ${files.identityFile}
interpreter_python = /usr/bin/python3
retry_files_enabled = False
stdout_callback = default

[ssh_connection]
pipelining = True
ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=${files.knownHosts} -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes
control_path = ${controlDir}/%%h
`,
  )
  return { dir, config, controlDir }
}

/**
 * Ends the ControlPersist masters of this setup through their own control sockets (bounded to 10 s
 * each), so the next "first" run starts cold and no ssh process outlives the benchmark.
 */
export async function closeMasters(setup: AnsibleSetup): Promise<void> {
  const sockets = await readdir(setup.controlDir).catch(() => [] as string[])
  await Promise.all(sockets.map((address) => run('ssh', ['-o', `ControlPath=${join(setup.controlDir, address)}`, '-O', 'exit', `root@${address}`], 10_000)))
}

/** A measured Ansible run and whether its PLAY RECAP matched what W5 must do. */
export interface AnsibleRun extends Measured {
  readonly problems: string[]
}

/** Runs W5 with ansible-playbook (`--check --diff` for check) and checks the PLAY RECAP of all `n` hosts. */
export async function runAnsible(kind: HavnKind, setup: AnsibleSetup, n: number): Promise<AnsibleRun> {
  const args = [join(setup.dir, 'w5.yaml'), ...(kind === 'check' ? ['--check', '--diff'] : [])]
  const m = await measure('ansible-playbook', args, { rusage: false, env: { ANSIBLE_CONFIG: setup.config, ANSIBLE_NOCOLOR: '1' }, timeoutMs: 600_000, cwd: setup.dir })
  const problems: string[] = []
  if (m.code !== 0) problems.push(`exit code ${String(m.code)}; output: ${m.stdout.slice(-400)} ${m.stderr.slice(-400)}`)
  const recap = [...m.stdout.matchAll(/^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/gm)]
  if (recap.length !== n) problems.push(`PLAY RECAP lists ${recap.length} hosts, expected ${n}`)
  const want = kind === 'first' ? 5 : 0
  for (const [, name, , changed, unreachable, failed] of recap) {
    if (Number(changed) !== want || unreachable !== '0' || failed !== '0') {
      problems.push(`${name}: changed ${changed}, unreachable ${unreachable}, failed ${failed} (expected ${want} changes)`)
      if (problems.length > 5) break
    }
  }
  return { ...m, problems }
}
