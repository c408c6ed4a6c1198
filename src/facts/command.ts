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

/** Which of the given programs the host has on its PATH, in the order asked; names must be plain words. */
export const commandsFound = defineFact({
  name: 'command.found',
  command: (names: readonly string[]) => {
    const bad = names.filter((n) => !/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(n))
    if (bad.length) throw new Error(`invalid program name(s): ${bad.map((n) => JSON.stringify(n)).join(', ')}`)
    return `for c in ${names.join(' ')}; do command -v "$c" >/dev/null 2>&1 && echo "$c"; done; true`
  },
  parse: (res, names: readonly string[]): readonly string[] => {
    const found = new Set(res.stdout.split('\n'))
    return names.filter((n) => found.has(n))
  },
})
