import { createReadStream } from 'node:fs'
import type { Writable } from 'node:stream'

/** A command's stdin read from a file on the controller while it runs, so a large file is never held in memory. */
export interface StdinFile {
  readonly file: string
}

/** What a command's stdin may be: bytes in memory, or a controller file streamed as it is read. */
export type Stdin = string | Buffer | StdinFile

/** Whether `stdin` is streamed from a file rather than held in memory. */
export function isStdinFile(stdin: Stdin | undefined): stdin is StdinFile {
  return typeof stdin === 'object' && stdin !== null && !Buffer.isBuffer(stdin)
}

/**
 * Writes `stdin` to `dest` and ends it: in one write for bytes, piped (with back-pressure) for a
 * file. A file that cannot be read calls `fail` and ends `dest`, so the command sees end of input.
 */
export function sendStdin(stdin: Stdin | undefined, dest: Writable, fail: (err: Error) => void): void {
  if (!isStdinFile(stdin)) {
    dest.end(stdin)
    return
  }
  const source = createReadStream(stdin.file)
  source.once('error', (err) => {
    fail(new Error(`cannot read ${stdin.file} on the controller: ${err.message}`))
    dest.end()
  })
  source.pipe(dest)
}
