import { randomBytes } from 'node:crypto'
import type { ClientChannel } from 'ssh2'
import { type ChannelContext, killRemote, openExec, type RawResult } from './channel.ts'
import { CommandTimeoutError, ConnectionError } from './errors.ts'
import { shQuote } from './quote.ts'

/** Stdin larger than this goes through a plain exec channel instead of a here-document. */
export const MAX_SHELL_STDIN = 1 << 20

/** Why a shell could not run a command although nothing of the command ran: the caller may retry elsewhere. */
export class ShellUnavailableError extends Error {
  override readonly name = 'ShellUnavailableError'
}

interface Pending {
  readonly end: string
  readonly display: string
  readonly out: Buffer[]
  readonly err: Buffer[]
  code?: number
  stderrDone: boolean
  timer?: NodeJS.Timeout
  resolve(r: RawResult): void
  reject(e: Error): void
}

/**
 * A subshell isolates `exit`, `cd`, traps and variables as `sh -c` would, for a fork instead of a
 * fork and exec, except that `$$` and `$PPID` would name the long-lived shell. Commands that use
 * them get their own `sh -c`.
 */
function ownsPid(command: string): boolean {
  return /\$\$|\$\{\$\}|PPID/.test(command)
}

const nonce = (): string => `havn-${randomBytes(12).toString('hex')}`

function indexIn(chunks: Buffer[], needle: string): { all: Buffer; at: number } {
  const all = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)
  return { all, at: all.indexOf(needle) }
}

/**
 * One `/bin/sh` kept open on an exec channel for the life of a connection. Each command runs in a
 * subshell of it (or its own `sh -c`, see {@link ownsPid}), so `exit`, `cd`, traps and variables
 * never reach the next command, with stdin from /dev/null or a here-document. A random end marker on stdout (followed by the
 * exit status) and on stderr frames each result. This replaces a channel open, a session fork and
 * a shell start per command with one write and one read, which is most of what a command costs.
 * Commands run one at a time; callers use `busy` to go elsewhere instead of queueing.
 */
export class ShellSession {
  readonly #ctx: ChannelContext
  readonly #ch: ClientChannel
  readonly #ready: string
  #started = false
  /** An exit trap was written and no command written after it has finished yet. */
  #trapUnconfirmed = false
  #preamble: Buffer[] = []
  #closed = false
  #pending: Pending | undefined

  private constructor(ctx: ChannelContext, ch: ClientChannel, ready: string) {
    this.#ctx = ctx
    this.#ch = ch
    this.#ready = ready
    ch.on('data', (d: Buffer) => this.#onStdout(d))
    ch.stderr.on('data', (d: Buffer) => this.#onStderr(d))
    ch.on('close', () => this.#onClose())
  }

  /**
   * Opens the channel and starts the shell; its first output line proves the shell runs. Commands
   * see the shell's PID as `$HAVN_SESSION_PID`: a process that lives exactly as long as the session.
   */
  static async open(ctx: ChannelContext): Promise<ShellSession> {
    const ready = nonce()
    const ch = await openExec(ctx, 'exec /bin/sh', false)
    const s = new ShellSession(ctx, ch, ready)
    ch.write(`HAVN_SESSION_PID=$$; export HAVN_SESSION_PID; printf '%s\\n' ${ready}\n`)
    return s
  }

  /**
   * Makes the shell run `scripts` when it exits: at end of input when the connection closes, and
   * on HUP or TERM, so a controller that dies still has them run. Not after SIGKILL. Replaces the
   * scripts given before. Written without waiting for an answer; the shell reads it after the
   * command it is running, if any.
   */
  atExit(scripts: readonly string[]): void {
    if (this.#closed || scripts.length === 0) return
    const all = scripts.map((x) => `{ ${x}\n} </dev/null >/dev/null 2>&1`).join('\n')
    this.#ch.write(`trap ${shQuote(all)} EXIT; trap 'exit 129' HUP; trap 'exit 143' TERM\n`)
    this.#trapUnconfirmed = true
  }

  /**
   * Makes sure the shell has read the exit trap: sshd drops input it has not yet passed on when
   * the connection ends. Any command finished after `atExit` proves it; otherwise this runs one.
   */
  async confirmExitTrap(): Promise<void> {
    if (this.#trapUnconfirmed && !this.#closed && !this.busy) await this.run(':', { timeoutMs: 10_000, display: 'confirm exit trap' })
  }

  /** A command is running. */
  get busy(): boolean {
    return this.#pending !== undefined
  }

  /** The shell is gone (closed, killed after a timeout, or never started); open a new one. */
  get closed(): boolean {
    return this.#closed
  }

  /**
   * Runs `command` and resolves with its exit status and output. Rejects with
   * ShellUnavailableError when the shell never started (nothing ran), CommandTimeoutError after
   * `timeoutMs` (the shell is then killed), or the connection's error when it was lost.
   */
  run(command: string, o: { stdin?: string | Buffer; timeoutMs: number; display: string }): Promise<RawResult> {
    if (this.#pending) return Promise.reject(new Error('ShellSession.run: a command is already running'))
    if (this.#closed) return Promise.reject(new ShellUnavailableError('shell session is closed'))
    const end = nonce()
    const input = o.stdin === undefined || o.stdin.length === 0 ? undefined : Buffer.from(o.stdin).toString('base64')
    const inDelim = `${end}_IN`
    const run = ownsPid(command) ? `/bin/sh -c ${shQuote(command)}` : `( eval ${shQuote(command)} )`
    const body = input === undefined ? `${run} </dev/null` : `base64 -d <<'${inDelim}' | ${run}`
    const line = `${body}; printf '%s %d\\n' ${end} "$?"; printf '%s\\n' ${end} >&2\n`
    const text = input === undefined ? line : `${line}${input.replace(/.{1,76}/g, '$&\n')}${inDelim}\n`
    const confirmsTrap = this.#trapUnconfirmed
    return new Promise<RawResult>((resolve, reject) => {
      const p: Pending = {
        end, display: o.display, out: [], err: [], stderrDone: false, reject,
        resolve: (r) => {
          if (confirmsTrap) this.#trapUnconfirmed = false
          resolve(r)
        },
      }
      if (o.timeoutMs > 0) {
        p.timer = setTimeout(() => this.#kill(new CommandTimeoutError(this.#ctx.host, o.display, o.timeoutMs)), o.timeoutMs)
      }
      this.#pending = p
      this.#ch.write(text)
    })
  }

  /** Ends the shell; a running command is left to finish on the host. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#ch.end()
  }

  #onStdout(d: Buffer): void {
    const p = this.#pending
    if (!this.#started) {
      this.#preamble.push(d)
      const { all, at } = indexIn(this.#preamble, `${this.#ready}\n`)
      if (at < 0) return
      this.#started = true
      this.#preamble = []
      d = all.subarray(at + this.#ready.length + 1)
      if (d.length === 0) return
    }
    if (!p || p.code !== undefined) return
    p.out.push(d)
    const { all, at } = indexIn(p.out, `${p.end} `)
    if (at < 0) return
    const nl = all.indexOf('\n', at)
    if (nl < 0) {
      p.out.splice(0, p.out.length, all)
      return
    }
    p.code = Number(all.subarray(at + p.end.length + 1, nl).toString('latin1'))
    p.out.splice(0, p.out.length, all.subarray(0, at))
    this.#settleIfDone()
  }

  #onStderr(d: Buffer): void {
    const p = this.#pending
    if (!p || p.stderrDone) return
    p.err.push(d)
    const { all, at } = indexIn(p.err, `${p.end}\n`)
    if (at < 0) return
    p.stderrDone = true
    p.err.splice(0, p.err.length, all.subarray(0, at))
    this.#settleIfDone()
  }

  #settleIfDone(): void {
    const p = this.#pending
    if (!p || p.code === undefined || !p.stderrDone) return
    this.#pending = undefined
    if (p.timer) clearTimeout(p.timer)
    p.resolve({ code: p.code, stdout: Buffer.concat(p.out), stderr: Buffer.concat(p.err) })
  }

  #kill(e: Error): void {
    killRemote(this.#ch)
    this.#fail(e)
    this.close()
  }

  #fail(e: Error): void {
    const p = this.#pending
    this.#pending = undefined
    if (!p) return
    if (p.timer) clearTimeout(p.timer)
    p.reject(e)
  }

  #onClose(): void {
    const started = this.#started
    this.#closed = true
    const gone = this.#ctx.lost()
    if (gone) return this.#fail(gone)
    this.#fail(started
      ? new ConnectionError(this.#ctx.host, `host ${this.#ctx.host}: the remote shell ended while running: ${this.#pending?.display ?? ''}`)
      : new ShellUnavailableError(`host ${this.#ctx.host}: /bin/sh did not start`))
  }
}
