import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { ShellSession } from '../../src/connection/shell.ts'

const runReal = ShellSession.prototype.run
import {
  AuthError,
  type ConnectOptions,
  CommandFailedError,
  CommandTimeoutError,
  connect,
  HostKeyError,
  secret,
  sh,
  UnreachableError,
} from '../../src/connection/index.ts'
import { freePort, type LocalSshd, makeClientKey, startSshd } from '../support/local-sshd.ts'

let dir: string
let key: { path: string; pub: string }
let sshd: LocalSshd
let jump: LocalSshd
let base: ConnectOptions

function knownHosts(name: string, lines: string[]): string {
  const f = join(dir, name)
  writeFileSync(f, lines.join('\n') + '\n')
  return f
}

function hashedLine(s: LocalSshd): string {
  const f = knownHosts(`hash-${Math.random()}`, [s.knownHostsLine()])
  execFileSync('ssh-keygen', ['-q', '-H', '-f', f])
  const line = readFileSync(f, 'utf8').trim()
  expect(line.startsWith('|1|')).toBe(true)
  return line
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'havn-conn-'))
  key = makeClientKey(dir)
  ;[sshd, jump] = await Promise.all([
    startSshd({ authorizedKeys: [key.pub], extraConfig: ['MaxSessions 10'] }),
    startSshd({ authorizedKeys: [key.pub] }),
  ])
  const kh = knownHosts('known_hosts', [sshd.knownHostsLine(), jump.knownHostsLine()])
  base = { knownHostsFile: kh, sshConfigFile: '/dev/null', identityFile: key.path, agent: false, connectTimeoutMs: 5000 }
}, 20_000)

afterAll(async () => {
  await Promise.all([sshd?.stop(), jump?.stop()])
  rmSync(dir, { recursive: true, force: true })
})

const target = (s: LocalSshd) => ({ name: `h${s.port}`, address: '127.0.0.1', port: s.port, user: 'root' })

describe('exec over a real sshd', () => {
  it('returns stdout, stderr and exit code, passes stdin, and quotes arguments', async () => {
    const c = await connect(target(sshd), base)
    try {
      const r = await c.exec(`echo out; echo err >&2; exit 3`)
      expect(r).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' })
      expect((await c.exec('cat', { stdin: 'piped\ninput' })).stdout).toBe('piped\ninput')
      const tricky = `it's "$(whoami)" \`id\` $HOME\n\ttab;|&`
      const cmd = sh`printf %s ${tricky}`
      expect((await c.exec(cmd.script)).stdout).toBe(tricky)
      // The shell reports a signal death as 128 + signal, as sh's `$?` does.
      const killed = await c.exec('kill -9 $$')
      expect(killed.code).toBe(137)
      expect(new CommandFailedError('h1', 'kill -9 $$', killed.code, '').message).toBe('host h1: command failed (exit 137, killed by SIGKILL?): kill -9 $$')
    } finally {
      await c.close()
    }
  })

  it('runs 60 concurrent execs on one connection under MaxSessions 10', async () => {
    const c = await connect(target(sshd), base)
    try {
      const rs = await Promise.all(Array.from({ length: 60 }, (_, i) => c.exec(`echo ${i}`)))
      expect(rs.map((r) => r.stdout.trim())).toEqual(Array.from({ length: 60 }, (_, i) => String(i)))
      expect(rs.every((r) => r.code === 0)).toBe(true)
    } finally {
      await c.close()
    }
  }, 20_000)

  it('times out a command with CommandTimeoutError and keeps the connection usable', async () => {
    const c = await connect(target(sshd), base)
    try {
      const t0 = Date.now()
      const err = await c.exec('sleep 5', { timeoutMs: 300, display: 'sleep (masked)' }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(CommandTimeoutError)
      expect((err as Error).message).toContain('sleep (masked)')
      expect(Date.now() - t0).toBeLessThan(2500)
      expect((await c.exec('echo still')).stdout).toBe('still\n')
    } finally {
      await c.close()
    }
  })
})

describe("the connection's long-lived shell", () => {
  it('runs one command after another in the same remote shell, none leaking into the next', async () => {
    const c = await connect(target(sshd), base)
    try {
      const a = await c.exec('cd /tmp; X=1; trap "echo trapped" EXIT; echo "$$ $PPID $(cat /proc/$PPID/comm)"')
      const b = await c.exec('echo "$$ $PPID $(pwd) ${X:-unset}"')
      const [pidA, ppidA, parent, trapped] = a.stdout.split(/\s+/)
      const [pidB, ppidB, cwd, x] = b.stdout.trim().split(' ')
      expect(parent).toBe('sh')
      expect(trapped).toBe('trapped')
      expect(ppidB).toBe(ppidA)
      expect(pidB).not.toBe(pidA)
      expect(cwd).not.toBe('/tmp')
      expect(x).toBe('unset')
      // Without $$ or $PPID a command runs in a subshell: just as isolated.
      const sub = await c.exec('cd /tmp; Y=1; trap "echo trapped" EXIT; exit 4')
      expect(sub).toEqual({ code: 4, stdout: 'trapped\n', stderr: '' })
      expect((await c.exec('pwd; echo ${Y:-unset}')).stdout).toBe(`${cwd}\nunset\n`)
    } finally {
      await c.close()
    }
  })

  it('writes commands given while one runs right behind it and runs them in order', async () => {
    const c = await connect(target(sshd), base)
    try {
      const f = join(dir, 'pipelined')
      const results = await Promise.all([
        c.exec(`sleep 0.2; printf one > ${f}`),
        c.exec(`cat ${f}; printf ' two' >> ${f}; echo err >&2`),
        c.exec(`cat ${f}`),
      ])
      expect(results).toEqual([
        { code: 0, stdout: '', stderr: '' },
        { code: 0, stdout: 'one', stderr: 'err\n' },
        { code: 0, stdout: 'one two', stderr: '' },
      ])
    } finally {
      await c.close()
    }
  })

  it('carries the first command in the exec request unless it holds a secret', async () => {
    const cmdline = 'tr "\\0" " " < /proc/$PPID/cmdline'
    const c = await connect(target(sshd), base)
    try {
      expect((await c.exec(cmdline)).stdout).toContain('HAVN_SESSION_PID=$$')
      // The same process goes on to read the next commands from stdin (an exec would drop its traps).
      expect((await c.exec(cmdline)).stdout).toContain('HAVN_SESSION_PID=$$')
    } finally {
      await c.close()
    }
    const canary = `canary-${process.pid}-first`
    secret(canary)
    const d = await connect(target(sshd), base)
    try {
      const first = await d.exec(`: ${canary}; ${cmdline}`)
      expect(first.stdout.trim()).toBe('/bin/sh')
    } finally {
      await d.close()
    }
  })

  it('runs the commands queued behind one that timed out in a new shell', async () => {
    const c = await connect(target(sshd), base)
    try {
      const [slow, after] = await Promise.allSettled([c.exec('sleep 5', { timeoutMs: 300 }), c.exec('echo after')])
      expect(slow.status === 'rejected' && slow.reason).toBeInstanceOf(CommandTimeoutError)
      expect(after.status === 'fulfilled' && after.value.stdout).toBe('after\n')
    } finally {
      await c.close()
    }
  })

  it('passes binary stdin exactly and frames output that lacks a final newline', async () => {
    const c = await connect(target(sshd), base)
    try {
      const bytes = Buffer.from([0, 1, 2, 255, 10, 13, 0, 39, 34, 36, 96, 92])
      const r = await c.exec('od -An -tx1 | tr -d " \\n"; printf err >&2', { stdin: bytes })
      expect(r).toEqual({ code: 0, stdout: bytes.toString('hex'), stderr: 'err' })
      const empty = await c.exec('wc -c', { stdin: '' })
      expect(empty.stdout.trim()).toBe('0')
    } finally {
      await c.close()
    }
  })

  it('runs a command on a channel of its own (streamed stdin) in its place: after the commands before it, before those after it', async () => {
    const c = await connect(target(sshd), base)
    try {
      const f = join(dir, 'ordered')
      const src = join(dir, 'ordered-src')
      writeFileSync(src, 'streamed\n')
      const results = await Promise.all([
        c.exec(`sleep 0.2; printf 'shell\\n' > ${f}`),
        c.exec(`cat ${f}; sleep 0.3; cat >> ${f}; echo "$(cat /proc/$PPID/comm)" >&2`, { stdin: { file: src } }),
        c.exec(`cat ${f}`),
      ])
      expect(results.map((r) => r.stdout)).toEqual(['', 'shell\n', 'shell\nstreamed\n'])
      // The middle one went on its own channel, straight under sshd, not through the shell.
      expect(results[1]?.stderr.trim()).toBe('sshd')
    } finally {
      await c.close()
    }
  })

  it('sends stdin over 1 MiB through its own channel, intact', async () => {
    const c = await connect(target(sshd), base)
    try {
      const big = Buffer.alloc(3 << 20, 'havn-')
      const r = await c.exec('wc -c; cat /proc/$PPID/comm', { stdin: big })
      expect(r.stdout.split('\n').map((l) => l.trim())).toEqual([String(big.length), 'sshd', ''])
    } finally {
      await c.close()
    }
  })

  it('reports a command that kills the shell as an error, then starts a new shell', async () => {
    const c = await connect(target(sshd), base)
    try {
      const err = await c.exec('kill -9 $PPID; sleep 1', { display: 'kill the shell' }).catch((e: unknown) => e)
      expect((err as Error).message).toMatch(/remote shell ended while running: kill the shell/)
      expect((await c.exec('echo again; cat /proc/$PPID/comm')).stdout).toBe('again\nsh\n')
    } finally {
      await c.close()
    }
  })
})

describe('chains of commands (execChain)', () => {
  const exists = (f: string) => existsSync(f)

  it('writes the whole chain to the shell at once, and the shell runs none after the first that fails', async () => {
    const c = await connect(target(sshd), base)
    const writes: number[] = []
    const spy = vi.spyOn(ShellSession.prototype, 'run').mockImplementation(function (this: ShellSession, ...args) {
      writes.push(Date.now())
      return runReal.apply(this, args)
    })
    try {
      const f = join(dir, 'chain-not-run')
      await c.exec('true')
      const start = Date.now()
      const ran = await c.execChain!([{ command: 'sleep 0.5' }, { command: 'echo half; exit 3' }, { command: `touch ${f}` }, { command: 'echo never' }])
      expect(ran).toEqual([{ code: 0, stdout: '', stderr: '' }, { code: 3, stdout: 'half\n', stderr: '' }])
      expect(exists(f)).toBe(false)
      // All four written while the first one still slept: the shell, not the controller, stopped the chain.
      expect(writes).toHaveLength(4)
      expect(writes.every((t) => t - start < 300)).toBe(true)
      // The shell goes on with what comes after the chain.
      expect((await c.exec('echo after')).stdout).toBe('after\n')
    } finally {
      spy.mockRestore()
      await c.close()
    }
  })

  it('goes on after an exit code the command allows, and through commands on channels of their own', async () => {
    const c = await connect(target(sshd), base)
    try {
      const f = join(dir, 'chain-mixed')
      const src = join(dir, 'chain-src')
      writeFileSync(src, 'streamed\n')
      const ran = await c.execChain!([
        { command: `printf 'a\\n' > ${f}; exit 3`, okCodes: [0, 3] },
        { command: `cat >> ${f}`, opts: { stdin: { file: src } } },
        { command: `printf 'b\\n' >> ${f}; cat ${f}` },
      ])
      expect(ran.map((r) => r.code)).toEqual([3, 0, 0])
      expect(ran[2]?.stdout).toBe('a\nstreamed\nb\n')
      // A command on its own channel that fails stops the chain too: the shell command after it does not run.
      const g = join(dir, 'chain-after-channel')
      const stopped = await c.execChain!([{ command: 'true' }, { command: 'cat >/dev/null; exit 4', opts: { stdin: { file: src } } }, { command: `touch ${g}` }])
      expect(stopped.map((r) => r.code)).toEqual([0, 4])
      expect(exists(g)).toBe(false)
    } finally {
      await c.close()
    }
  })

  it('goes on in a new shell when the old one died between two commands of the chain that both succeeded', async () => {
    const c = await connect(target(sshd), base)
    try {
      const f = join(dir, 'chain-new-shell')
      const src = join(dir, 'chain-new-shell-src')
      writeFileSync(src, 'from the channel\n')
      const ran = await c.execChain!([
        // $PPID makes it a `sh -c` of its own, whose parent is the session's shell: killed while the next one runs.
        { command: 'echo "$HAVN_SESSION_PID"; (sleep 0.3; kill -9 $PPID) </dev/null >/dev/null 2>&1 &' },
        { command: `sleep 0.8; cat > ${f}`, opts: { stdin: { file: src } } },
        { command: `cat ${f}; echo "$HAVN_SESSION_PID"` },
        { command: 'echo "$HAVN_SESSION_PID"' },
      ])
      expect(ran.map((r) => r.code)).toEqual([0, 0, 0, 0])
      const [text, pid] = (ran[2]?.stdout ?? '').split('\n')
      expect(text).toBe('from the channel')
      // The last two ran in the same new shell: the guard found the chain going on there.
      expect(pid).not.toBe(ran[0]?.stdout.trim())
      expect(ran[3]?.stdout.trim()).toBe(pid)
    } finally {
      await c.close()
    }
  })

  it('rejects when the shell dies in the middle, and runs nothing of the chain after it in a new shell', async () => {
    const c = await connect(target(sshd), base)
    try {
      const f = join(dir, 'chain-after-death')
      const err = await c.execChain!([{ command: 'true' }, { command: 'kill -9 $PPID; sleep 1', opts: { display: 'kill the shell' } }, { command: `touch ${f}` }]).catch((e: unknown) => e)
      expect((err as Error).message).toMatch(/remote shell ended while running: kill the shell/)
      expect(exists(f)).toBe(false)
      expect((await c.exec('echo again')).stdout).toBe('again\n')
    } finally {
      await c.close()
    }
  })
})

describe('atClose', () => {
  const waitFor = async (file: string): Promise<boolean> => {
    for (let i = 0; i < 50 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 100))
    return existsSync(file)
  }

  it('runs its scripts on the host when the connection closes, also right after they were given', async () => {
    const marker = join(dir, 'closed-marker')
    const c = await connect(target(sshd), base)
    await c.atClose(`echo one > ${marker}.tmp`)
    await c.atClose(`mv ${marker}.tmp ${marker}`)
    expect(existsSync(marker)).toBe(false)
    await c.close()
    expect(await waitFor(marker)).toBe(true)
    expect(readFileSync(marker, 'utf8')).toBe('one\n')
  })

  it.each([
    ['between commands', ''],
    ['while a command runs', `void c.exec('sleep 0.5; echo late'); await new Promise((r) => setTimeout(r, 100))`],
  ])('runs them when the controller is killed %s', async (when, beforeKill) => {
    const marker = join(dir, `killed-marker-${when.replaceAll(' ', '-')}`)
    const script = [
      `import { connect } from ${JSON.stringify(new URL('../../src/connection/index.ts', import.meta.url).pathname)}`,
      `const c = await connect(${JSON.stringify(target(sshd))}, ${JSON.stringify(base)})`,
      `await c.atClose('touch ${marker}')`,
      `await c.exec('true')`,
      beforeKill,
      `process.kill(process.pid, 'SIGKILL')`,
    ].join('\n')
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 })
    expect(child.signal).toBe('SIGKILL')
    expect(await waitFor(marker)).toBe(true)
  })

  it('arms them before the first command runs, which may take a lock: a shell ended during it still runs them', async () => {
    const marker = join(dir, 'first-command-marker')
    const c = await connect(target(sshd), base)
    try {
      await c.atClose(`touch ${marker}`)
      // The first command rides in the exec request; TERM to its shell is what an orphaned session gets.
      const first = await c.exec('kill -TERM $HAVN_SESSION_PID; sleep 0.2').catch((e: unknown) => e)
      expect(first).toBeInstanceOf(Error)
      expect(await waitFor(marker)).toBe(true)
    } finally {
      await c.close()
    }
  })
})

describe('host key checking', () => {
  it('accepts a hashed known_hosts entry', async () => {
    const kh = knownHosts('hashed', ['# comment', hashedLine(sshd)])
    const c = await connect(target(sshd), { ...base, knownHostsFile: kh })
    expect((await c.exec('echo ok')).stdout).toBe('ok\n')
    await c.close()
  })

  it('orders host key algorithms so a known ecdsa-only entry verifies', async () => {
    const kh = knownHosts('ecdsa-only', [sshd.knownHostsLine('ecdsa')])
    const c = await connect(target(sshd), { ...base, knownHostsFile: kh })
    await c.close()
  })

  it('refuses a mismatch with the offered fingerprint and file:line', async () => {
    const other = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(sshd.dir, 'host_ed25519.pub')]).toString().split(' ')[1]
    const wrong = jump.hostKeyPub
    const kh = knownHosts('mismatch', ['# first', `[127.0.0.1]:${sshd.port} ${wrong}`])
    const err = await connect(target(sshd), { ...base, knownHostsFile: kh }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(HostKeyError)
    const e = err as HostKeyError
    expect(e.reason).toBe('mismatch')
    expect(e.fingerprint).toBe(other)
    expect(e.line).toBe(2)
    expect(e.message).toContain(`${kh}:2`)
    expect(e.message).toContain(other)
  })

  it('refuses a key marked @revoked even when it is also listed', async () => {
    const kh = knownHosts('revoked', [sshd.knownHostsLine(), `@revoked * ${sshd.hostKeyPub}`])
    const err = await connect(target(sshd), { ...base, knownHostsFile: kh }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(HostKeyError)
    expect((err as HostKeyError).reason).toBe('revoked')
    expect((err as HostKeyError).line).toBe(2)
  })

  it('refuses an unknown key, then with acceptNewHostKeys appends it exactly once under 20 parallel connects', async () => {
    const kh = knownHosts('unknown', ['# empty'])
    const err = await connect(target(sshd), { ...base, knownHostsFile: kh }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(HostKeyError)
    expect((err as HostKeyError).reason).toBe('unknown')
    expect((err as Error).message).toContain('--accept-new-host-keys')
    const conns = await Promise.all(Array.from({ length: 20 }, () => connect(target(sshd), { ...base, knownHostsFile: kh, acceptNewHostKeys: true })))
    await Promise.all(conns.map((c) => c.close()))
    const lines = readFileSync(kh, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'))
    expect(lines).toEqual([sshd.knownHostsLine()])
    // The appended line must satisfy OpenSSH itself.
    expect(execFileSync('ssh-keygen', ['-F', `[127.0.0.1]:${sshd.port}`, '-f', kh]).toString()).toContain(sshd.hostKeyPub)
  }, 20_000)
})

describe('failures are classified', () => {
  it('a closed port is UnreachableError(refused), fast', async () => {
    const port = await freePort()
    const t0 = Date.now()
    const err = await connect({ name: 'closed', address: '127.0.0.1', port }, base).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UnreachableError)
    expect((err as UnreachableError).reason).toBe('refused')
    expect((err as Error).message).toContain(`127.0.0.1:${port}`)
    expect(Date.now() - t0).toBeLessThan(1000)
  })

  it('a wrong key is AuthError naming the user and the methods tried', async () => {
    const wrong = makeClientKey(dir, 'id_wrong')
    const err = await connect(target(sshd), { ...base, identityFile: wrong.path }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AuthError)
    expect((err as Error).message).toContain('user root')
    expect((err as Error).message).toContain(wrong.path)
  })

  it('a server that never speaks SSH times out with the timeout in the message', async () => {
    const net = await import('node:net')
    const silent = net.createServer(() => undefined)
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    const port = (silent.address() as { port: number }).port
    try {
      const err = await connect({ name: 'silent', address: '127.0.0.1', port }, { ...base, connectTimeoutMs: 400 }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(UnreachableError)
      expect((err as UnreachableError).reason).toBe('timeout')
      expect((err as Error).message).toContain('400 ms')
    } finally {
      silent.close()
    }
  })
})

describe('ssh config and ProxyJump', () => {
  it('reaches a host through a ProxyJump alias resolved by ssh -G, verifying both host keys', async () => {
    const cfg = join(dir, 'ssh_config')
    writeFileSync(cfg, [
      'Host bastion',
      '  HostName 127.0.0.1',
      `  Port ${jump.port}`,
      '  User root',
      'Host inner',
      '  HostName 127.0.0.1',
      `  Port ${sshd.port}`,
      '  User root',
      '  ProxyJump bastion',
      '',
    ].join('\n'))
    const c = await connect({ name: 'inner' }, { ...base, sshConfigFile: cfg })
    try {
      // sshd sees the inner connection arriving from the jump host's forwarded channel.
      expect((await c.exec('echo $SSH_CONNECTION')).stdout).toMatch(/^127\.0\.0\.1 \d+ 127\.0\.0\.1 \d+/)
      expect((await c.exec('echo via')).stdout).toBe('via\n')
    } finally {
      await c.close()
    }
    // The jump host's key is checked too: an unknown bastion key is refused and names the jump.
    const onlyInner = knownHosts('only-inner', [sshd.knownHostsLine()])
    const err = await connect({ name: 'inner' }, { ...base, sshConfigFile: cfg, knownHostsFile: onlyInner }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(HostKeyError)
    expect((err as Error).message).toContain(`[127.0.0.1]:${jump.port}`)
  })

  it('inventory port and user override ssh config', async () => {
    const cfg = join(dir, 'ssh_config_override')
    writeFileSync(cfg, ['Host 127.0.0.1', '  Port 1', '  User nobody-here', ''].join('\n'))
    const c = await connect({ name: 'x', address: '127.0.0.1', port: sshd.port, user: 'root' }, { ...base, sshConfigFile: cfg })
    expect((await c.exec('id -un')).stdout).toBe('root\n')
    await c.close()
  })
})
