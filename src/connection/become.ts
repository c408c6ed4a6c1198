import { randomBytes } from 'node:crypto'
import { BecomeError } from './errors.ts'
import { shQuote } from './quote.ts'
import type { Stdin } from './stdin.ts'

/** Random markers for one sudo invocation: the password prompt and the "command started" line. */
export interface BecomeMarkers {
  prompt: string
  ready: string
}

/** Fresh random markers; unguessable so command output can never fake a prompt. */
export function newMarkers(): BecomeMarkers {
  const id = randomBytes(12).toString('hex')
  return { prompt: `[havn-sudo-prompt-${id}]`, ready: `[havn-sudo-ready-${id}]` }
}

/**
 * Wraps `command` for sudo: `-S` reads the password from stdin after our prompt, and the inner
 * shell prints the ready marker to stderr once sudo has handed over, so the caller knows when
 * stdin belongs to the command.
 */
export function sudoWrap(command: string, user: string, m: BecomeMarkers): string {
  const inner = `printf '%s\\n' ${shQuote(m.ready)} >&2; exec /bin/sh -c "$1"`
  return `sudo -H -S -p ${shQuote(m.prompt)} -u ${shQuote(user)} -- /bin/sh -c ${shQuote(inner)} sh ${shQuote(command)}`
}

function count(hay: Buffer, needle: string): number {
  let n = 0
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + needle.length)) n++
  return n
}

/** What the become state machine asks the channel to do. */
export interface BecomeIo {
  write(data: Buffer | string): void
  end(data?: Stdin): void
  fail(err: BecomeError): void
}

/**
 * Watches the sudo side of a channel (stderr, or the merged pty stream). Writes the password only
 * when our prompt appears (never up front, so a NOPASSWD sudo cannot pass it to the command), fails
 * on a second prompt (wrong password) or a prompt without a password, and sends the command's stdin
 * only after the ready marker. `split` returns the bytes after the marker line, which belong to the command.
 */
export class SudoHandshake {
  readonly #host: string
  readonly #loginUser: string
  readonly #m: BecomeMarkers
  readonly #password: string | undefined
  readonly #stdin: Stdin | undefined
  readonly #io: BecomeIo
  #pre: Buffer = Buffer.alloc(0)
  #sent = 0
  #ready = false
  #failed = false

  constructor(o: { host: string; loginUser: string; markers: BecomeMarkers; password?: string; stdin?: Stdin; io: BecomeIo }) {
    this.#host = o.host
    this.#loginUser = o.loginUser
    this.#m = o.markers
    this.#password = o.password
    this.#stdin = o.stdin
    this.#io = o.io
  }

  get ready(): boolean {
    return this.#ready
  }

  /** Bytes seen before the ready marker with prompts removed (sudo's own messages). */
  get preamble(): string {
    return this.#pre.toString('utf8').replaceAll(this.#m.prompt, '')
  }

  /** Feeds sudo-side output; returns how many bytes at the end of `chunk` are command output (0 before ready). */
  feed(chunk: Buffer): number {
    if (this.#ready || this.#failed) return this.#ready ? chunk.length : 0
    this.#pre = Buffer.concat([this.#pre, chunk])
    const readyAt = this.#pre.indexOf(this.#m.ready)
    const scan = readyAt >= 0 ? this.#pre.subarray(0, readyAt) : this.#pre
    const prompts = count(scan, this.#m.prompt)
    if (prompts > this.#sent) {
      if (this.#password === undefined) {
        this.#failed = true
        this.#io.fail(new BecomeError(this.#host, `host ${this.#host}: sudo requires a password for ${this.#loginUser}; pass --ask-become-pass or --become-password-file`))
        return 0
      }
      if (this.#sent > 0) {
        this.#failed = true
        this.#io.fail(new BecomeError(this.#host, `sudo: incorrect password for ${this.#loginUser} on ${this.#host}`))
        return 0
      }
      this.#sent++
      this.#io.write(`${this.#password}\n`)
    }
    if (readyAt < 0) return 0
    const nl = this.#pre.indexOf('\n', readyAt)
    if (nl < 0) return 0
    this.#ready = true
    if (this.#stdin !== undefined) this.#io.end(this.#stdin)
    else this.#io.end()
    const after = this.#pre.length - (nl + 1)
    this.#pre = this.#pre.subarray(0, readyAt)
    return Math.min(after, chunk.length)
  }
}
