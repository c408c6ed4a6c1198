import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { hostExec } from '../testbed/index.ts'
import { events, REPO } from './cli.ts'
import { bedHosts, hostsYaml, writeInventory } from './support.ts'

const bed = inject('testbed')
const scratch = mkdtempSync(join(tmpdir(), 'havn-reuse-'))
const tsc = join(REPO, 'node_modules', '.bin', 'tsc')

const TSCONFIG = JSON.stringify({
  compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'], typeRoots: [join(REPO, 'node_modules', '@types')] },
  include: ['*.ts'],
})

const playbook = (vars: string) => `import { definePlaybook } from 'havn'
import mysqlNvme, { type MysqlNvmeVars } from 'havn/roles/mysql-nvme'

const tuned: Partial<MysqlNvmeVars> = ${vars}

export default definePlaybook({
  name: 'reuse',
  plays: [{ hosts: 'all', roles: [mysqlNvme(tuned)] }],
})
`

/** Runs a command in the scratch project and returns its exit code and output. */
function inScratch(cmd: string, args: string[], env: Record<string, string> = {}): { code: number | null; out: string } {
  const res = spawnSync(cmd, args, { cwd: scratch, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 300_000 })
  return { code: res.status, out: `${res.stdout}\n${res.stderr}` }
}

afterAll(() => rmSync(scratch, { recursive: true, force: true }))

describe('reusing havn and its roles from another repository', () => {
  it('installs from the packed tarball, type-checks a playbook using havn/roles/mysql-nvme, rejects a wrong var type, and runs it', async () => {
    // `npm test` built dist/ already; pack exactly what would be published.
    const packed = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], { cwd: REPO, encoding: 'utf8' })
    const [{ filename, files }] = JSON.parse(packed) as [{ filename: string; files: { path: string }[] }]
    const paths = files.map((f) => f.path)
    expect(paths).toContain('dist/roles/mysql-nvme/index.d.ts')
    expect(paths).toContain('dist/src/index.js')
    expect(paths.some((p) => p.startsWith('test/') || p.startsWith('node_modules/'))).toBe(false)

    writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'estate', private: true, type: 'module' }))
    const install = inScratch('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', join(scratch, filename)])
    expect(install.code, install.out).toBe(0)
    expect(readdirSync(join(scratch, 'node_modules', 'havn', 'dist', 'roles'))).toContain('mysql-nvme')

    writeFileSync(join(scratch, 'tsconfig.json'), TSCONFIG)
    writeFileSync(join(scratch, 'site.ts'), playbook("{ ioCapacity: 4000, netReadTimeout: 90, bufferPoolSize: '256M' }"))
    const good = inScratch(tsc, ['-p', 'tsconfig.json'])
    expect(good.code, good.out).toBe(0)

    writeFileSync(join(scratch, 'wrong.ts'), playbook("{ ioCapacity: 'fast' }"))
    const bad = inScratch(tsc, ['-p', 'tsconfig.json'])
    expect(bad.code).not.toBe(0)
    expect(bad.out).toMatch(/wrong\.ts\(\d+,\d+\): error TS2322: .*string.*number/s)
    rmSync(join(scratch, 'wrong.ts'))

    const [host] = bedHosts(bed, ['host22'])
    const inv = writeInventory({ 'hosts.yaml': hostsYaml([host!]) })
    const run = inScratch(join(scratch, 'node_modules', '.bin', 'havn'), ['run', 'site.ts', '-i', inv, '--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts, '--output', 'json'])
    expect(run.code, run.out).toBe(0)
    const recap = events(run.out.split('\n').filter((l) => l.startsWith('{')).join('\n')).at(-1)!
    expect(recap.hosts.host22).toMatchObject({ failed: 0, unreachable: false })
    expect(recap.hosts.host22.changed).toBeGreaterThan(0)
    const live = await hostExec(bed, 'host22', "mariadb -N -e \"SHOW VARIABLES LIKE 'innodb_io_capacity'\"")
    expect(live.stdout.trim()).toMatch(/^innodb_io_capacity\s+4000$/)
  })
})

describe('playbooks anywhere', () => {
  it('a playbook in a folder without havn in node_modules imports havn and its roles from the havn that runs it, with types through tsconfig paths', async () => {
    // The install above stands in for a global one: its binary runs a playbook from a folder of playbooks only.
    const installed = join(scratch, 'node_modules', 'havn')
    const bin = join(scratch, 'node_modules', '.bin', 'havn')
    const alone = mkdtempSync(join(tmpdir(), 'havn-playbooks-only-'))
    try {
      writeFileSync(join(alone, 'site.ts'), playbook("{ ioCapacity: 4000, netReadTimeout: 90, bufferPoolSize: '256M' }"))
      // The documented tsconfig setting: `paths` to the installed havn's declarations.
      writeFileSync(join(alone, 'tsconfig.json'), JSON.stringify({
        compilerOptions: {
          target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: ['node'], typeRoots: [join(REPO, 'node_modules', '@types')],
          paths: { havn: [join(installed, 'dist/src/index.d.ts')], 'havn/roles/*': [join(installed, 'dist/roles/*/index.d.ts')] },
        },
        include: ['*.ts'],
      }))
      const types = spawnSync(tsc, ['-p', 'tsconfig.json'], { cwd: alone, encoding: 'utf8' })
      expect(types.status, `${types.stdout}${types.stderr}`).toBe(0)

      const [host] = bedHosts(bed, ['host22'])
      const inv = writeInventory({ 'hosts.yaml': hostsYaml([host!]) })
      const args = ['-i', inv, '--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts, '--output', 'json']
      const check = spawnSync(bin, ['check', 'site.ts', ...args], { cwd: alone, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 300_000 })
      expect(check.status, check.stderr).toBe(0)
      expect(events(check.stdout).at(-1)!.hosts.host22).toMatchObject({ failed: 0, unreachable: false })

      // A package that really is missing is named, with the file that imports it.
      writeFileSync(join(alone, 'missing.ts'), `import pad from 'left-pad-not-installed'\n${playbook('{}')}void pad\n`)
      const missing = spawnSync(bin, ['check', 'missing.ts', ...args], { cwd: alone, encoding: 'utf8', timeout: 300_000 })
      expect(missing.status).toBe(4)
      expect(missing.stderr).toContain(`cannot find package 'left-pad-not-installed' imported from ${join(alone, 'missing.ts')}`)
    } finally {
      rmSync(alone, { recursive: true, force: true })
    }
  })
})
