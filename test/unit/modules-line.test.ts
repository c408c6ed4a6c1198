import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { StepPlan, StepSpec } from '../../src/engine/step.ts'
import { fileState, type FileState } from '../../src/facts/file.ts'
import { compileRegexp, editIni, editLines, iniSettingStep, lineStep } from '../../src/modules/line.ts'
import { planWith, recorded, planOn, applyPlan } from '../support/plan-with.ts'
import { localRemote } from '../support/local-remote.ts'

// A MariaDB option file as Debian 12's mariadb-server ships /etc/mysql/mariadb.conf.d/50-server.cnf (abridged, real bytes).
const MYCNF = `#
# These groups are read by MariaDB server.
#

# this is read by the standalone daemon and embedded servers
[server]

# this is only for the mysqld standalone daemon
[mysqld]

#
# * Basic Settings
#

#user                    = mysql
pid-file                = /run/mysqld/mysqld.pid
basedir                 = /usr
#datadir                 = /var/lib/mysql
#tmpdir                  = /tmp

bind-address            = 127.0.0.1

[embedded]

[mariadb-10.11]
`

describe('editLines (lineinfile semantics)', () => {
  const text = 'a=1\n#PermitRootLogin yes\nPermitRootLogin yes\nx\n'
  it('replaces the last line matching regexp', () => {
    expect(editLines(text, { regexp: '^#?PermitRootLogin', line: 'PermitRootLogin no' })).toBe('a=1\n#PermitRootLogin yes\nPermitRootLogin no\nx\n')
  })
  it('returns the same string when the line is already right', () => {
    expect(editLines(text, { regexp: '^PermitRootLogin', line: 'PermitRootLogin yes' })).toBe(text)
    expect(editLines(text, { line: 'x' })).toBe(text)
    expect(editLines(text, { regexp: '^nomatch', line: 'x' })).toBe(text)
  })
  it('appends at EOF, adding a missing final newline first', () => {
    expect(editLines('a\nb', { line: 'c' })).toBe('a\nb\nc\n')
    expect(editLines('', { line: 'c' })).toBe('c\n')
  })
  it('inserts after the last line matching insertAfter, else at the end', () => {
    expect(editLines('[a]\nk=1\n[b]\nk=2\n', { line: 'n=3', insertAfter: '^\\[a\\]' })).toBe('[a]\nn=3\nk=1\n[b]\nk=2\n')
    expect(editLines('a\n', { line: 'n', insertAfter: '^zzz' })).toBe('a\nn\n')
  })
  it('removes every matching line with state absent', () => {
    expect(editLines(text, { regexp: 'PermitRootLogin', state: 'absent' })).toBe('a=1\nx\n')
    expect(editLines(text, { line: 'x', state: 'absent' })).toBe('a=1\n#PermitRootLogin yes\nPermitRootLogin yes\n')
    expect(editLines(text, { line: 'nothere', state: 'absent' })).toBe(text)
  })
  it('understands POSIX bracket classes', () => {
    expect(compileRegexp('^[[:space:]]*Port[[:blank:]]+[[:digit:]]+$').test('  Port\t22')).toBe(true)
    expect(() => compileRegexp('(')).toThrow(/invalid regexp '\('/)
  })
})

describe('editIni', () => {
  it('updates an existing key in its section only, written either way', () => {
    const out = editIni(MYCNF, { section: 'mysqld', key: 'bind_address', value: '0.0.0.0' })
    expect(out).toBe(MYCNF.replace('bind-address            = 127.0.0.1', 'bind_address = 0.0.0.0'))
    expect(editIni('[a]\nk=1\n[b]\nk=1\n', { section: 'b', key: 'k', value: '2' })).toBe('[a]\nk=1\n[b]\nk = 2\n')
  })
  it('keeps the file byte for byte when the value already matches, however spaced', () => {
    expect(editIni(MYCNF, { section: 'mysqld', key: 'pid_file', value: '/run/mysqld/mysqld.pid' })).toBe(MYCNF)
    expect(editIni('[s]\nk=v\n', { section: 's', key: 'k', value: 'v' })).toBe('[s]\nk=v\n')
  })
  it('adds a new key after the last non-blank line of the section, ignoring comments as keys', () => {
    const out = editIni(MYCNF, { section: 'mysqld', key: 'net_read_timeout', value: '60' })
    expect(out).toBe(MYCNF.replace('bind-address            = 127.0.0.1\n', 'bind-address            = 127.0.0.1\nnet_read_timeout = 60\n'))
    expect(editIni(MYCNF, { section: 'mysqld', key: 'user', value: 'mysql' })).toContain('127.0.0.1\nuser = mysql\n\n[embedded]')
  })
  it('appends a missing section at the end, separated by a blank line', () => {
    expect(editIni('[a]\nk=1\n', { section: 'client', key: 'port', value: '3307' })).toBe('[a]\nk=1\n\n[client]\nport = 3307\n')
    expect(editIni('', { section: 'client', key: 'port', value: '1' })).toBe('[client]\nport = 1\n')
  })
  it('removes the key with state absent, and only in the section', () => {
    expect(editIni('[a]\nk=1\nj=2\n[b]\nk=1\n', { section: 'a', key: 'k', state: 'absent' })).toBe('[a]\nj=2\n[b]\nk=1\n')
    expect(editIni('[a]\nj=2\n', { section: 'a', key: 'k', state: 'absent' })).toBe('[a]\nj=2\n')
  })
  it('edits header-less files (top-level keys) with a custom key form', () => {
    const conf = '# sysctl\nnet/ipv4/ip_forward=0\n'
    expect(editIni(conf, { key: 'net.ipv4.ip_forward', value: '1', keyForm: (k) => k.replaceAll('/', '.') })).toBe('# sysctl\nnet.ipv4.ip_forward = 1\n')
    expect(editIni(conf, { key: 'vm.swappiness', value: '10' })).toBe('# sysctl\nnet/ipv4/ip_forward=0\nvm.swappiness = 10\n')
  })
})

// fileState of a real 10-byte /etc/hosts-like file (sha256 from sha256sum).
const HOSTS: FileState = {
  kind: 'file', mode: 0o644, uid: 0, gid: 0, owner: 'root', group: 'root', size: 10,
  sha256: '77785fc7b151a325a39d2c40a7701cb57736f2ce34b7edbef4e538f42c1509d3', content: '127.0.0.1\n',
}
const at = (path: string, state: FileState) => recorded(fileState, [path], state)

describe('line and iniSetting: planning from recorded facts', () => {
  it('line: no-op has no apply; a change is one content change with the whole-file diff and a prediction', async () => {
    const noop = await planWith(lineStep({ path: '/etc/hosts', line: '127.0.0.1' }), at('/etc/hosts', HOSTS))
    expect(noop.changes).toEqual([])
    expect(noop.commands).toBeUndefined()
    const plan = await planWith(lineStep({ path: '/etc/hosts', line: '10.0.0.1 db' }), at('/etc/hosts', HOSTS))
    expect(plan.changes).toEqual([{ resource: 'file:/etc/hosts', action: 'update', field: 'content', before: '127.0.0.1\n', after: '127.0.0.1\n10.0.0.1 db\n' }])
    expect(plan.predict?.[0]?.value).toMatchObject({ kind: 'file', content: '127.0.0.1\n10.0.0.1 db\n', mode: 0o644, uid: 0 })
  })
  it('line: an absent file is missing unless create is set; removing from it is a no-op', async () => {
    const absent: FileState = { kind: 'absent', parentIsDirectory: true }
    const missing = await planWith(lineStep({ path: '/etc/x', line: 'a' }), at('/etc/x', absent))
    expect(missing.missing).toBe('/etc/x does not exist (set create: true to create it)')
    const created = await planWith(lineStep({ path: '/etc/x', line: 'a', create: true, mode: '0600' }), at('/etc/x', absent))
    expect(created.missing).toBeUndefined()
    expect(created.changes).toEqual([
      { resource: 'file:/etc/x', action: 'create', field: 'content', after: 'a\n' },
      { resource: 'file:/etc/x', action: 'create', field: 'mode', after: '0600' },
    ])
    expect((await planWith(lineStep({ path: '/etc/x', regexp: 'a', state: 'absent' }), at('/etc/x', absent))).changes).toEqual([])
  })
  it('line: refuses files it cannot edit as text', async () => {
    const big: FileState = { kind: 'file', mode: 0o644, owner: 'root', group: 'root', size: 300000, sha256: 'a'.repeat(64) }
    await expect(planWith(lineStep({ path: '/big', line: 'a' }), at('/big', big))).rejects.toThrow(/not a UTF-8 text file of at most 256 KiB/)
  })
  it('iniSetting: sensitive hides the diff', async () => {
    const cnf: FileState = { ...HOSTS, content: '[client]\npassword = old\n' }
    const plan = await planWith(iniSettingStep({ path: '/root/.my.cnf', section: 'client', key: 'password', value: 'hunter22', sensitive: true }), at('/root/.my.cnf', cnf))
    expect(plan.changes).toEqual([{ resource: 'file:/root/.my.cnf', action: 'update', field: 'content', sensitive: true }])
  })
})


describe('line and iniSetting: applied for real in a temp dir', () => {
  const dir = mkdtempSync(join(tmpdir(), 'havn-line-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  async function converge(spec: StepSpec): Promise<StepPlan> {
    const remote = localRemote()
    const plan = await planOn(spec, remote)
    await applyPlan(plan, remote)
    expect(remote.log.length).toBeLessThanOrEqual(2)
    expect((await planOn(spec, localRemote())).changes).toEqual([])
    return plan
  }

  it('line: appends, replaces by regexp, removes; keeps mode; leaves no temp file', async () => {
    const path = join(dir, 'sshd_config')
    writeFileSync(path, 'Port 22\n#PermitRootLogin prohibit-password\n', { mode: 0o600 })
    await converge(lineStep({ path, line: 'PasswordAuthentication no' }))
    expect(readFileSync(path, 'utf8')).toBe('Port 22\n#PermitRootLogin prohibit-password\nPasswordAuthentication no\n')
    await converge(lineStep({ path, regexp: '^#?PermitRootLogin[[:space:]]', line: 'PermitRootLogin no' }))
    expect(readFileSync(path, 'utf8')).toBe('Port 22\nPermitRootLogin no\nPasswordAuthentication no\n')
    await converge(lineStep({ path, regexp: '^Port ', state: 'absent' }))
    expect(readFileSync(path, 'utf8')).toBe('PermitRootLogin no\nPasswordAuthentication no\n')
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(readdirSync(dir)).toEqual(['sshd_config'])
  })

  it('line: create makes the file with the line', async () => {
    const path = join(dir, 'created')
    await converge(lineStep({ path, line: 'only', create: true }))
    expect(readFileSync(path, 'utf8')).toBe('only\n')
  })

  it('iniSetting: updates an existing key, adds one to an existing section, adds a new section', async () => {
    const path = join(dir, '60-nvme.cnf')
    writeFileSync(path, MYCNF)
    await converge(iniSettingStep({ path, section: 'mysqld', key: 'bind-address', value: '0.0.0.0' }))
    await converge(iniSettingStep({ path, section: 'mysqld', key: 'net_read_timeout', value: 60 }))
    await converge(iniSettingStep({ path, section: 'client', key: 'port', value: 3306 }))
    await converge(iniSettingStep({ path, section: 'mysqld', key: 'skip_name_resolve', value: true }))
    expect(readFileSync(path, 'utf8')).toBe(
      MYCNF.replace('bind-address            = 127.0.0.1\n', 'bind-address = 0.0.0.0\nnet_read_timeout = 60\nskip_name_resolve = true\n') + '\n[client]\nport = 3306\n',
    )
  })
})
