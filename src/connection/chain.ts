import type { RawResult } from './channel.ts'
import type { ShellChainLink } from './shell.ts'

let lastId = 0

/** What a command of a chain that did not run resolves with. */
export const SKIPPED: RawResult = Object.freeze({ code: -1, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), skipped: true })

/** One command of a chain, as the command after it needs to know it. */
export class ChainMember {
  readonly okCodes: readonly number[]
  /** The shell object it was last written to; the command after it may then be written right behind it. */
  shell: object | undefined
  /** Settles once it is written to a shell or has ended: later commands may be given to the shell then. */
  readonly placed: Promise<void>
  /** Settles once it has ended and the chain says whether it goes on. */
  readonly done: Promise<void>
  #place: () => void = () => undefined
  #end: () => void = () => undefined

  constructor(okCodes: readonly number[]) {
    this.okCodes = okCodes
    this.placed = new Promise((resolve) => (this.#place = resolve))
    this.done = new Promise((resolve) => (this.#end = resolve))
  }

  /** Records that it was written to `shell`. */
  place(shell: object): void {
    this.shell = shell
    this.#place()
  }

  /** Records that it ended. */
  end(): void {
    this.#place()
    this.#end()
  }
}

/** A command's place in its chain: the chain, the command before it (if any) and itself. */
export interface ChainLink {
  readonly chain: CommandChain
  readonly prev: ChainMember | undefined
  readonly me: ChainMember
}

/**
 * Commands that run as one: each only while every one before it exited with one of its okCodes.
 * The controller's side of it; the long-lived shell keeps its own side in a variable (see
 * ShellChainLink), so commands written to it back to back need not wait for each other here.
 */
export class CommandChain {
  /** Names the chain's variable in the shell. */
  readonly id = String(++lastId)
  /** A command of the chain failed, threw or was skipped: the rest are skipped. */
  #broken = false
  #last: ChainMember | undefined

  /** The link of the next command, which exits successfully with one of `okCodes`. */
  add(okCodes: readonly number[]): ChainLink {
    const me = new ChainMember(okCodes)
    const link = { chain: this, prev: this.#last, me }
    this.#last = me
    return link
  }

  /** Follows `link`'s command to its end: the chain breaks unless it ran and exited with one of its okCodes. */
  follow(link: ChainLink, result: Promise<{ readonly code: number; readonly skipped?: true }>): void {
    void result
      .then((r) => {
        if (r.skipped || !link.me.okCodes.includes(r.code)) this.#broken = true
      }, () => {
        this.#broken = true
      })
      .finally(() => link.me.end())
  }

  /** Waits for the command before `link`'s to end; true when the chain is broken by then. */
  async brokenBefore(link: ChainLink): Promise<boolean> {
    if (!link.prev) return false
    await link.prev.done
    return this.#broken
  }

  /** How the shell frames `link`'s command when it is written to `shell`: guarded only right behind the command before it. */
  shellLink(link: ChainLink, shell: object): ShellChainLink {
    return { id: this.id, guarded: link.prev !== undefined && link.prev.shell === shell, okCodes: link.me.okCodes }
  }
}
