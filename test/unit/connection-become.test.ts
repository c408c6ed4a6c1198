import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BecomeError, type ConnectOptions, connect } from '../../src/connection/index.ts'
import { type LocalSshd, makeClientKey, startSshd } from '../support/local-sshd.ts'

const suffix = randomBytes(3).toString('hex')
const user = `havnbecome${suffix}`
const ttyUser = `havnbtty${suffix}`
const password = `pw-${randomBytes(6).toString('hex')}`
const sudoers = [`/etc/sudoers.d/${user}`, `/etc/sudoers.d/${ttyUser}`]
let dir: string
let sshd: LocalSshd
let base: ConnectOptions

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'havn-become-'))
  const key = makeClientKey(dir)
  for (const u of [user, ttyUser]) {
    execFileSync('useradd', ['-m', '-s', '/bin/sh', u])
    execFileSync('chpasswd', { input: `${u}:${password}\n` })
  }
  writeFileSync(sudoers[0]!, [
    `Defaults:${user} !lecture, timestamp_timeout=0`,
    `${user} ALL=(ALL) ALL`,
    `${user} ALL=(nobody) NOPASSWD: ALL`,
    '',
  ].join('\n'), { mode: 0o440 })
  writeFileSync(sudoers[1]!, [`Defaults:${ttyUser} !lecture, timestamp_timeout=0, requiretty`, `${ttyUser} ALL=(ALL) ALL`, ''].join('\n'), { mode: 0o440 })
  for (const f of sudoers) execFileSync('visudo', ['-cqf', f])
  sshd = await startSshd({ authorizedKeys: [key.pub] })
  const kh = join(dir, 'known_hosts')
  writeFileSync(kh, sshd.knownHostsLine() + '\n')
  base = { knownHostsFile: kh, sshConfigFile: '/dev/null', identityFile: key.path, agent: false, becomePassword: password }
}, 20_000)

afterAll(async () => {
  await sshd?.stop()
  for (const f of sudoers) rmSync(f, { force: true })
  for (const u of [user, ttyUser]) {
    try {
      execFileSync('userdel', ['-r', '-f', u], { stdio: 'ignore' })
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true })
})

const target = (u: string) => ({ name: 'local', address: '127.0.0.1', port: sshd.port, user: u })

function noPassword(...texts: string[]): void {
  for (const t of texts) expect(t).not.toContain(password)
}

describe('become via sudo', () => {
  it('runs as root after the prompt, keeps stdin for the command and never leaks the password', async () => {
    const c = await connect(target(user), base)
    try {
      expect((await c.exec('id -u')).stdout).not.toBe('0\n')
      const r = await c.exec('id -u; echo err >&2', { become: true })
      expect(r).toEqual({ code: 0, stdout: '0\n', stderr: 'err\n' })
      const piped = await c.exec('cat', { become: true, stdin: 'data-for-cat' })
      expect(piped.stdout).toBe('data-for-cat')
      const failed = await c.exec('exit 7', { become: true })
      expect(failed.code).toBe(7)
      noPassword(r.stdout, r.stderr, piped.stdout, piped.stderr)
    } finally {
      await c.close()
    }
  })

  it('does not write the password when sudo does not ask (NOPASSWD), so it cannot reach the command', async () => {
    const c = await connect(target(user), base)
    try {
      const r = await c.exec('id -un; cat', { become: { user: 'nobody' } })
      expect(r.stdout).toBe('nobody\n')
      noPassword(r.stdout, r.stderr)
    } finally {
      await c.close()
    }
  })

  it('a wrong password is a BecomeError without the password', async () => {
    const wrong = `wrong-${password}`
    const c = await connect(target(user), { ...base, becomePassword: wrong })
    try {
      const err = await c.exec('id -u', { become: true }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(BecomeError)
      expect((err as Error).message).toBe(`sudo: incorrect password for ${user} on local`)
      expect((err as Error).message).not.toContain(wrong)
      expect((await c.exec('echo alive')).stdout).toBe('alive\n')
    } finally {
      await c.close()
    }
  }, 15_000)

  it('without a password tells the user how to supply one', async () => {
    const { becomePassword: _, ...noPw } = base
    const c = await connect(target(user), noPw)
    try {
      const err = await c.exec('id -u', { become: true }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(BecomeError)
      expect((err as Error).message).toContain('--ask-become-pass')
    } finally {
      await c.close()
    }
  })

  it('falls back to a pty when sudo requires a tty', async () => {
    const c = await connect(target(ttyUser), base)
    try {
      const r = await c.exec('id -u', { become: true })
      expect(r.code).toBe(0)
      expect(r.stdout.trim()).toBe('0')
      noPassword(r.stdout, r.stderr)
    } finally {
      await c.close()
    }
  })

  it('root login needs no sudo', async () => {
    const c = await connect(target('root'), { ...base, becomePassword: undefined as unknown as string })
    try {
      const r = await c.exec('id -u; ps -o comm= -p $PPID', { become: true })
      expect(r.stdout.split('\n')[0]).toBe('0')
      expect(r.stdout).not.toContain('sudo')
    } finally {
      await c.close()
    }
  })
})
