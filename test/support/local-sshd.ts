import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A real OpenSSH sshd on 127.0.0.1 with its own keys and config, for tests. */
export interface LocalSshd {
  port: number
  dir: string
  /** `ssh-ed25519 AAAA…` (no host name). */
  hostKeyPub: string
  /** `ecdsa-sha2-nistp256 AAAA…`. */
  hostKeyPubEcdsa: string
  /** Writes a known_hosts line for this server (`[127.0.0.1]:port keytype key`). */
  knownHostsLine(type?: 'ed25519' | 'ecdsa'): string
  /** Last ~16 KiB of sshd's stderr log. */
  log(): string
  stop(): Promise<void>
}

/** A fresh client key pair in its own directory. */
export function makeClientKey(dir: string, name = 'id_ed25519'): { path: string; pub: string } {
  const path = join(dir, name)
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'havn-test', '-f', path])
  return { path, pub: readFileSync(`${path}.pub`, 'utf8').trim() }
}

/** A free TCP port on 127.0.0.1 (bound, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))))
    })
  })
}

async function waitForPort(port: number, proc: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`sshd exited ${proc.exitCode}: ${log()}`)
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`sshd did not listen on ${port} within 5 s: ${log()}`)
}

/**
 * Starts `/usr/sbin/sshd -D -e` on 127.0.0.1:<random port> accepting the given public keys for
 * every user. `extraConfig` lines override the defaults. Stop it with `stop()` (kills it by PID).
 */
export async function startSshd(o: { authorizedKeys: string[]; extraConfig?: string[] }): Promise<LocalSshd> {
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 })
  const dir = mkdtempSync(join(tmpdir(), 'havn-sshd-'))
  // sshd reads authorized_keys as the logging-in user, so non-root test users must be able to traverse the dir.
  chmodSync(dir, 0o755)
  for (const t of ['ed25519', 'ecdsa']) execFileSync('ssh-keygen', ['-q', '-t', t, '-N', '', '-f', join(dir, `host_${t}`)])
  writeFileSync(join(dir, 'authorized_keys'), o.authorizedKeys.join('\n') + '\n', { mode: 0o644 })
  const port = await freePort()
  const cfg = join(dir, 'sshd_config')
  // sshd keeps the first value of an option, so caller lines go first to override the defaults below.
  writeFileSync(cfg, [
    ...(o.extraConfig ?? []),
    'ListenAddress 127.0.0.1',
    `HostKey ${join(dir, 'host_ed25519')}`,
    `HostKey ${join(dir, 'host_ecdsa')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'StrictModes no',
    'PidFile none',
    'UsePAM no',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'AllowTcpForwarding yes',
    'LogLevel ERROR',
    '',
  ].join('\n'))
  let log = ''
  const proc = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', cfg, '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] })
  proc.stderr?.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-16000)
  })
  await waitForPort(port, proc, () => log)
  const pub = (t: string): string => readFileSync(join(dir, `host_${t}.pub`), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ')
  return {
    port,
    dir,
    hostKeyPub: pub('ed25519'),
    hostKeyPubEcdsa: pub('ecdsa'),
    knownHostsLine: (t = 'ed25519') => `[127.0.0.1]:${port} ${pub(t)}`,
    log: () => log,
    stop: async () => {
      if (proc.exitCode === null && proc.pid) {
        const exited = new Promise((r) => proc.once('exit', r))
        process.kill(proc.pid, 'SIGTERM')
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))])
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
