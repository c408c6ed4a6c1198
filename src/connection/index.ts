/**
 * havn's SSH connection layer: the only module that imports ssh2. One connection per host with
 * multiplexed exec channels, strict known_hosts checking, ssh config via `ssh -G`, ProxyJump,
 * agent/identity auth, sudo become with a nonce prompt, and POSIX sh quoting.
 * Limits: no OpenSSH certificates (`@cert-authority` lines are ignored), no post-quantum kex.
 */
export type { ChainedCommand, ConnectOptions, Connection, ExecOptions, ExecResult, SshTarget } from './types.ts'
export { connect } from './connect.ts'
export { localConnection } from './local.ts'
export { type ShellCommand, Secret, isSecret, secret, sh, shQuote } from './quote.ts'
export {
  AuthError,
  BecomeError,
  CommandFailedError,
  CommandTimeoutError,
  ConnectionError,
  HostKeyError,
  type HostKeyProblem,
  UnreachableError,
  type UnreachableReason,
} from './errors.ts'
