import { createHash } from 'node:crypto'
import { posix } from 'node:path'
import { shQuote } from '../connection/quote.ts'
import type { Executed } from '../engine/context.ts'
import { defineFact } from '../engine/facts.ts'

/** Files up to this size are fetched with their content (for diffs and line/ini edits). */
export const MAX_TEXT_BYTES = 256 * 1024

/** Who a new file would belong to, and the umask it would be created under, on this host. */
export interface Creator {
  readonly owner: string
  readonly group: string
  readonly umask: number
}

/** Owner/group as names (`UNKNOWN` when the id has no name) and, when read from the host, as ids. */
export interface Ownership {
  readonly owner: string
  readonly group: string
  readonly uid?: number
  readonly gid?: number
}

/** The size a check run predicts for a file whose bytes the host has not fetched yet. */
export const UNKNOWN_SIZE = -1

/** A regular file; `content` is set when it is valid UTF-8 of at most {@link MAX_TEXT_BYTES}. */
export interface RegularFile extends Ownership {
  readonly kind: 'file'
  readonly mode: number
  /** Bytes; {@link UNKNOWN_SIZE} only in a check run's prediction of a download. */
  readonly size: number
  readonly sha256: string
  readonly content?: string
}

/** A directory (the mode includes setuid/setgid/sticky bits). */
export interface DirectoryState extends Ownership {
  readonly kind: 'directory'
  readonly mode: number
}

/**
 * What is at a path, without following a final symlink. `absent` also says whether the parent is a
 * directory and who would own a file created now, so planners can predict new files exactly;
 * both are optional because other modules may predict `{ kind: 'absent' }` without knowing them.
 */
export type FileState =
  | { readonly kind: 'absent'; readonly parentIsDirectory?: boolean; readonly creator?: Creator }
  | RegularFile
  | DirectoryState
  | { readonly kind: 'symlink'; readonly target: string }
  | { readonly kind: 'other' }

/**
 * Files up to this size come as they are, read by the shell's own `read`: a byte per system call,
 * still far cheaper than starting `base64` (about 1 ms of host CPU per file).
 */
export const MAX_PLAIN_BYTES = 2048

/**
 * Shell that prints the state of `path` in the line format {@link parseFileState} reads. Small
 * files come as plain text unless `encoded`; when that text is not the file's exact bytes (not
 * UTF-8, a NUL, changed meanwhile), {@link fileState} asks again with `encoded`.
 */
export function fileStateCommand(path: string, encoded = false): string {
  const p = shQuote(path)
  const parent = shQuote(posix.dirname(path))
  const fmt = shQuote('%a %u %g %s %U %G')
  // `read` keeps a last line without a newline in `l`; one newline always follows, so the bytes are the text minus it.
  const plain = `echo text; { while IFS= read -r l; do printf '%s\\n' "$l"; done; printf '%s\\n' "$l"; } < "$p"`
  return [
    `p=${p}`,
    `if [ -L "$p" ]; then echo symlink; readlink -- "$p"; exit 0; fi`,
    `if [ -f "$p" ]; then`,
    `  st=$(stat -c ${fmt} -- "$p") || exit 2`,
    `  echo "file $st"`,
    `  set -- $st`,
    // Small files come whole (their sum is taken here); only large ones need sha256sum on the host.
    // An empty file (a marker, a key not yet written) needs no process at all.
    ...(encoded ? [] : [`  if [ "$4" -le ${MAX_PLAIN_BYTES} ]; then ${plain} || exit 2; exit 0; fi`]),
    `  if [ "$4" -le ${MAX_TEXT_BYTES} ]; then echo content; [ "$4" -eq 0 ] || base64 < "$p" || exit 2; else sha256sum < "$p" || exit 2; fi`,
    `  exit 0`,
    `fi`,
    `if [ -d "$p" ]; then st=$(stat -c ${fmt} -- "$p") || exit 2; echo "directory $st"; exit 0; fi`,
    `if [ -e "$p" ]; then echo other; exit 0; fi`,
    `if [ -d ${parent} ]; then pd=1; else pd=0; fi`,
    CREATOR_SH,
    `echo "absent $pd $who $(umask)"`,
  ].join('\n')
}

/**
 * Sets `who` to "user group" of the shell's effective ids, the owner a file created now gets. Read
 * with builtins from /proc/self/status and the local passwd and group files, since a process per
 * absent path is the dearest part of a first run. Ids those files do not name (LDAP, say), or a
 * host without /proc, are asked of NSS through `id`. (`stat /proc/self` is no shortcut: a process
 * that changed its uid before exec, as under sudo, can see its /proc entry owned by root.)
 */
const CREATOR_SH = [
  `u=; g=; un=; gn=`,
  `if [ -r /proc/self/status ]; then while read -r k a b rest; do case $k in Uid:) u=$b;; Gid:) g=$b; break;; esac; done < /proc/self/status; fi`,
  `if [ -n "$u" ] && [ -n "$g" ]; then`,
  `  while IFS=: read -r n x i rest; do [ "$i" = "$u" ] && { un=$n; break; }; done 2>/dev/null < /etc/passwd`,
  `  while IFS=: read -r n x i rest; do [ "$i" = "$g" ] && { gn=$n; break; }; done 2>/dev/null < /etc/group`,
  `fi`,
  // coreutils' id prints the number, and fails, when NSS has no name for it.
  `[ -n "$un" ] || un=$(id -un 2>/dev/null) || [ -n "$un" ] || un=$(id -u)`,
  `[ -n "$gn" ] || gn=$(id -gn 2>/dev/null) || [ -n "$gn" ] || gn=$(id -g)`,
  `who="$un $gn"`,
].join('\n')

function fail(path: string, res: Executed, why: string): never {
  const err = res.stderr.trim()
  throw new Error(`cannot read the state of ${path}: ${why}${res.code ? ` (exit ${res.code})` : ''}${err ? `: ${err}` : ''}`)
}

function decodeText(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes)
  } catch {
    return undefined
  }
}

/**
 * The content of a plain-text read, or undefined when that text cannot be the file's exact bytes:
 * invalid UTF-8 arrives as U+FFFD and a NUL is dropped, so either leaves a mark or changes the size.
 */
function plainText(res: Executed): string | undefined {
  const start = res.stdout.indexOf('\ntext\n')
  const size = Number(res.stdout.slice(0, start).split(' ')[4])
  const text = res.stdout.slice(start + 6, -1)
  return start > 0 && res.stdout.endsWith('\n') && !text.includes('\uFFFD') && Buffer.byteLength(text) === size ? text : undefined
}

/** Parses {@link fileStateCommand} output; throws only when the host could not be read. */
export function parseFileState(res: Executed, path: string): FileState {
  if (res.code !== 0) fail(path, res, 'the command failed')
  const lines = res.stdout.split('\n')
  const head = (lines[0] ?? '').split(' ')
  switch (head[0]) {
    case 'symlink':
      return { kind: 'symlink', target: lines[1] ?? '' }
    case 'other':
      return { kind: 'other' }
    case 'absent': {
      const [, pd, owner, group, umask] = head
      if (owner === undefined || group === undefined || umask === undefined) fail(path, res, `unexpected output '${lines[0]}'`)
      return { kind: 'absent', parentIsDirectory: pd === '1', creator: { owner, group, umask: parseInt(umask, 8) } }
    }
    case 'file':
    case 'directory': {
      const [kind, mode, uid, gid, size, owner, group] = head
      if (group === undefined || owner === undefined) fail(path, res, `unexpected output '${lines[0]}'`)
      const base = { mode: parseInt(mode ?? '', 8), owner, group, uid: Number(uid), gid: Number(gid) }
      if (kind === 'directory') return { kind, ...base }
      if (lines[1] === 'text') {
        const text = plainText(res)
        if (text === undefined) fail(path, res, 'its plain text is not its exact bytes')
        return { kind: 'file', ...base, size: Number(size), sha256: createHash('sha256').update(text).digest('hex'), content: text }
      }
      if (lines[1] !== 'content') {
        const sha256 = (lines[1] ?? '').split(' ')[0] ?? ''
        if (!/^[0-9a-f]{64}$/.test(sha256)) fail(path, res, 'no sha256 sum in the output')
        return { kind: 'file', ...base, size: Number(size), sha256 }
      }
      // Size and sum describe the bytes read, even if the file changed after `stat`.
      const bytes = Buffer.from(lines.slice(2).join(''), 'base64')
      const file: RegularFile = { kind: 'file', ...base, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }
      const content = bytes.length <= MAX_TEXT_BYTES ? decodeText(bytes) : undefined
      return content === undefined ? file : { ...file, content }
    }
    default:
      return fail(path, res, `unexpected output '${lines[0] ?? ''}'`)
  }
}

/** What is at a path: absent, a regular file (with its content when small text), a directory, a symlink or other. */
export const fileState = defineFact({
  name: 'file.state',
  command: (path: string) => fileStateCommand(path),
  reread: (res: Executed, path: string) => (res.code === 0 && /^file [^\n]*\ntext\n/.test(res.stdout) && plainText(res) === undefined ? fileStateCommand(path, true) : undefined),
  parse: (res: Executed, path: string): FileState => parseFileState(res, path),
})
