import net from 'node:net'
import type { Duplex } from 'node:stream'
import ssh2 from 'ssh2'
import type { AuthMethod, Client as SshClient, ServerHostKeyAlgorithm } from 'ssh2'
import { AuthError, ConnectionError, HostKeyError, type HostKeyProblem, UnreachableError, type UnreachableReason } from './errors.ts'
import { loadIdentities, makeAgent } from './identity.ts'
import { appendKnownHost, checkHostKey, fingerprint, knownHostsName, loadKnownHosts, preferredHostKeyAlgorithms } from './known-hosts.ts'
import { Limiter, sleep } from './limiter.ts'
import type { ResolvedHost } from './ssh-config.ts'

const { Client } = ssh2

/** Concurrent handshakes per sshd, kept under its MaxStartups (10 by default) so it does not drop us. */
const HANDSHAKES_PER_SERVER = 8

/** MaxStartups is counted by each server, so each destination gets its own limiter. */
const limiters = new Map<string, Limiter>()

/** The handshake limiter of one sshd, keyed by the address and port actually dialled. */
export function handshakeLimiterFor(hostname: string, port: number): Limiter {
  const key = `${hostname}:${port}`
  let limiter = limiters.get(key)
  if (!limiter) limiters.set(key, (limiter = new Limiter(HANDSHAKES_PER_SERVER)))
  return limiter
}

const MAX_HANDSHAKE_RETRIES = 5

/** Everything needed to authenticate to and verify one hop. */
export interface HopSpec {
  /** Inventory host name, used in every error. */
  host: string
  /** `jump <name>` for a ProxyJump hop, empty for the target itself; appended to messages. */
  via: string
  resolved: ResolvedHost
  /** Explicit identity (inventory or --identity): required to exist and restricts the agent. */
  identityFile?: string
  knownHostsFiles: string[]
  appendKnownHostsFile: string
  acceptNewHostKeys: boolean
  agent: string | false | undefined
  timeoutMs: number
  keepaliveIntervalMs: number
}

function where(h: HopSpec): string {
  return `${h.resolved.hostname}:${h.resolved.port}${h.via ? ` (${h.via})` : ''}`
}

/** Maps a socket-level error to UnreachableError with the reason spelled out. */
export function classifySocketError(h: HopSpec, e: unknown): ConnectionError {
  const code = (e as NodeJS.ErrnoException).code ?? ''
  const table: Record<string, [UnreachableReason, string]> = {
    ECONNREFUSED: ['refused', 'connection refused by'],
    ETIMEDOUT: ['timeout', 'connection timed out to'],
    EHOSTUNREACH: ['no-route', 'no route to host'],
    ENETUNREACH: ['no-route', 'network unreachable for'],
    ENOTFOUND: ['dns', 'cannot resolve host name of'],
    EAI_AGAIN: ['dns', 'cannot resolve host name of'],
    ECONNRESET: ['reset', 'connection reset by'],
    EPIPE: ['reset', 'connection reset by'],
  }
  const hit = table[code]
  if (hit) return new UnreachableError(h.host, hit[0], `host ${h.host}: ${hit[1]} ${where(h)}`, { cause: e })
  return new UnreachableError(h.host, 'other', `host ${h.host}: cannot connect to ${where(h)}: ${(e as Error).message}`, { cause: e })
}

/** Opens a TCP socket with TCP_NODELAY (Nagle + delayed ACK cost ~45 ms per round trip) and a connect timeout. */
export function tcpConnect(h: HopSpec): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: h.resolved.hostname, port: h.resolved.port })
    sock.setNoDelay(true)
    const timer = setTimeout(() => {
      sock.destroy()
      reject(new UnreachableError(h.host, 'timeout', `host ${h.host}: connection to ${where(h)} timed out after ${h.timeoutMs} ms`))
    }, h.timeoutMs)
    sock.once('connect', () => {
      clearTimeout(timer)
      sock.removeAllListeners('error')
      resolve(sock)
    })
    sock.once('error', (e) => {
      clearTimeout(timer)
      reject(classifySocketError(h, e))
    })
  })
}

/** Opens a direct-tcpip channel through an established jump connection. */
export function forwardVia(jump: SshClient, h: HopSpec): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    jump.forwardOut('127.0.0.1', 0, h.resolved.hostname, h.resolved.port, (err, stream) => {
      if (!err) return resolve(stream)
      const msg = err.message
      const reason: UnreachableReason = /refused/i.test(msg) ? 'refused' : /unreach|no route/i.test(msg) ? 'no-route' : 'other'
      reject(new UnreachableError(h.host, reason, `host ${h.host}: cannot reach ${where(h)}: ${msg}`, { cause: err }))
    })
  })
}

interface Attempt {
  client: SshClient
  /** Errors after `ready` (keepalive timeout, resets) land here so the connection can report them. */
  lateErrors: Error[]
}

async function authMethods(h: HopSpec): Promise<{ methods: (AuthMethod & Record<string, unknown>)[]; labels: string[] }> {
  const username = h.resolved.user
  const paths = h.identityFile ? [h.identityFile] : h.resolved.identityFiles
  const { loaded, publicOnly } = await loadIdentities(paths, Boolean(h.identityFile)).catch((e: unknown) => {
    throw new ConnectionError(h.host, `host ${h.host}: ${(e as Error).message}`, { cause: e })
  })
  const methods: (AuthMethod & Record<string, unknown>)[] = []
  const labels: string[] = []
  for (const id of loaded) {
    methods.push({ type: 'publickey', username, key: id.key })
    labels.push(`publickey ${id.path}`)
  }
  const sock = h.agent === false ? undefined : (h.agent ?? process.env['SSH_AUTH_SOCK'])
  const restrict = Boolean(h.identityFile) || h.resolved.identityFilesConfigured || h.resolved.identitiesOnly
  // Keys loaded from disk are tried directly; when restricted, the agent is only asked for the configured keys it alone can sign with.
  if (sock && (!restrict || publicOnly.length > 0)) {
    methods.push({ type: 'agent', username, agent: makeAgent(sock, restrict ? publicOnly : undefined) })
    labels.push(restrict ? `agent ${sock} (configured keys only)` : `agent ${sock}`)
  }
  return { methods, labels }
}

async function attempt(h: HopSpec, makeSock: () => Promise<Duplex>): Promise<Attempt> {
  const entries = await loadKnownHosts(h.knownHostsFiles)
  const lookupName = h.resolved.hostKeyAlias ?? knownHostsName(h.resolved.hostname, h.resolved.port)
  const { methods, labels } = await authMethods(h)
  // No await between getting the socket and handing it to ssh2, so no socket error can go unheard.
  const sock = await makeSock()
  const tried: string[] = []
  let problem: HostKeyProblem | undefined
  let verifyError: Error | undefined
  const client = new Client()
  const lateErrors: Error[] = []
  return new Promise<Attempt>((resolve, reject) => {
    let ready = false
    client.on('error', (e: Error & { level?: string }) => {
      if (ready) return void lateErrors.push(e)
      sock.destroy()
      if (problem) return reject(new HostKeyError(h.host, problem))
      if (verifyError) return reject(new ConnectionError(h.host, `host ${h.host}: cannot record host key for ${lookupName}: ${verifyError.message}`, { cause: verifyError }))
      if (e.level === 'client-authentication') return reject(new AuthError(h.host, h.resolved.user, tried, h.via || undefined))
      if (/Timed out while waiting for handshake/.test(e.message)) {
        return reject(new UnreachableError(h.host, 'timeout', `host ${h.host}: SSH handshake with ${where(h)} timed out after ${h.timeoutMs} ms`, { cause: e }))
      }
      if (/Connection lost before handshake/.test(e.message)) {
        return reject(new UnreachableError(h.host, 'reset', `host ${h.host}: ${where(h)} closed the connection during the SSH handshake (sshd MaxStartups?)`, { cause: e }))
      }
      if ((e as NodeJS.ErrnoException).code) return reject(classifySocketError(h, e))
      reject(new ConnectionError(h.host, `host ${h.host}: SSH handshake with ${where(h)} failed: ${e.message}`, { cause: e }))
    })
    client.once('ready', () => {
      ready = true
      resolve({ client, lateErrors })
    })
    let next = 0
    client.connect({
      sock,
      username: h.resolved.user,
      readyTimeout: h.timeoutMs,
      keepaliveInterval: h.keepaliveIntervalMs,
      keepaliveCountMax: 3,
      algorithms: { serverHostKey: preferredHostKeyAlgorithms(entries, lookupName) as ServerHostKeyAlgorithm[] },
      hostVerifier: (key: Buffer, verify: (ok: boolean) => void): void => {
        const verdict = checkHostKey(entries, lookupName, key)
        const fp = fingerprint(key)
        if (verdict.status === 'ok') return verify(true)
        if (verdict.status === 'unknown') {
          if (!h.acceptNewHostKeys) {
            problem = { reason: 'unknown', fingerprint: fp, knownHostsFile: h.appendKnownHostsFile, lookupName }
            return verify(false)
          }
          appendKnownHost(h.appendKnownHostsFile, lookupName, key).then(
            () => verify(true),
            (e: unknown) => {
              verifyError = e as Error
              verify(false)
            },
          )
          return
        }
        problem = { reason: verdict.status, fingerprint: fp, knownHostsFile: verdict.entry.file, line: verdict.entry.line, lookupName }
        verify(false)
      },
      authHandler: (_left, _partial, cb) => {
        const m = methods[next]
        const label = labels[next]
        next++
        if (!m || !label) return cb(false as never)
        tried.push(label)
        cb(m as never)
      },
    })
  })
}

/**
 * Connects and authenticates one hop under its server's handshake limiter, verifying its host
 * key strictly. Retries (bounded, with backoff) when sshd drops the connection mid-handshake, which
 * is how MaxStartups rejects excess concurrent handshakes.
 */
export async function handshake(h: HopSpec, makeSock: () => Promise<Duplex>): Promise<Attempt> {
  for (let i = 0; ; i++) {
    const release = await handshakeLimiterFor(h.resolved.hostname, h.resolved.port).acquire()
    try {
      return await attempt(h, makeSock)
    } catch (e) {
      const retryable = e instanceof UnreachableError && e.reason === 'reset'
      if (!retryable || i >= MAX_HANDSHAKE_RETRIES) throw e
    } finally {
      release()
    }
    await sleep(Math.min(100 * 2 ** i, 2000) + Math.floor(Math.random() * 100))
  }
}
