import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkHostKey, entriesFor, fingerprint, parseKnownHosts, preferredHostKeyAlgorithms } from '../../src/connection/known-hosts.ts'
import { parseProxyJump } from '../../src/connection/ssh-config.ts'

let dir: string
const keys: { line: string; blob: Buffer }[] = []

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'havn-kh-'))
  for (const [i, t] of ['ed25519', 'ed25519', 'ecdsa'].entries()) {
    const f = join(dir, `k${i}`)
    execFileSync('ssh-keygen', ['-q', '-t', t, '-N', '', '-f', f])
    const line = readFileSync(`${f}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ')
    keys.push({ line, blob: Buffer.from(line.split(' ')[1]!, 'base64') })
  }
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('known_hosts matching agrees with ssh-keygen -F', () => {
  it('plain, [host]:port, comma lists, wildcards, negation and hashed entries', () => {
    const k = keys[0]!.line
    const lines = [
      `web1,10.0.0.5 ${k}`,
      `[10.0.0.6]:2222 ${k}`,
      `*.example.test,!bad.example.test ${k}`,
      `10.1.?.* ${k}`,
      `hashed.test ${k}`,
      '@cert-authority * ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB8s',
    ]
    const f = join(dir, 'kh')
    writeFileSync(f, lines.join('\n') + '\n')
    execFileSync('ssh-keygen', ['-q', '-H', '-f', f])
    const entries = parseKnownHosts(readFileSync(f, 'utf8'), f)
    const names = ['web1', '10.0.0.5', '10.0.0.6', '[10.0.0.6]:2222', '[10.0.0.6]:22', 'a.example.test', 'bad.example.test',
      '10.1.2.3', '10.1.22.3', 'hashed.test', 'nothere']
    for (const n of names) {
      let oracle = false
      try {
        // @cert-authority lines are deliberately ignored by havn (ssh2 has no certificate support).
        oracle = execFileSync('ssh-keygen', ['-F', n, '-f', f]).toString().split('\n').some((l) => l.includes('ssh-') && !l.startsWith('@cert-authority'))
      } catch {
        oracle = false
      }
      expect([n, entriesFor(entries, n).length > 0]).toEqual([n, oracle])
    }
  })

  it('classifies ok, mismatch (with line), revoked and unknown, and orders algorithms by known type', () => {
    const [a, b, e] = keys as [typeof keys[0], typeof keys[0], typeof keys[0]]
    const text = [`h1 ${a.line}`, `h2 ${b.line}`, `@revoked h3 ${e.line}`, `h3 ${e.line}`, `h4 ${e.line}`].join('\n')
    const entries = parseKnownHosts(text, 'kh')
    expect(checkHostKey(entries, 'h1', a.blob).status).toBe('ok')
    const mm = checkHostKey(entries, 'h2', a.blob)
    expect(mm.status === 'mismatch' && mm.entry.line).toBe(2)
    expect(checkHostKey(entries, 'h3', e.blob).status).toBe('revoked')
    expect(checkHostKey(entries, 'h9', a.blob).status).toBe('unknown')
    expect(preferredHostKeyAlgorithms(entries, 'h4')[0]).toBe('ecdsa-sha2-nistp256')
    const fp = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'k0.pub')]).toString().split(' ')[1]
    expect(fingerprint(a.blob)).toBe(fp)
  })

  it('finds literal and pattern entries for a name in file order, so a mismatch names the first line', () => {
    const [a, b] = keys as [typeof keys[0], typeof keys[0]]
    const text = [`x1 ${a.line}`, `h* ${b.line}`, `H1,h1 ${b.line}`, `!h1,h? ${a.line}`, `h1 ${a.line}`].join('\n')
    const entries = parseKnownHosts(text, 'kh')
    expect(entriesFor(entries, 'h1').map((e) => e.line)).toEqual([2, 3, 5])
    expect(entriesFor(entries, 'H1').map((e) => e.line)).toEqual([2, 3, 5])
    const mm = checkHostKey(parseKnownHosts([`h* ${b.line}`, `h1 ${b.line}`].join('\n'), 'kh'), 'h1', a.blob)
    expect(mm.status === 'mismatch' && mm.entry.line).toBe(1)
  })
})

describe('ProxyJump parsing', () => {
  it('handles chains, users, ports, URIs and none', () => {
    expect(parseProxyJump('a,bob@b:2202,ssh://c@[::1]:22')).toEqual([
      { host: 'a' }, { host: 'b', user: 'bob', port: 2202 }, { host: '::1', user: 'c', port: 22 },
    ])
    expect(parseProxyJump('none')).toEqual([])
  })
})
