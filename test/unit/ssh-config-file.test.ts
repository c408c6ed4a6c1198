import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadSshConfig } from '../../src/connection/ssh-config-file.ts'
import { parseSshG } from '../../src/connection/ssh-config.ts'

const dir = mkdtempSync(join(tmpdir(), 'havn-sshcfg-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let n = 0
function config(text: string): string {
  const f = join(dir, `config-${n++}`)
  writeFileSync(f, text)
  chmodSync(f, 0o600)
  return f
}

/** What OpenSSH itself answers, through the same parser havn applies to it. */
function viaSsh(file: string, name: string, o: { user?: string; port?: number } = {}) {
  const args = ['-G', '-F', file, ...(o.user ? ['-l', o.user] : []), ...(o.port ? ['-p', String(o.port)] : []), name]
  return parseSshG(execFileSync('ssh', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }), name)
}

function inProcess(file: string, name: string, o: { user?: string; port?: number } = {}) {
  const r = loadSshConfig(file)
  expect(r, `${file} should be read in-process`).toBeDefined()
  return parseSshG(r?.resolve(name, o) ?? '', name)
}

function sameAsSsh(text: string, queries: [string, { user?: string; port?: number }?][]): void {
  const f = config(text)
  for (const [name, o] of queries) expect(inProcess(f, name, o), `${name} ${JSON.stringify(o ?? {})}`).toEqual(viaSsh(f, name, o))
}

describe('in-process ssh config agrees with ssh -G', () => {
  it('per-host blocks naming a host and its address, as inventories and the test bed write them', () => {
    sameAsSsh(
      [
        'Host web1 10.0.0.11',
        '  HostName 10.0.0.11',
        '  Port 2222',
        '  User deploy',
        '  IdentityFile /keys/web',
        '  IdentitiesOnly yes',
        '  UserKnownHostsFile /kh/one /kh/two',
        '  GlobalKnownHostsFile /dev/null',
        '  StrictHostKeyChecking yes',
        '',
        'Host *',
        '  User nobody',
        '  ConnectTimeout 7',
      ].join('\n'),
      [['web1'], ['10.0.0.11'], ['web2'], ['web1', { user: 'root', port: 22 }], ['WEB1']],
    )
  })

  it('wildcards, negation, first value wins, IdentityFile accumulates, = and quotes, comments', () => {
    sameAsSsh(
      [
        '# leading comment',
        'Host *.prod !db*.prod',
        '  hostname=%h.example.internal',
        '  USER "ops team"',
        '  IdentityFile ~/.ssh/%h-%r-%p # trailing comment',
        'Host web? db1.prod',
        '  Port=2201',
        '  User second',
        '  IdentityFile "/keys/with space"',
        '  ProxyJump admin@bastion:2022,jump2',
        '  HostKeyAlias alias-web',
        'Host *',
        '  IdentityFile /keys/all-%u-%d',
        '  UserKnownHostsFile %d/kh-%h',
      ].join('\n'),
      [['app.prod'], ['db1.prod'], ['web7'], ['web77'], ['other', { port: 3022 }]],
    )
  })

  it('Include with a wildcard, at top level and inside a Host block, with Host blocks in the included files', () => {
    const inc = join(dir, 'conf.d')
    mkdirSync(inc, { recursive: true })
    writeFileSync(join(inc, '10-a.conf'), 'User from-a\nHost special\n  Port 2300\n')
    writeFileSync(join(inc, '20-b.conf'), 'Host *\n  IdentityFile /keys/b\n')
    writeFileSync(join(inc, 'ignored.txt'), 'User wrong\n')
    writeFileSync(join(dir, 'only-web.conf'), 'Port 2400\nHost web*\n  User from-inner\n')
    sameAsSsh(
      [`Host web*`, `  Include ${join(dir, 'only-web.conf')}`, '  HostName inner-%h', `Include ${inc}/*.conf`, 'Host *', '  User last'].join('\n'),
      [['web1'], ['special'], ['db'], ['webspecial']],
    )
  })

  it('no settings at all gives OpenSSH defaults', () => {
    sameAsSsh('', [['plain.example'], ['plain.example', { user: 'x', port: 1 }]])
  })
})

describe('configs left to ssh -G', () => {
  it.each([
    ['Match', 'Match host web*\n  User x\n'],
    ['a token in User', 'Host *\n  User %r\n'],
    ['an environment variable', 'Host *\n  IdentityFile ${HOME}/.ssh/id\n'],
    ['canonicalization', 'CanonicalizeHostname yes\n'],
    ['an unknown token in IdentityFile', 'Host *\n  IdentityFile ~/.ssh/%C\n'],
  ])('%s', (_, text) => {
    expect(loadSshConfig(config(text))).toBeUndefined()
  })

  it('a missing -F file and a config others can write to', () => {
    expect(loadSshConfig(join(dir, 'missing'))).toBeUndefined()
    const f = config('Host *\n  User x\n')
    chmodSync(f, 0o666)
    expect(loadSshConfig(f)).toBeUndefined()
  })
})
