import { randomUUID } from 'node:crypto'
import type { ClientChannel } from 'ssh2'
import { type ChannelContext, killRemote, openExec, type RawResult } from './channel.ts'
import { CommandTimeoutError, ConnectionError } from './errors.ts'
import { secretValues, shQuote } from './quote.ts'

/** Stdin larger than this goes through a plain exec channel instead of a here-document. */
export const MAX_SHELL_STDIN = 1 << 20

/** A first command longer than this is not carried in the exec request (argv limits). */
const MAX_FIRST_COMMAND = 32 * 1024

/** The shell could not run a command and none of it ran, so the caller may run it elsewhere. */
export class ShellUnavailableError extends Error {
  override readonly name = 'ShellUnavailableError'
  /** The shell never started on this host: long-lived shells are not usable here at all. */
  readonly neverStarted: boolean
  constructor(message: string, neverStarted: boolean) {
    super(message)
    this.neverStarted = neverStarted
  }
}

/** What a command needs besides its text. */
export interface ShellRunOptions {
  readonly stdin?: string | Buffer
  readonly timeoutMs: number
  readonly display: string
  /** The command belongs to a chain (see Connection.execChain). */
  readonly chain?: ShellChainLink
}

/**
 * A command's place in a chain, as the shell keeps it: a shell variable per chain says whether the
 * chain still goes on. A `guarded` command runs only when it does (the command before it in the
 * chain was written to this same shell); an unguarded one runs and starts the variable afresh.
 */
export interface ShellChainLink {
  /** Digits naming the chain; unique in the session. */
  readonly id: string
  readonly guarded: boolean
  readonly okCodes: readonly number[]
}

/** The status a skipped command reports instead of an exit code. */
const SKIP_STATUS = 'skip'

interface Pending {
  readonly end: string
  readonly display: string
  readonly timeoutMs: number
  readonly confirmsTrap: boolean
  out: Buffer
  err: Buffer
  code?: number
  skipped?: boolean
  stderrDone: boolean
  timer?: NodeJS.Timeout
  resolve: (r: RawResult) => void
  reject: (e: Error) => void
}

// randomUUID draws from a pooled buffer: 122 random bits without a system call per marker.
const nonce = (): string => `havn-${randomUUID().replaceAll('-', '')}`

/**
 * A subshell isolates `exit`, `cd`, traps and variables as `sh -c` would, for a fork instead of a
 * fork and exec, except that `$$` and `$PPID` would name the long-lived shell. Commands that use
 * them get their own `sh -c`.
 */
function ownsPid(command: string): boolean {
  return /\$\$|\$\{\$\}|PPID/.test(command)
}

/**
 * Text the here-document can carry as it is: a here-document always ends in a newline, so the
 * input must too, and the shell passes every byte but NUL. Anything else goes through base64.
 */
function plainText(input: Buffer, delimiter: string): boolean {
  return input.at(-1) === 0x0a && !input.includes(0) && !input.includes(`\n${delimiter}\n`) && !input.subarray(0, delimiter.length + 1).equals(Buffer.from(`${delimiter}\n`))
}

/**
 * The shell text that runs one command and frames its result with `end`. In a chain, a guarded
 * command is skipped (its here-document still read) unless its chain goes on, and every chained
 * command leaves the chain going on only when it exited with one of its okCodes.
 */
function frame(command: string, stdin: string | Buffer | undefined, end: string, chain?: ShellChainLink): Buffer {
  const input = stdin === undefined || stdin.length === 0 ? undefined : Buffer.from(stdin)
  const run = ownsPid(command) ? `/bin/sh -c ${shQuote(command)}` : `( eval ${shQuote(command)} )`
  const delimiter = `${end}_IN`
  const v = `havn_chain_${chain?.id ?? ''}`
  const [open, close] = chain?.guarded ? [`if [ "\${${v}-}" = go ]; then `, `; havn_s=$?; else havn_s=${SKIP_STATUS}; fi`] : ['', '; havn_s=$?']
  const record = chain ? `; case $havn_s in ${chain.okCodes.join('|')}) ${v}=go;; *) ${v}=;; esac` : ''
  const tail = `${close}${record}; printf '%s %s\\n' ${end} "$havn_s"; printf '%s\\n' ${end} >&2\n`
  if (input === undefined) return Buffer.from(`${open}${run} </dev/null${tail}`)
  if (plainText(input, delimiter)) return Buffer.concat([Buffer.from(`${open}${run} <<'${delimiter}'${tail}`), input, Buffer.from(`${delimiter}\n`)])
  return Buffer.from(`${open}base64 -d <<'${delimiter}' | ${run}${tail}${input.toString('base64').replace(/.{1,76}/g, '$&\n')}${delimiter}\n`)
}

/**
 * Shell that runs `scripts` when the shell exits: at the end of its input, and on HUP or TERM.
 * A dead connection shows as SIGPIPE when the shell writes a result: exit then too, so they run.
 */
function exitTraps(scripts: readonly string[]): string {
  const all = scripts.map((x) => `{ ${x}\n} </dev/null >/dev/null 2>&1`).join('\n')
  return `trap ${shQuote(all)} EXIT; trap 'exit 129' HUP; trap 'exit 143' TERM; trap 'exit 141' PIPE\n`
}

/**
 * How a `sh -c` shell goes on to read its commands from stdin. dash and ash source /dev/stdin as it
 * arrives, in the same process, which keeps the exit traps (an exec would drop them until the new
 * shell reads them again). bash, zsh and ksh read a sourced file whole before running any of it,
 * which would wait for the end of the session, and a socket (not a pipe) cannot be opened as
 * /dev/stdin: there the shell is replaced by a fresh `sh`, as before.
 */
export const READ_ON = 'if [ -z "${BASH_VERSION:-}${ZSH_VERSION:-}${KSH_VERSION:-}" ] && command : 2>/dev/null </dev/stdin; then . /dev/stdin; else exec /bin/sh; fi'

/**
 * A first command may ride in the exec request only when argv may show it (no stdin, no secret),
 * and not in a chain: the shell that runs it may exec a fresh one (see READ_ON), which would not
 * know how the chain stands.
 */
function fitsExecRequest(command: string, o: ShellRunOptions): boolean {
  return o.stdin === undefined && o.chain === undefined && command.length <= MAX_FIRST_COMMAND && !secretValues().some((v) => v !== '' && command.includes(v))
}

/**
 * One `/bin/sh` kept open on an exec channel for the life of a connection. Each command runs in a
 * subshell of it (or its own `sh -c`, see {@link ownsPid}), so `exit`, `cd`, traps and variables
 * never reach the next command, with stdin from /dev/null or a here-document. A random end marker
 * on stdout (followed by the exit status) and on stderr frames each result. This replaces a channel
 * open, a session fork and a shell start per command with one write and one read.
 *
 * Commands are written as soon as they are given and run in that order, one after another: a
 * command given while another runs is already on its way, which saves a round trip, and can rely on
 * the earlier one having finished.
 */
export class ShellSession {
  readonly #ctx: ChannelContext
  readonly #ch: ClientChannel
  readonly #ready: string
  #started = false
  #closed = false
  #killed = false
  /** Bytes seen before the ready marker. */
  #preamble = Buffer.alloc(0)
  /** An exit trap was given and no command written after it has finished yet. */
  #trapUnconfirmed = false
  /** The exit trap, until it goes out in front of the next command. */
  #trap = ''
  /** The exit traps last given to the shell (at its start or since). */
  #armed = ''
  /** Written and not yet finished, in order; the head is the one running. */
  readonly #queue: Pending[] = []

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
   * A `first` command without stdin or secrets is carried in the exec request itself, so its
   * result arrives with the shell instead of one round trip later; `result` settles like `run`'s.
   * `exitScripts` are armed as {@link atExit} arms them, before that first command runs.
   */
  static async open(ctx: ChannelContext, first?: { command: string; options: ShellRunOptions }, exitScripts: readonly string[] = []): Promise<{ shell: ShellSession; result?: Promise<RawResult> }> {
    const ready = nonce()
    // The exit scripts are armed before the first command runs: if that command takes the run lock
    // and the controller dies before anything more arrives, the lock is still released.
    const armed = exitScripts.length > 0 ? exitTraps(exitScripts) : ''
    const prelude = `HAVN_SESSION_PID=$$; export HAVN_SESSION_PID; ${armed}printf '%s\\n' ${ready}\n`
    const early = first && fitsExecRequest(first.command, first.options) ? { ...first, end: nonce() } : undefined
    const command = early ? `exec /bin/sh -c ${shQuote(`${prelude}${frame(early.command, undefined, early.end).toString()}${READ_ON}`)}` : 'exec /bin/sh'
    let shell: ShellSession | undefined
    let result: Promise<RawResult> | undefined
    // Listening starts inside ssh2's callback: output of an early command may come in the same read.
    const ch = await openExec(ctx, command, false, (c) => {
      shell = new ShellSession(ctx, c, ready)
      shell.#armed = armed
      if (early) result = shell.#enqueue(early.end, early.options)
    })
    if (!shell) throw new Error('ShellSession.open: channel opened without its callback')
    if (!early) {
      ch.write(prelude)
      if (first) result = shell.run(first.command, first.options)
    }
    return { shell, ...(result ? { result } : {}) }
  }

  /**
   * Makes the shell run `scripts` when it exits: at end of input when the connection closes, and
   * on HUP or TERM, so a controller that dies still has them run. Not after SIGKILL. Replaces the
   * scripts given before. Written without waiting for an answer; it takes effect after the
   * commands written before it.
   */
  atExit(scripts: readonly string[]): void {
    if (this.#closed || scripts.length === 0) return
    const traps = exitTraps(scripts)
    if (traps === this.#armed) return
    this.#armed = traps
    // It goes out with a command given in the same turn of the event loop, else on its own.
    this.#trap = traps
    this.#trapUnconfirmed = true
    setImmediate(() => {
      if (!this.#trap || this.#closed) return
      this.#ch.write(this.#trap)
      this.#trap = ''
    })
  }

  /**
   * Makes sure the shell has read the exit trap: sshd drops input it has not yet passed on when
   * the connection ends. Any command finished after `atExit` proves it; otherwise this runs one.
   */
  async confirmExitTrap(): Promise<void> {
    if (this.#trapUnconfirmed && !this.#closed) await this.run(':', { timeoutMs: 10_000, display: 'confirm exit trap' })
  }

  /** The shell is gone (closed, killed after a timeout, or never started); open a new one. */
  get closed(): boolean {
    return this.#closed
  }

  /**
   * Runs `command` after the commands given before it and resolves with its exit status and
   * output. Rejects with ShellUnavailableError when none of it ran (the shell never started, or
   * died before reaching it), CommandTimeoutError after `timeoutMs` of running (the shell is then
   * killed), or a ConnectionError when the shell or connection died while it ran.
   */
  run(command: string, o: ShellRunOptions): Promise<RawResult> {
    if (this.#closed) return Promise.reject(new ShellUnavailableError('shell session is closed', !this.#started && !this.#killed))
    const end = nonce()
    const framed = frame(command, o.stdin, end, o.chain)
    this.#ch.write(this.#trap ? Buffer.concat([Buffer.from(this.#trap), framed]) : framed)
    this.#trap = ''
    return this.#enqueue(end, o)
  }

  /** Resolves once every command given so far has finished (or `maxMs` passed), whatever their outcome. */
  async drain(maxMs: number): Promise<void> {
    const pending = this.#queue.map((p) => new Promise<void>((resolve) => {
      const { resolve: ok, reject: no } = p
      p.resolve = (r) => (ok(r), resolve())
      p.reject = (e) => (no(e), resolve())
    }))
    if (pending.length === 0) return
    let timer: NodeJS.Timeout | undefined
    await Promise.race([Promise.all(pending), new Promise<void>((resolve) => (timer = setTimeout(resolve, maxMs)))])
    clearTimeout(timer)
  }

  /** Ends the shell after the commands already given; none is cut short. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#ch.end()
  }

  #enqueue(end: string, o: ShellRunOptions): Promise<RawResult> {
    return new Promise<RawResult>((resolve, reject) => {
      this.#queue.push({ end, display: o.display, timeoutMs: o.timeoutMs, confirmsTrap: this.#trapUnconfirmed, out: Buffer.alloc(0), err: Buffer.alloc(0), stderrDone: false, resolve, reject })
      if (this.#queue.length === 1) this.#startTimer()
    })
  }

  /** A command's timeout counts from when it starts running, i.e. when it reaches the head. */
  #startTimer(): void {
    const p = this.#queue[0]
    if (!p || p.timeoutMs <= 0 || p.timer) return
    p.timer = setTimeout(() => this.#kill(new CommandTimeoutError(this.#ctx.host, p.display, p.timeoutMs)), p.timeoutMs)
  }

  #onStdout(d: Buffer): void {
    if (!this.#started) {
      this.#preamble = Buffer.concat([this.#preamble, d])
      const at = this.#preamble.indexOf(`${this.#ready}\n`)
      if (at < 0) return
      this.#started = true
      d = this.#preamble.subarray(at + this.#ready.length + 1)
      this.#preamble = Buffer.alloc(0)
    }
    while (d.length > 0) {
      const p = this.#queue.find((q) => q.code === undefined)
      if (!p) return
      const all = Buffer.concat([p.out, d])
      const at = all.indexOf(`${p.end} `)
      const nl = at < 0 ? -1 : all.indexOf('\n', at)
      if (nl < 0) {
        p.out = all
        return
      }
      const status = all.subarray(at + p.end.length + 1, nl).toString('latin1')
      p.skipped = status === SKIP_STATUS
      p.code = p.skipped ? -1 : Number(status)
      p.out = all.subarray(0, at)
      // What follows belongs to the next command, written right behind this one.
      d = all.subarray(nl + 1)
      this.#settleDone()
    }
  }

  #onStderr(d: Buffer): void {
    while (d.length > 0) {
      const p = this.#queue.find((q) => !q.stderrDone)
      if (!p) return
      const all = Buffer.concat([p.err, d])
      const marker = `${p.end}\n`
      const at = all.indexOf(marker)
      if (at < 0) {
        p.err = all
        return
      }
      p.stderrDone = true
      p.err = all.subarray(0, at)
      d = all.subarray(at + marker.length)
      this.#settleDone()
    }
  }

  /** Resolves finished commands at the head, in order, and starts the next one's clock. */
  #settleDone(): void {
    let head = this.#queue[0]
    while (head && head.code !== undefined && head.stderrDone) {
      this.#queue.shift()
      if (head.timer) clearTimeout(head.timer)
      if (head.confirmsTrap) this.#trapUnconfirmed = false
      head.resolve({ code: head.code, stdout: head.out, stderr: head.err, ...(head.skipped ? { skipped: true as const } : {}) })
      head = this.#queue[0]
    }
    this.#startTimer()
  }

  #kill(e: Error): void {
    this.#killed = true
    killRemote(this.#ch)
    this.#failAll(e)
    this.close()
  }

  /** The head gets `head`; the commands behind it never ran. */
  #failAll(head: Error): void {
    const all = this.#queue.splice(0)
    all.forEach((p, i) => {
      if (p.timer) clearTimeout(p.timer)
      p.reject(i === 0 ? head : new ShellUnavailableError(`host ${this.#ctx.host}: the remote shell ended before running: ${p.display}`, false))
    })
  }

  #onClose(): void {
    const started = this.#started
    this.#closed = true
    const gone = this.#ctx.lost()
    if (gone) return this.#failAll(gone)
    const head = this.#queue[0]
    this.#failAll(started || this.#killed
      ? new ConnectionError(this.#ctx.host, `host ${this.#ctx.host}: the remote shell ended while running: ${head?.display ?? ''}`)
      : new ShellUnavailableError(`host ${this.#ctx.host}: /bin/sh did not start`, true))
  }
}
