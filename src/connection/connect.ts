import { homedir } from 'node:os'
import { join } from 'node:path'
import type { Client as SshClient } from 'ssh2'
import { newMarkers, SudoHandshake, sudoWrap } from './become.ts'
import { type ChainLink, CommandChain, SKIPPED } from './chain.ts'
import { type ChannelContext, collect, openExec, type RawResult } from './channel.ts'
import { BecomeError, ConnectionError, tail, UnreachableError } from './errors.ts'
import { forwardVia, handshake, type HopSpec, tcpConnect } from './handshake.ts'
import { Limiter } from './limiter.ts'
import { MAX_SHELL_STDIN, type ShellRunOptions, ShellSession, ShellUnavailableError } from './shell.ts'
import { resolveHost, type ResolvedHost } from './ssh-config.ts'
import type { ChainedCommand, ConnectOptions, Connection, ExecOptions, ExecResult, SshTarget } from './types.ts'
import { isStdinFile, sendStdin } from './stdin.ts'

/** sshd's default MaxSessions: more concurrent channels than this are queued locally. */
const MAX_CHANNELS = 10
/** How long closing a session waits for each of its last scripts (releasing the run lock) on a host that may not answer. */
const CLOSE_TIMEOUT_MS = 5000

function redactor(secret: string | undefined): (s: string) => string {
  return secret ? (s) => s.replaceAll(secret, '***') : (s) => s
}

function redactError(e: unknown, redact: (s: string) => string): unknown {
  if (e instanceof Error) e.message = redact(e.message)
  return e
}

/** A streamed file goes on its own channel: the shell frames stdin, which needs its length up front. */
function fitsShell(stdin: ExecOptions['stdin']): stdin is string | Buffer | undefined {
  return stdin === undefined || (!isStdinFile(stdin) && stdin.length <= MAX_SHELL_STDIN)
}

class SshConnection implements Connection {
  readonly host: string
  readonly #client: SshClient
  readonly #hops: SshClient[]
  readonly #loginUser: string
  readonly #opts: ConnectOptions
  readonly #redact: (s: string) => string
  readonly #ctx: ChannelContext
  #lost: ConnectionError | undefined
  #closing = false
  /** The long-lived shell plain commands run in; `false` once it proved unusable on this host. */
  #shell: Promise<ShellSession | undefined> | false | undefined
  readonly #atClose: string[] = []
  /** Settles once every command given so far has finished. */
  #allDone: Promise<void> = Promise.resolve()
  /** Settles when the next command may go to the shell: at once behind shell commands, which the shell runs in order; behind any other, once it finished. */
  #shellGate: Promise<void> = Promise.resolve()

  constructor(host: string, client: SshClient, hops: SshClient[], loginUser: string, opts: ConnectOptions, lateErrors: Error[]) {
    this.host = host
    this.#client = client
    this.#hops = hops
    this.#loginUser = loginUser
    this.#opts = opts
    this.#redact = redactor(opts.becomePassword)
    this.#ctx = { host, client, limiter: new Limiter(MAX_CHANNELS), lost: () => this.#lost }
    client.on('close', () => {
      if (this.#closing || this.#lost) return
      const why = lateErrors.at(-1)
      this.#lost = new UnreachableError(host, 'lost', `host ${host}: connection lost${why ? `: ${why.message}` : ''}`)
    })
  }

  /**
   * Runs commands in the order given, whatever carries them: one on a channel of its own (through
   * sudo, or with a streamed or large stdin) starts once every earlier command finished, and holds
   * back every later one until it finished. A change still being made is thus never overtaken by
   * the next step's reads.
   */
  exec(command: string, o: ExecOptions = {}): Promise<ExecResult> {
    return this.#exec(command, o)
  }

  async execChain(commands: readonly ChainedCommand[]): Promise<ExecResult[]> {
    const chain = new CommandChain()
    const runs = commands.map((c) => this.#exec(c.command, c.opts ?? {}, chain.add(c.okCodes ?? [0])))
    // All are awaited, so none fails unheard; the skipped ones settle at once.
    const settled = await Promise.allSettled(runs)
    const ran: ExecResult[] = []
    for (const [i, s] of settled.entries()) {
      if (s.status === 'rejected') throw s.reason
      if (s.value.skipped) break
      ran.push(s.value)
      if (!(commands[i]?.okCodes ?? [0]).includes(s.value.code)) break
    }
    return ran
  }

  #exec(command: string, o: ExecOptions, link?: ChainLink): Promise<ExecResult> {
    if (this.#closing) return Promise.reject(new ConnectionError(this.host, `host ${this.host}: connection already closed`))
    const becomeUser = o.become ? (typeof o.become === 'object' && o.become.user) || 'root' : undefined
    const sudo = becomeUser !== undefined && !(this.#loginUser === 'root' && becomeUser === 'root') ? becomeUser : undefined
    const inShell = sudo === undefined && this.#shell !== false && fitsShell(o.stdin)
    const result = (inShell ? this.#shellGate : this.#allDone).then(() => this.#run(command, o, sudo, link))
    const finished = result.then(() => undefined, () => undefined)
    this.#allDone = Promise.all([this.#allDone, finished]).then(() => undefined)
    if (!inShell) this.#shellGate = this.#allDone
    if (link) {
      link.chain.follow(link, result)
      // A chained command may first wait for the one before it (see #inShell): nothing overtakes it meanwhile.
      if (inShell) this.#shellGate = Promise.all([this.#shellGate, link.me.placed]).then(() => undefined)
    }
    return result
  }

  async #run(command: string, o: ExecOptions, sudo: string | undefined, link: ChainLink | undefined): Promise<ExecResult> {
    const display = o.display ?? command
    const timeoutMs = o.timeoutMs ?? this.#opts.commandTimeoutMs ?? 0
    try {
      const raw = sudo !== undefined
        ? link?.prev && (await link.chain.brokenBefore(link)) ? SKIPPED : await this.#become(command, sudo, o, display, timeoutMs, false)
        : await this.#plain(command, o, display, timeoutMs, link)
      return {
        code: raw.code,
        ...(raw.signal ? { signal: raw.signal } : {}),
        stdout: this.#redact(raw.stdout.toString('utf8')),
        stderr: this.#redact(raw.stderr.toString('utf8')),
        ...(raw.skipped ? { skipped: true } : {}),
      }
    } catch (e) {
      throw redactError(e, this.#redact)
    }
  }

  async #plain(command: string, o: ExecOptions, display: string, timeoutMs: number, link: ChainLink | undefined): Promise<RawResult> {
    if (fitsShell(o.stdin)) {
      const done = await this.#inShell(command, { ...(o.stdin !== undefined ? { stdin: o.stdin } : {}), timeoutMs, display }, link)
      if (done) return done
    }
    if (link?.prev && (await link.chain.brokenBefore(link))) return SKIPPED
    return this.#execChannel(command, o, display, timeoutMs)
  }

  /**
   * Runs a command in the connection's long-lived shell, opening it on first use (the first command
   * rides in its exec request) and again after it was killed. Undefined when no shell can be had
   * here; the caller then uses an exec channel.
   */
  async #inShell(command: string, options: ShellRunOptions, link?: ChainLink): Promise<RawResult | undefined> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = this.#shell
      if (current === false) return undefined
      let result: Promise<RawResult>
      if (current === undefined) {
        // A new shell knows nothing of the chain: the command before must have ended, and well.
        if (link?.prev) {
          if (await link.chain.brokenBefore(link)) return SKIPPED
          if (this.#shell !== current) continue
        }
        const first = link ? { ...options, chain: { id: link.chain.id, guarded: false, okCodes: link.me.okCodes } } : options
        const opening = ShellSession.open(this.#ctx, { command, options: first }, this.#atClose)
        const shell = opening.then(({ shell: s }) => (s.atExit(this.#atClose), s), () => undefined)
        this.#shell = shell
        const opened = await opening.catch(() => undefined)
        if (!opened?.result) {
          if (this.#shell === shell) this.#shell = false
          return undefined
        }
        link?.me.place(opened.shell)
        result = opened.result
      } else {
        const shell = await current
        if (!shell) return undefined
        if (shell.closed) {
          if (this.#shell === current) this.#shell = undefined
          continue
        }
        let chained = options
        if (link) {
          const chain = link.chain.shellLink(link, shell)
          // Not right behind the command before it in this shell: the shell cannot tell how that one ended.
          if (!chain.guarded && (await link.chain.brokenBefore(link))) return SKIPPED
          if (shell.closed) continue
          chained = { ...options, chain }
          link.me.place(shell)
        }
        result = shell.run(command, chained)
      }
      try {
        return await result
      } catch (e) {
        if (!(e instanceof ShellUnavailableError)) throw e
        // None of it ran: retry in a new shell, or on exec channels if shells cannot start here.
        if (e.neverStarted) this.#shell = false
      }
    }
    return undefined
  }

  /** The connection's shell if one is open. */
  async #openShell(): Promise<ShellSession | undefined> {
    const s = this.#shell ? await this.#shell : undefined
    return s && !s.closed ? s : undefined
  }

  async #execChannel(command: string, o: ExecOptions, display: string, timeoutMs: number): Promise<RawResult> {
    const ch = await openExec(this.#ctx, command, false)
    const c = collect(this.#ctx, ch, { timeoutMs, display })
    // Ending stdin right away avoids a ~40 ms stall through jump hosts.
    sendStdin(o.stdin, ch, c.abort)
    return c.done
  }

  async #become(command: string, user: string, o: ExecOptions, display: string, timeoutMs: number, pty: boolean): Promise<RawResult> {
    const markers = newMarkers()
    const ch = await openExec(this.#ctx, sudoWrap(command, user, markers), pty)
    let abort: (e: Error) => void = () => undefined
    const hs = new SudoHandshake({
      host: this.host,
      loginUser: this.#loginUser,
      markers,
      ...(this.#opts.becomePassword !== undefined ? { password: this.#opts.becomePassword } : {}),
      ...(o.stdin !== undefined ? { stdin: o.stdin } : {}),
      io: {
        write: (d) => void ch.write(d),
        end: (d) => sendStdin(d, ch, (e) => abort(e)),
        fail: (e) => abort(e),
      },
    })
    const sudoSide = (chunk: Buffer): Buffer => {
      if (hs.ready) return chunk
      const keep = hs.feed(chunk)
      return chunk.subarray(chunk.length - keep)
    }
    const c = collect(this.#ctx, ch, { timeoutMs, display, hooks: pty ? { stdout: sudoSide } : { stderr: sudoSide } })
    abort = c.abort
    const raw = await c.done
    if (!hs.ready) {
      const pre = this.#redact(hs.preamble)
      if (!pty && /must have a tty/i.test(pre)) return this.#become(command, user, o, display, timeoutMs, true)
      if (raw.code === 127 || /sudo: (command )?not found/i.test(pre + raw.stderr.toString('utf8'))) {
        throw new BecomeError(this.host, `host ${this.host}: become failed: sudo is not installed (exit ${raw.code}); install sudo or connect as root`)
      }
      const why = tail(pre.replace(/\r/g, '').trim() || raw.stderr.toString('utf8'))
      throw new BecomeError(this.host, `host ${this.host}: become failed: sudo -u ${user} as ${this.#loginUser} exited ${raw.code} before running: ${display}${why ? `\n${why}` : ''}`)
    }
    // A pty merges stderr into stdout and turns \n into \r\n; undo the latter so callers see what the command wrote.
    return pty ? { ...raw, stdout: Buffer.from(raw.stdout.toString('utf8').replace(/\r\n/g, '\n')) } : raw
  }

  async atClose(script: string): Promise<void> {
    this.#atClose.push(script)
    // A shell opened later arms the trap itself.
    ;(await this.#openShell())?.atExit(this.#atClose)
  }

  async close(): Promise<void> {
    if (this.#closing) return
    const graceful = async (): Promise<ShellSession | undefined> => {
      const shell = await this.#openShell()
      if (this.#atClose.length && !shell) {
        // No shell to leave them to: run them now, best effort, as the connection is going away.
        for (const script of this.#atClose) await this.exec(script, { display: 'close session', timeoutMs: CLOSE_TIMEOUT_MS }).catch(() => undefined)
      }
      // Commands nobody waits for any more (a failed host's reads) finish first: a shell killed by
      // the closing connection in the middle of one would not run its exit trap.
      await shell?.drain(5000)
      if (this.#atClose.length && shell) await shell.confirmExitTrap().catch(() => undefined)
      return shell
    }
    // Bounded: after a lost link the host may never answer, and the run's outcome is already known.
    let timer: NodeJS.Timeout | undefined
    const shell = await Promise.race([graceful(), new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), CLOSE_TIMEOUT_MS + 1000)))])
    clearTimeout(timer)
    this.#closing = true
    shell?.close()
    for (const c of [this.#client, ...[...this.#hops].reverse()]) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          // A peer that does not answer the goodbye: drop the socket rather than wait for keepalives.
          c.destroy()
          resolve()
        }, 2000)
        c.once('close', () => {
          clearTimeout(t)
          resolve()
        })
        c.end()
      })
    }
  }
}

function knownHostsFor(opts: ConnectOptions, r: ResolvedHost): { files: string[]; append: string } {
  if (opts.knownHostsFile) return { files: [opts.knownHostsFile], append: opts.knownHostsFile }
  const user = r.userKnownHostsFiles.length ? r.userKnownHostsFiles : [join(homedir(), '.ssh', 'known_hosts')]
  return { files: [...user, ...r.globalKnownHostsFiles], append: user[0] ?? join(homedir(), '.ssh', 'known_hosts') }
}

/**
 * Opens one authenticated SSH connection to `target`, through its ProxyJump hops if ssh config has
 * any (each hop's host key is verified too). Inventory address/port/user win over ssh config.
 * Throws UnreachableError, AuthError, HostKeyError or ConnectionError, each naming the host.
 */
export async function connect(target: SshTarget, opts: ConnectOptions): Promise<Connection> {
  const host = target.name
  const cfg = opts.sshConfigFile !== undefined ? { configFile: opts.sshConfigFile } : {}
  let resolved: ResolvedHost
  let jumps: ResolvedHost[]
  try {
    resolved = await resolveHost(target.address ?? target.name, {
      ...cfg,
      ...(target.user ? { user: target.user } : {}),
      ...(target.port ? { port: target.port } : {}),
    })
    jumps = await Promise.all(resolved.proxyJump.map((j) =>
      resolveHost(j.host, { ...cfg, ...(j.user ? { user: j.user } : {}), ...(j.port ? { port: j.port } : {}) })))
  } catch (e) {
    throw new ConnectionError(host, `host ${host}: ${(e as Error).message}`, { cause: e })
  }
  const spec = (r: ResolvedHost, via: string, identityFile: string | undefined): HopSpec => {
    const kh = knownHostsFor(opts, r)
    return {
      host,
      via,
      resolved: r,
      ...(identityFile ? { identityFile } : {}),
      knownHostsFiles: kh.files,
      appendKnownHostsFile: kh.append,
      acceptNewHostKeys: opts.acceptNewHostKeys ?? false,
      agent: opts.agent,
      timeoutMs: opts.connectTimeoutMs ?? r.connectTimeoutMs ?? 10_000,
      keepaliveIntervalMs: opts.keepaliveIntervalMs ?? 15_000,
    }
  }
  const hops: SshClient[] = []
  try {
    let via: SshClient | undefined
    for (const j of jumps) {
      const h = spec(j, `via jump host ${j.original}`, opts.identityFile)
      const prev: SshClient | undefined = via
      const { client } = await handshake(h, () => (prev ? forwardVia(prev, h) : tcpConnect(h)))
      hops.push(client)
      via = client
    }
    const h = spec(resolved, '', target.identityFile ?? opts.identityFile)
    const last = via
    const { client, lateErrors } = await handshake(h, () => (last ? forwardVia(last, h) : tcpConnect(h)))
    return new SshConnection(host, client, hops, resolved.user, opts, lateErrors)
  } catch (e) {
    for (const c of hops.reverse()) c.end()
    throw e
  }
}
