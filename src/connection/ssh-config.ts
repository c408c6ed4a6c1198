import { execFile } from 'node:child_process'
import { Limiter } from './limiter.ts'
import { loadSshConfig, type SshConfigResolver } from './ssh-config-file.ts'
import { existsSync } from 'node:fs'
import { homedir, hostname as localHostname, userInfo } from 'node:os'
import { join } from 'node:path'

/** One ProxyJump hop as written in ssh config (`[user@]host[:port]` or `ssh://…`). */
export interface JumpSpec {
  host: string
  user?: string
  port?: number
}

/** A host as OpenSSH would connect to it, after ssh config and command-line overrides. */
export interface ResolvedHost {
  /** The name given to `ssh -G` (inventory address or name). */
  original: string
  hostname: string
  port: number
  user: string
  /** Absolute paths, tokens and `~` expanded, in config order. */
  identityFiles: string[]
  /** True when IdentityFile was configured rather than OpenSSH's built-in default list. */
  identityFilesConfigured: boolean
  identitiesOnly: boolean
  proxyJump: JumpSpec[]
  userKnownHostsFiles: string[]
  globalKnownHostsFiles: string[]
  hostKeyAlias?: string
  connectTimeoutMs?: number
}

const DEFAULT_IDS = ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_xmss', 'id_dsa']

/** Parses a ProxyJump value (`none`, `a,b`, `user@host:port`, `ssh://user@host:port`, `[v6]:port`). */
export function parseProxyJump(value: string | undefined): JumpSpec[] {
  if (!value || value === 'none') return []
  return value.split(',').map((raw) => {
    let s = raw.trim().replace(/^ssh:\/\//, '')
    let user: string | undefined
    const at = s.lastIndexOf('@')
    if (at >= 0) {
      user = s.slice(0, at)
      s = s.slice(at + 1)
    }
    let host = s
    let port: number | undefined
    const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s)
    const hp = /^([^:]+):(\d+)$/.exec(s)
    if (v6) {
      host = v6[1] ?? s
      if (v6[2]) port = Number(v6[2])
    } else if (hp) {
      host = hp[1] ?? s
      port = Number(hp[2])
    }
    return { host, ...(user ? { user } : {}), ...(port ? { port } : {}) }
  })
}

function expandTokens(path: string, h: { hostname: string; port: number; user: string; original: string }): string {
  const home = homedir()
  const p = path.startsWith('~/') ? join(home, path.slice(2)) : path === '~' ? home : path
  return p.replace(/%([%dulrhpn])/g, (_, t: string) => {
    switch (t) {
      case '%': return '%'
      case 'd': return home
      case 'u': return userInfo().username
      case 'l': return localHostname()
      case 'r': return h.user
      case 'h': return h.hostname
      case 'p': return String(h.port)
      default: return h.original
    }
  })
}

/** Turns `ssh -G` output into a ResolvedHost. Exported for tests. */
export function parseSshG(output: string, original: string): ResolvedHost {
  const multi = new Map<string, string[]>()
  for (const line of output.split('\n')) {
    const m = /^(\S+)\s+(.*)$/.exec(line.trim())
    if (!m || !m[1]) continue
    const k = m[1].toLowerCase()
    multi.set(k, [...(multi.get(k) ?? []), m[2] ?? ''])
  }
  const one = (k: string): string | undefined => multi.get(k)?.[0]
  const base = {
    original,
    hostname: one('hostname') ?? original,
    port: Number(one('port') ?? 22),
    user: one('user') ?? userInfo().username,
  }
  const rawIds = multi.get('identityfile') ?? []
  const defaults = DEFAULT_IDS.map((n) => `~/.ssh/${n}`)
  const configured = !(rawIds.length === defaults.length && rawIds.every((v, i) => v === defaults[i]))
  const ct = one('connecttimeout')
  const alias = one('hostkeyalias')
  return {
    ...base,
    identityFiles: rawIds.map((p) => expandTokens(p, base)),
    identityFilesConfigured: configured && rawIds.length > 0,
    identitiesOnly: one('identitiesonly') === 'yes',
    proxyJump: parseProxyJump(one('proxyjump')),
    userKnownHostsFiles: (one('userknownhostsfile') ?? '~/.ssh/known_hosts').split(/\s+/).filter(Boolean).map((p) => expandTokens(p, base)),
    globalKnownHostsFiles: (one('globalknownhostsfile') ?? '').split(/\s+/).filter(Boolean).map((p) => expandTokens(p, base)),
    ...(alias && alias !== 'none' ? { hostKeyAlias: alias } : {}),
    ...(ct && /^\d+$/.test(ct) ? { connectTimeoutMs: Number(ct) * 1000 } : {}),
  }
}

/** Error raised when ssh config cannot be read; carries the host it was resolving. */
export class SshConfigError extends Error {
  override name = 'SshConfigError'
}

const cache = new Map<string, Promise<ResolvedHost>>()
const parsedConfigs = new Map<string, SshConfigResolver | undefined>()

/** The in-process reading of a config, parsed once per process; undefined when only `ssh -G` can read it. */
function parsedConfig(configFile: string | undefined): SshConfigResolver | undefined {
  const key = configFile ?? ''
  if (!parsedConfigs.has(key)) parsedConfigs.set(key, loadSshConfig(configFile))
  return parsedConfigs.get(key)
}

/**
 * `ssh -G` processes running at once. Spawning one per host all at once makes every host wait for
 * the slowest; a few at a time, in order, lets the first hosts start their handshakes early.
 */
const resolvers = new Limiter(16)

function runSshG(args: string[]): Promise<string> {
  return resolvers.run(() => spawnSshG(args))
}

function spawnSshG(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ssh', args, { timeout: 10_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const e = err as NodeJS.ErrnoException
        if (e.code === 'ENOENT') reject(Object.assign(new SshConfigError('ssh binary not found'), { code: 'ENOENT' }))
        else reject(new SshConfigError(`ssh -G failed: ${String(stderr).trim() || err.message}`))
      } else resolve(stdout)
    })
  })
}

/**
 * Resolves a host as `ssh -G` would, with inventory `user`/`port` as -l/-p so they win over the
 * config, as with Ansible. A config of Host blocks, Includes and plain values is read in-process
 * (one `ssh` spawn per host costs more than the handshake on a small controller); anything else
 * (Match, canonicalization, tokens in where-to-connect values) goes to `ssh -G` itself. Cached per
 * process. If `ssh` is missing and no config file exists, OpenSSH defaults are used; if a config
 * file exists it cannot be honoured, which is an error.
 */
export function resolveHost(name: string, o: { configFile?: string; user?: string; port?: number }): Promise<ResolvedHost> {
  if (name.startsWith('-')) return Promise.reject(new SshConfigError(`invalid host name ${JSON.stringify(name)}`))
  const args = ['-G']
  if (o.configFile) args.push('-F', o.configFile)
  if (o.user) args.push('-l', o.user)
  if (o.port) args.push('-p', String(o.port))
  args.push(name)
  const key = JSON.stringify(args)
  let p = cache.get(key)
  const parsed = p ? undefined : parsedConfig(o.configFile)
  if (!p && parsed) {
    p = Promise.resolve(parseSshG(parsed.resolve(name, o), name))
    cache.set(key, p)
  }
  if (!p) {
    p = runSshG(args).then(
      (out) => parseSshG(out, name),
      (e: unknown) => {
        const cfg = o.configFile ?? join(homedir(), '.ssh', 'config')
        if ((e as { code?: string }).code === 'ENOENT' && !existsSync(cfg)) {
          return parseSshG(`hostname ${name}\nport ${o.port ?? 22}\nuser ${o.user ?? userInfo().username}\n` +
            DEFAULT_IDS.map((n) => `identityfile ~/.ssh/${n}\n`).join(''), name)
        }
        if ((e as { code?: string }).code === 'ENOENT') throw new SshConfigError(`the ssh binary is required to read ssh config ${cfg}; install openssh-client`)
        throw e
      },
    )
    cache.set(key, p)
  }
  return p
}
