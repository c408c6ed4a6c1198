import type { Stdin } from './stdin.ts'

/** Outcome of one remote command; a non-zero `code` is data, not an exception. */
export interface ExecResult {
  code: number
  signal?: string
  stdout: string
  stderr: string
  /** Not run, because a command before it in its chain failed (only from execChain; `code` is -1). */
  skipped?: true
}

/** One command of {@link Connection.execChain}. */
export interface ChainedCommand {
  readonly command: string
  readonly opts?: ExecOptions
  /** Exit codes after which the chain goes on; default `[0]`. */
  readonly okCodes?: readonly number[]
}

/** Per-command options for {@link Connection.exec}. */
export interface ExecOptions {
  /** Run through sudo (as root, or as `user`). No sudo is used when the login user is already root and the target is root. */
  become?: boolean | { user?: string }
  /** The command's stdin (bytes, or a controller file streamed); with become it is sent only after sudo has started the command. */
  stdin?: Stdin
  /** Command timeout; on expiry the channel is closed and CommandTimeoutError is thrown. Overrides ConnectOptions.commandTimeoutMs. */
  timeoutMs?: number
  /** Masked rendering of the command used in errors (default: the command itself). */
  display?: string
}

/** What the inventory says about one host; inventory values win over ssh config. */
export interface SshTarget {
  name: string
  address?: string
  port?: number
  user?: string
  identityFile?: string
}

/** Process-level connection settings, usually from the command line. */
export interface ConnectOptions {
  /** Default: UserKnownHostsFile from ssh config, i.e. ~/.ssh/known_hosts. */
  knownHostsFile?: string
  /** Default false: unknown host keys are refused. */
  acceptNewHostKeys?: boolean
  /** Default ~/.ssh/config (plus /etc/ssh/ssh_config) as `ssh -G` reads them. */
  sshConfigFile?: string
  /** --identity; overrides ssh config and restricts the agent to this key. */
  identityFile?: string
  /** TCP connect + SSH handshake timeout per hop. Default 10000. */
  connectTimeoutMs?: number
  /** Default 0 = no command timeout. */
  commandTimeoutMs?: number
  /** Default 15000; the connection is declared lost after 3 unanswered keepalives. */
  keepaliveIntervalMs?: number
  /** sudo password; never logged, redacted from all output. */
  becomePassword?: string
  /** Agent socket path, or false for no agent. Default process.env.SSH_AUTH_SOCK. */
  agent?: string | false
}

/** One authenticated SSH connection to a host, multiplexing exec channels. */
export interface Connection {
  readonly host: string
  /**
   * Runs a command after every command given before it has run (commands given at once may be
   * sent at once, but never run out of order); never throws on non-zero exit; throws
   * ConnectionError subclasses on transport, timeout or become failure.
   */
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>
  /**
   * Runs `commands` in order, each only when every one before it exited with one of its okCodes.
   * They may all be sent at once: in the long-lived shell each waits on the status of the one
   * before it there, so a chain costs one round trip, not one per command. Resolves with the
   * results of the commands that ran, the last being the one that failed if any did; rejects as
   * exec does. Optional: without it, run the commands one by one.
   */
  execChain?(commands: readonly ChainedCommand[]): Promise<ExecResult[]>
  /**
   * Has `script` run on the host when the connection ends: at close(), and also when the
   * controller dies mid-run, from the exit trap of the connection's long-lived shell (not after a
   * SIGKILL of that shell). Without such a shell it runs at close(). Output and failure are ignored.
   */
  atClose(script: string): Promise<void>
  /** Closes the connection and every jump connection opened for it. Idempotent. */
  close(): Promise<void>
}
