import { shQuote } from '../connection/quote.ts'
import { defineFact } from '../engine/facts.ts'

/** Whether anything exists at a path (`test -e`, so a dangling symlink counts as absent). */
export const pathExists = defineFact({
  name: 'command.pathExists',
  command: (path: string) => `test -e ${shQuote(path)}`,
  parse: (res) => res.code === 0,
})

/** Whether a shell command exits 0; used for `unless` guards, so the command must only read. */
export const commandSucceeds = defineFact({
  name: 'command.succeeds',
  command: (script: string) => script,
  parse: (res) => res.code === 0,
})
