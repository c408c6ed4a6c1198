import { randomBytes } from 'node:crypto'
import { posix } from 'node:path'
import { shQuote, type ShellCommand } from '../connection/quote.ts'

/** Formats a mode as the 4-digit octal string used in changes and chmod, e.g. `0644`. */
export function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0')
}

const TEMP_RANDOM_BYTES = 9

/**
 * The start of the temp file names a write of `path` uses beside it: hidden, named for the file
 * (cut so the whole name stays within NAME_MAX), then `.havn-` and the random part.
 */
export function tempPrefix(path: string): string {
  return `.${posix.basename(path).slice(0, 200)}.havn-`
}

/** How the file must look once written; `owner`/`group` are only set (chown/chgrp) when given. */
export interface WriteTarget {
  readonly path: string
  readonly mode: number
  readonly owner?: string
  readonly group?: string
  /** Shell command run on the written temp file before it replaces `path`; `%s` is the temp file. */
  readonly validate?: string
  /** Copy the old file to `path.<UTC timestamp>~` (keeping its attributes) before replacing it. */
  readonly backup?: boolean
  /** The new content is empty: the temp file stays as created and stdin is not read. */
  readonly empty?: boolean
  /**
   * Shell that writes the new content into the temp file `"$t"` itself (a download on the host),
   * in place of copying stdin there; it exits non-zero to abort, which removes the temp file.
   */
  readonly fill?: string
}

/** Shell that sets owner, group and then mode (chown clears setuid bits, so chmod must come last). */
function attrs(target: string, t: { mode?: number; owner?: string; group?: string }): string[] {
  const out: string[] = []
  if (t.owner !== undefined) out.push(`chown -- ${shQuote(t.owner)} ${target} || exit 3`)
  if (t.group !== undefined) out.push(`chgrp -- ${shQuote(t.group)} ${target} || exit 3`)
  if (t.mode !== undefined) out.push(`chmod ${octal(t.mode)} ${target} || exit 3`)
  return out
}

/**
 * One script that replaces `path` atomically with the bytes on its stdin: a temp file in the same
 * directory, attributes set on the temp, the validator run on it, an optional backup, then a rename.
 * On any failure (or signal) the temp is removed and the live file is untouched. `display` names
 * the action and never contains content.
 */
export function atomicWriteScript(t: WriteTarget): ShellCommand {
  const dir = posix.dirname(t.path)
  const temp = tempPrefix(t.path)
  // Without owner or group to set, a plain mode is had from the umask when the temp file is
  // created; otherwise the temp starts private (0600) until chown/chgrp/chmod have run.
  const plain = t.owner === undefined && t.group === undefined && (t.mode & ~0o666) === 0
  const lines = [
    `p=${shQuote(t.path)}`,
    `d=${shQuote(dir)}`,
    // Early exits drain stdin, so the sender never writes into a closed pipe.
    `[ -d "$d" ] || { cat >/dev/null; echo "havn: parent directory $d does not exist" >&2; exit 2; }`,
    // A random name made by the controller and an exclusive create (noclobber) do what mktemp does, without a process.
    `t="$d/${temp}${randomBytes(TEMP_RANDOM_BYTES).toString('hex')}"`,
    // A temp of this path left by a run that died with its host; the host lock rules out a live one.
    `rm -f -- "$d"/${shQuote(temp)}${'?'.repeat(TEMP_RANDOM_BYTES * 2)}`,
    `umask ${octal(plain ? 0o777 & ~t.mode : 0o077)}`,
    `set -C; : > "$t" || { cat >/dev/null; exit 3; }; set +C`,
    // dash runs no EXIT trap on a signal, so turn signals into exits.
    `trap 'rm -f -- "$t"' EXIT`,
    `trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM`,
    ...(t.empty ? [] : [t.fill ?? `cat > "$t" || exit 3`]),
    ...attrs('"$t"', plain ? {} : t),
  ]
  if (t.validate !== undefined) {
    const cmd = t.validate.replaceAll('%s', '"$t"')
    // A subshell, so an `exit` in the validator cannot skip the report below.
    lines.push(`( ${cmd}\n) >&2 </dev/null || { rc=$?; echo "havn: validate command failed (exit $rc): "${shQuote(t.validate)} >&2; exit $rc; }`)
  }
  if (t.backup) lines.push(`if [ -f "$p" ]; then cp -p -- "$p" "$p.$(date -u +%Y%m%dT%H%M%SZ)~" || exit 3; fi`)
  lines.push(`mv -f -- "$t" "$p" || exit 3`, `trap - EXIT`)
  const display = `write ${t.path}${t.validate !== undefined ? ` (validate: ${t.validate})` : ''}`
  return { script: lines.join('\n'), display }
}

/** Shell that changes owner, group and mode of an existing path in place (no rewrite). */
export function setAttributesScript(path: string, t: { mode?: number; owner?: string; group?: string }): ShellCommand {
  const parts = [
    t.owner !== undefined ? `owner ${t.owner}` : '',
    t.group !== undefined ? `group ${t.group}` : '',
    t.mode !== undefined ? `mode ${octal(t.mode)}` : '',
  ].filter(Boolean)
  return { script: attrs(shQuote(path), t).join('\n'), display: `set ${parts.join(', ')} on ${path}` }
}
