import { decodeOctal } from '../facts/mount.ts'
import { joinLines, splitLines } from './line.ts'

/** One fstab entry with its fields decoded (`\040` is a space); dump and passno default to 0. */
export interface FstabEntry {
  readonly src: string
  readonly path: string
  readonly fstype: string
  readonly opts: string
  readonly dump: number
  readonly passno: number
}

/** Parses one fstab line; undefined for blank lines, comments and lines too short to be an entry. */
export function parseFstabLine(line: string): FstabEntry | undefined {
  const t = line.trim()
  if (t === '' || t.startsWith('#')) return undefined
  const f = t.split(/[ \t]+/).map(decodeOctal)
  if (f.length < 3) return undefined
  const num = (s: string | undefined): number => (s === undefined || !/^\d+$/.test(s) ? 0 : Number(s))
  return { src: f[0]!, path: f[1]!, fstype: f[2]!, opts: f[3] ?? 'defaults', dump: num(f[4]), passno: num(f[5]) }
}

/** The entries of an fstab text, in order. */
export function parseFstab(text: string): FstabEntry[] {
  return splitLines(text).lines.map(parseFstabLine).filter((e) => e !== undefined)
}

/** The first entry for mount point `path`. */
export function fstabEntryFor(text: string, path: string): FstabEntry | undefined {
  return parseFstab(text).find((e) => e.path === path)
}

/** A field as fstab must hold it: space, tab, newline and backslash become octal escapes. */
function encode(field: string): string {
  return field.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`)
}

/** The line for an entry, fields separated by one space. */
export function renderFstabEntry(e: FstabEntry): string {
  return [e.src, e.path, e.fstype, e.opts].map(encode).join(' ') + ` ${e.dump} ${e.passno}`
}

function same(a: FstabEntry, b: FstabEntry): boolean {
  return a.src === b.src && a.path === b.path && a.fstype === b.fstype && a.opts === b.opts && a.dump === b.dump && a.passno === b.passno
}

/**
 * Makes `want` the one entry for its mount point, keeping every other line byte for byte: the
 * first entry for the path is rewritten when any field differs (a line that already says the
 * same with other spacing is kept), later ones are dropped, and a missing one is appended.
 * Returns the input itself when nothing differs.
 */
export function ensureFstabEntry(text: string, want: FstabEntry): string {
  const { lines, finalNewline } = splitLines(text)
  let seen = false
  let changed = false
  const out: string[] = []
  for (const line of lines) {
    const e = parseFstabLine(line)
    if (e?.path !== want.path) out.push(line)
    else if (seen) changed = true
    else {
      seen = true
      if (same(e, want)) out.push(line)
      else {
        out.push(renderFstabEntry(want))
        changed = true
      }
    }
  }
  if (!seen) return joinLines([...out, renderFstabEntry(want)], true)
  return changed ? joinLines(out, finalNewline) : text
}

/** Removes every entry for mount point `path`, keeping every other line byte for byte; returns the input itself when there is none. */
export function removeFstabEntry(text: string, path: string): string {
  const { lines, finalNewline } = splitLines(text)
  const kept = lines.filter((l) => parseFstabLine(l)?.path !== path)
  return kept.length === lines.length ? text : joinLines(kept, finalNewline)
}
