import { posix } from 'node:path'
import { shQuote } from '../connection/quote.ts'
import { defineFact } from '../engine/facts.ts'

/** One entry below a tree's root, as `find` and `sha256sum` report it. */
export interface TreeEntry {
  readonly kind: 'file' | 'directory' | 'symlink' | 'other'
  readonly mode: number
  readonly owner: string
  readonly group: string
  /** Files only (0 for the rest). */
  readonly size: number
  /** Files only. */
  readonly sha256?: string
}

/** What is at a tree's root: a directory with its entries by relative path, or something else. */
export type TreeState =
  | { readonly kind: 'directory'; readonly mode: number; readonly owner: string; readonly group: string; readonly entries: Readonly<Record<string, TreeEntry>> }
  | { readonly kind: 'absent'; readonly parentIsDirectory: boolean }
  | { readonly kind: 'file' | 'symlink' | 'other' }

/**
 * The shell that lists a tree in one read: every entry's type, mode, owner, group and size, then
 * the sum of every file. Names holding a newline are refused (exit 3): they cannot be listed this way.
 */
export function treeCommand(root: string): string {
  const q = shQuote(root)
  return [
    `d=${q}`,
    `if [ -L "$d" ]; then echo symlink; exit 0; fi`,
    `if [ -f "$d" ]; then echo file; exit 0; fi`,
    `if [ ! -e "$d" ]; then if [ -d ${shQuote(posix.dirname(root))} ]; then echo absent 1; else echo absent 0; fi; exit 0; fi`,
    `if [ ! -d "$d" ]; then echo other; exit 0; fi`,
    `cd "$d" || exit 2`,
    `echo "directory $(stat -c '%a %U %G' .)"`,
    `if find . -name '*\n*' | grep -q .; then echo "havn: a name below $d holds a newline" >&2; exit 3; fi`,
    `find . -mindepth 1 -printf '%y %m %u %g %s %P\\n' || exit 2`,
    `echo '#sums'`,
    `find . -type f -exec sha256sum -- {} + || exit 2`,
  ].join('\n')
}

/** A directory tree on the host with every file's sum: what `copy` compares a source tree with. */
export const treeState = defineFact({
  name: 'tree.state',
  command: (root: string) => treeCommand(root),
  parse: (res, root: string): TreeState => {
    if (res.code !== 0) throw new Error(`reading ${root} failed (exit ${res.code}): ${res.stderr.trim()}`)
    return parseTreeState(res.stdout)
  },
})

const KINDS: Record<string, TreeEntry['kind']> = { f: 'file', d: 'directory', l: 'symlink' }

/** Parses the output of {@link treeCommand}. */
export function parseTreeState(stdout: string): TreeState {
  const [head = '', ...rest] = stdout.split('\n')
  const [kind, a, b, c] = head.split(' ')
  if (kind === 'absent') return { kind: 'absent', parentIsDirectory: a === '1' }
  if (kind !== 'directory') return { kind: kind === 'file' || kind === 'symlink' ? kind : 'other' }
  const entries: Record<string, TreeEntry> = {}
  const sums = new Map<string, string>()
  let inSums = false
  for (const line of rest) {
    if (line === '#sums') {
      inSums = true
      continue
    }
    if (line === '') continue
    if (inSums) {
      // sha256sum escapes a name holding a backslash: the line then starts with one.
      const escaped = line.startsWith('\\')
      const m = /^\\?([0-9a-f]{64}) {2}\.\/(.*)$/.exec(line)
      if (m?.[1] && m[2] !== undefined) sums.set(escaped ? m[2].replaceAll('\\\\', '\\') : m[2], m[1])
      continue
    }
    const m = /^(\S) ([0-7]+) (\S+) (\S+) (\d+) (.*)$/.exec(line)
    if (!m) continue
    const kind = KINDS[m[1]!] ?? 'other'
    // A directory's size depends on the filesystem, not on what was copied into it.
    entries[m[6]!] = { kind, mode: Number.parseInt(m[2]!, 8), owner: m[3]!, group: m[4]!, size: kind === 'file' ? Number(m[5]) : 0 }
  }
  for (const [path, sha256] of sums) {
    const e = entries[path]
    if (e) entries[path] = { ...e, sha256 }
  }
  return { kind: 'directory', mode: Number.parseInt(a ?? '0', 8), owner: b ?? '', group: c ?? '', entries }
}
