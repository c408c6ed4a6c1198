import { constants as osConstants } from 'node:os'
import type { Client, ClientChannel } from 'ssh2'
import { CommandTimeoutError, ConnectionError, UnreachableError } from './errors.ts'
import { type Limiter, sleep } from './limiter.ts'

/** What a channel needs from its connection. */
export interface ChannelContext {
  host: string
  client: Client
  limiter: Limiter
  /** Set once the connection is gone; channel opens then fail fast with this error. */
  lost(): ConnectionError | undefined
}

const MAX_OPEN_RETRIES = 12

/** Exit status per channel, captured the moment ssh2 emits it. */
const exits = new WeakMap<ClientChannel, { code?: number; signal?: string }>()

function isOpenRejected(e: unknown): boolean {
  const err = e as { reason?: number; message?: string }
  // reason 2 = SSH_OPEN_CONNECT_FAILED, what sshd answers when MaxSessions is reached; it frees slots lazily.
  return err.reason === 2 || /open failed/i.test(err.message ?? '')
}

/**
 * Opens an exec channel under the connection's channel limiter, retrying (bounded, with backoff)
 * when sshd rejects the open because its MaxSessions slots are not yet freed. The limiter slot is
 * released when the channel closes. `onOpen` runs the moment the channel exists, before any of
 * its output can be delivered, for callers that must not miss a byte.
 */
export async function openExec(ctx: ChannelContext, command: string, pty: boolean, onOpen?: (ch: ClientChannel) => void): Promise<ClientChannel> {
  const release = await ctx.limiter.acquire()
  try {
    for (let attempt = 0; ; attempt++) {
      const gone = ctx.lost()
      if (gone) throw gone
      try {
        const ch = await new Promise<ClientChannel>((resolve, reject) => {
          const cb = (err: Error | undefined, ch: ClientChannel): void => {
            if (err) return reject(err)
            // ssh2 may parse the reply, output, exit-status and close of a fast command from one read,
            // before an awaiting caller attaches listeners: record the exit status right away.
            ch.on('exit', (c: number | null, sig?: string) => exits.set(ch, { code: typeof c === 'number' ? c : undefined, signal: sig }))
            onOpen?.(ch)
            resolve(ch)
          }
          if (pty) ctx.client.exec(command, { pty: { term: 'dumb', cols: 200, rows: 50 } }, cb)
          else ctx.client.exec(command, cb)
        })
        ch.once('close', release)
        return ch
      } catch (e) {
        const gone2 = ctx.lost()
        if (gone2) throw gone2
        if (!isOpenRejected(e) || attempt >= MAX_OPEN_RETRIES) {
          throw new UnreachableError(ctx.host, 'other', `host ${ctx.host}: cannot open a session channel: ${(e as Error).message}`, { cause: e })
        }
        await sleep(Math.min(5 * 2 ** attempt, 250))
      }
    }
  } catch (e) {
    release()
    throw e
  }
}

interface ChannelInternals {
  outgoing?: { id?: number; state?: string }
  _client?: { _protocol?: { signal?(id: number, name: string): void } }
}

/**
 * Sends SIGKILL to the remote process group. ssh2's public `signal()` is a no-op once stdin was
 * ended (which we always do), so this goes to the protocol object directly when it exists.
 */
export function killRemote(ch: ClientChannel): void {
  const c = ch as unknown as ChannelInternals
  try {
    const id = c.outgoing?.id
    if (id !== undefined && (c.outgoing?.state === 'open' || c.outgoing?.state === 'eof') && c._client?._protocol?.signal) c._client._protocol.signal(id, 'KILL')
    else ch.signal('KILL')
  } catch {
    // The channel is already closing; nothing left to kill.
  }
}

/** Raw bytes captured from one channel. */
export interface RawResult {
  code: number
  signal?: string
  stdout: Buffer
  stderr: Buffer
  /** Not run: a command of its chain before it failed (see Connection.execChain). */
  skipped?: true
}

/** Hooks that let a caller (become) watch output as it arrives and return the bytes to keep. */
export interface CollectHooks {
  stdout?(chunk: Buffer): Buffer
  stderr?(chunk: Buffer): Buffer
}

/**
 * Collects a channel's output until it closes. On `timeoutMs` expiry the remote process is sent
 * KILL, the channel is closed and CommandTimeoutError is thrown. `abort` lets a hook fail early.
 */
export function collect(
  ctx: ChannelContext,
  ch: ClientChannel,
  o: { timeoutMs: number; display: string; hooks?: CollectHooks },
): { done: Promise<RawResult>; abort(err: Error): void } {
  const out: Buffer[] = []
  const err: Buffer[] = []
  let code: number | undefined
  let signal: string | undefined
  let failure: Error | undefined
  let settle: ((r: RawResult) => void) | undefined
  let fail: ((e: Error) => void) | undefined
  const done = new Promise<RawResult>((resolve, reject) => {
    settle = resolve
    fail = reject
  })
  const abort = (e: Error): void => {
    if (failure) return
    failure = e
    if (timer) clearTimeout(timer)
    killRemote(ch)
    ch.close()
    // sshd keeps a channel open until its process exits; report now, the limiter slot frees on 'close'.
    fail?.(e)
  }
  const timer = o.timeoutMs > 0 ? setTimeout(() => abort(new CommandTimeoutError(ctx.host, o.display, o.timeoutMs)), o.timeoutMs) : undefined
  ch.on('data', (d: Buffer) => {
    out.push(o.hooks?.stdout ? o.hooks.stdout(d) : d)
  })
  ch.stderr.on('data', (d: Buffer) => {
    err.push(o.hooks?.stderr ? o.hooks.stderr(d) : d)
  })
  ch.on('close', () => {
    const exit = exits.get(ch)
    if (exit?.code !== undefined) code = exit.code
    if (exit?.signal) signal = exit.signal.startsWith('SIG') ? exit.signal : `SIG${exit.signal}`
    if (timer) clearTimeout(timer)
    if (failure) return fail?.(failure)
    const gone = ctx.lost()
    if (code === undefined && signal === undefined && gone) return fail?.(gone)
    settle?.({ code: code ?? (signal ? 128 + (osConstants.signals[signal as NodeJS.Signals] ?? 0) : 255), ...(signal ? { signal } : {}), stdout: Buffer.concat(out), stderr: Buffer.concat(err) })
  })
  return { done, abort }
}
