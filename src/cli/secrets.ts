import { readFile } from 'node:fs/promises'
import { InputError } from '../engine/errors.ts'

/** Reads the sudo password from `--become-password-file` or asks once on the terminal. */
export async function readBecomePassword(opts: { askBecomePass?: boolean; becomePasswordFile?: string }): Promise<string | undefined> {
  if (opts.becomePasswordFile) {
    try {
      // Only the final newline is dropped: a password may end in spaces.
      return (await readFile(opts.becomePasswordFile, 'utf8')).replace(/\r?\n$/, '')
    } catch (err) {
      throw InputError.at({ file: opts.becomePasswordFile }, `cannot read become password file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
    }
  }
  if (opts.askBecomePass) return askHidden('BECOME password: ')
  return undefined
}

/** Prompts on the controlling terminal without echoing what is typed; `option` and `instead` name the flags for the no-terminal error. */
export async function askHidden(prompt: string, option = '--ask-become-pass', instead = '--become-password-file'): Promise<string> {
  const input = process.stdin
  if (!input.isTTY) throw InputError.at({}, `${option} needs a terminal; use ${instead} instead`)
  // Echo goes off before the prompt shows: an answer typed (or sent by a tool) at once is never echoed.
  input.setRawMode(true)
  process.stderr.write(prompt)
  input.resume()
  input.setEncoding('utf8')
  return new Promise((resolve, reject) => {
    let typed = ''
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish(() => resolve(typed))
        if (ch === '\u0003') return finish(() => reject(new InputError([{ message: 'password prompt interrupted', at: {} }])))
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1)
        else typed += ch
      }
    }
    const finish = (done: () => void) => {
      input.off('data', onData)
      input.setRawMode(false)
      input.pause()
      process.stderr.write('\n')
      done()
    }
    input.on('data', onData)
  })
}

/** Shorter values would mangle ordinary output; nobody's secret is that short. */
const MIN_REDACTED_LENGTH = 4

/** Replaces every occurrence of each secret in `text` with `***`, longest first. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) if (s.length >= MIN_REDACTED_LENGTH) out = out.split(s).join('***')
  return out
}
