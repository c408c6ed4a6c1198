import { constants } from 'node:os'

/** Any failure to reach, authenticate to, or run on a host. `host` is the inventory name. */
export class ConnectionError extends Error {
  override name = 'ConnectionError'
  readonly host: string

  constructor(host: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.host = host
  }
}

/** Why a host could not be reached at the TCP/transport level. */
export type UnreachableReason = 'refused' | 'timeout' | 'no-route' | 'reset' | 'lost' | 'dns' | 'other'

/** The host could not be reached (refused, timed out, no route) or the connection was lost. */
export class UnreachableError extends ConnectionError {
  override name = 'UnreachableError'
  readonly reason: UnreachableReason

  constructor(host: string, reason: UnreachableReason, message: string, options?: { cause?: unknown }) {
    super(host, message, options)
    this.reason = reason
  }
}

/** The server rejected every authentication method that was tried. */
export class AuthError extends ConnectionError {
  override name = 'AuthError'
  readonly user: string
  readonly methods: readonly string[]

  constructor(host: string, user: string, methods: readonly string[], detail?: string) {
    const tried = methods.length ? methods.join(', ') : 'none (no identity file or agent key available)'
    super(host, `host ${host}: authentication failed for user ${user}; tried: ${tried}${detail ? ` (${detail})` : ''}`)
    this.user = user
    this.methods = methods
  }
}

/** Details of a refused host key. */
export interface HostKeyProblem {
  reason: 'mismatch' | 'unknown' | 'revoked'
  /** The key the server offered, `SHA256:…` as OpenSSH prints it. */
  fingerprint: string
  knownHostsFile: string
  /** 1-based line of the conflicting (mismatch) or revoking (revoked) entry. */
  line?: number
  /** The name looked up in known_hosts (`addr` or `[addr]:port`). */
  lookupName: string
}

/** The server's host key was refused by strict known_hosts checking. */
export class HostKeyError extends ConnectionError {
  override name = 'HostKeyError'
  readonly reason: HostKeyProblem['reason']
  readonly fingerprint: string
  readonly knownHostsFile: string
  readonly line?: number

  constructor(host: string, p: HostKeyProblem) {
    const where = p.line !== undefined ? `${p.knownHostsFile}:${p.line}` : p.knownHostsFile
    const msg =
      p.reason === 'mismatch'
        ? `host ${host}: HOST KEY MISMATCH for ${p.lookupName}: server offered ${p.fingerprint}, which conflicts with ${where}. ` +
          'If the host was reinstalled, remove that line; otherwise this may be an attack.'
        : p.reason === 'revoked'
          ? `host ${host}: host key ${p.fingerprint} offered by ${p.lookupName} is marked @revoked in ${where}`
          : `host ${host}: unknown host key ${p.fingerprint} for ${p.lookupName} (not in ${p.knownHostsFile}); ` +
            'verify it and rerun with --accept-new-host-keys to add it'
    super(host, msg)
    this.reason = p.reason
    this.fingerprint = p.fingerprint
    this.knownHostsFile = p.knownHostsFile
    if (p.line !== undefined) this.line = p.line
  }
}

/** A command exceeded its timeout; its channel was closed. */
export class CommandTimeoutError extends ConnectionError {
  override name = 'CommandTimeoutError'
  readonly display: string
  readonly timeoutMs: number

  constructor(host: string, display: string, timeoutMs: number) {
    super(host, `host ${host}: command timed out after ${timeoutMs} ms: ${display}`)
    this.display = display
    this.timeoutMs = timeoutMs
  }
}

/** sudo could not be used: wrong or missing password, sudo missing, or not permitted. Never contains the password. */
export class BecomeError extends ConnectionError {
  override name = 'BecomeError'
}

/** Last `n` lines of a stream, for error messages. */
export function tail(text: string, n = 20): string {
  const lines = text.replace(/\n+$/, '').split('\n')
  return lines.slice(-n).join('\n')
}

/**
 * `exit N`, and for 129-192 the signal a shell reports that way (128 + signal number): commands
 * run in the host's long-lived shell, which only sees the status. A program may also exit with
 * such a number itself, hence the question mark.
 */
export function exitText(code: number): string {
  const signal = code > 128 && code <= 192 ? Object.entries(constants.signals).find(([, n]) => n === code - 128)?.[0] : undefined
  return signal ? `exit ${code}, killed by ${signal}?` : `exit ${code}`
}

/**
 * A command exited non-zero. Thrown by callers (the engine), not by exec.
 * Message: `host X: command failed (exit N): <display>` followed by the stderr tail.
 */
export class CommandFailedError extends Error {
  override name = 'CommandFailedError'
  readonly host: string
  readonly display: string
  readonly code: number
  readonly stderrTail: string

  constructor(host: string, display: string, code: number, stderr: string) {
    const t = tail(stderr)
    super(`host ${host}: command failed (${exitText(code)}): ${display}${t ? `\n${t}` : ''}`)
    this.host = host
    this.display = display
    this.code = code
    this.stderrTail = t
  }
}
