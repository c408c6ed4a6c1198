import type { Executed } from '../engine/context.ts'
import { defineFact } from '../engine/facts.ts'
import { INIT_SYSTEM_SH, type InitSystem } from './os.ts'

/** A file system mounted at a path, as the kernel reports it (options in the kernel's own spelling). */
export interface LiveMount {
  readonly source: string
  readonly fstype: string
  /** Per-mount options, then the file system's own (`rw,relatime,size=65536k`), each once. */
  readonly options: string
}

/** What is mounted at a path (the topmost mount when several are stacked), and how mounts are managed there. */
export interface MountPoint {
  readonly init: InitSystem
  readonly mount?: LiveMount
}

/** Decodes the `\ooo` octal escapes that fstab and /proc/self/mountinfo use for space, tab, newline and backslash. */
export function decodeOctal(field: string): string {
  return field.replace(/\\([0-3][0-7]{2})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))
}

/** Parses /proc/self/mountinfo text: the last (topmost) mount at `path`, or undefined. */
export function parseMountinfo(text: string, path: string): LiveMount | undefined {
  let found: LiveMount | undefined
  for (const line of text.split('\n')) {
    const f = line.split(' ')
    const sep = f.indexOf('-', 6)
    if (sep < 0 || decodeOctal(f[4] ?? '') !== path) continue
    const options = [...new Set([...(f[5] ?? '').split(','), ...(f[sep + 3] ?? '').split(',')].filter(Boolean))]
    // The file system's own `rw` repeats the mount's `rw`/`ro` and says nothing more.
    found = { fstype: decodeOctal(f[sep + 1] ?? ''), source: decodeOctal(f[sep + 2] ?? ''), options: options.filter((o, i) => !(i > 0 && (o === 'rw' || o === 'ro'))).join(',') }
  }
  return found
}

const MARK = '--havn-mountinfo--'

/** Parses the output of {@link mountPoint}'s command. */
export function parseMountPoint(res: Executed, path: string): MountPoint {
  const at = res.stdout.indexOf(`${MARK}\n`)
  if (res.code !== 0 || at < 0) throw new Error(`cannot read the mounts of the host for ${path}${res.code ? ` (exit ${res.code})` : ''}: ${res.stderr.trim() || 'no mount table'}`)
  const init = /^init=systemd$/m.test(res.stdout.slice(0, at)) ? 'systemd' : 'sysv'
  const mount = parseMountinfo(res.stdout.slice(at + MARK.length + 1), path)
  return mount ? { init, mount } : { init }
}

/**
 * What is mounted at `path` (source, type, options) from /proc/self/mountinfo, and the init
 * system, which decides whether systemd must reload its fstab-generated units after an edit.
 */
export const mountPoint = defineFact({
  name: 'mount.point',
  command: (_path: string) => `${INIT_SYSTEM_SH}\necho ${MARK}\ncat /proc/self/mountinfo`,
  parse: (res: Executed, path: string): MountPoint => parseMountPoint(res, path),
})
