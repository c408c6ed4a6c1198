import { defineFact } from '../engine/facts.ts'

/** How services are managed: systemd when `/run/systemd/system` exists, else init scripts. */
export type InitSystem = 'systemd' | 'sysv'

/** The package manager found on the host; `none` when neither apt-get nor dnf exists. */
export type PackageManager = 'apt' | 'dnf' | 'none'

/** What a role may want to know about the operating system of a host. */
export interface OsInfo {
  /** os-release `ID`, e.g. `debian`, `fedora`; empty when the file is missing. */
  readonly id: string
  /** os-release `ID_LIKE`, split on spaces, e.g. `['rhel', 'fedora']`. */
  readonly idLike: readonly string[]
  /** os-release `VERSION_ID`, e.g. `12`, `9.4`; empty on rolling releases. */
  readonly versionId: string
  readonly initSystem: InitSystem
  readonly packageManager: PackageManager
  /** `MemTotal` of /proc/meminfo in bytes; 0 when unreadable. */
  readonly memTotalBytes: number
}

/** Shell that prints `init=systemd|sysv`; shared by facts that must pick a code path in the same read. */
export const INIT_SYSTEM_SH = 'if [ -d /run/systemd/system ]; then echo init=systemd; else echo init=sysv; fi'

/** Shell that prints `pm=apt|dnf|none`; apt wins where both exist, as on Debian hosts with dnf installed. */
export const PACKAGE_MANAGER_SH =
  'if command -v apt-get >/dev/null 2>&1; then echo pm=apt; elif command -v dnf >/dev/null 2>&1; then echo pm=dnf; else echo pm=none; fi'

const MARK = '--havn-os--'

/**
 * Operating system, init system, package manager and RAM of a host, in one read. os-release is
 * parsed here rather than sourced by the shell, so odd values cannot run anything.
 */
export const osInfo = defineFact({
  name: 'os.info',
  command: () =>
    [
      'cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null',
      `echo ${MARK}`,
      INIT_SYSTEM_SH,
      PACKAGE_MANAGER_SH,
      "grep '^MemTotal:' /proc/meminfo 2>/dev/null",
      'true',
    ].join('\n'),
  parse: (res): OsInfo => parseOsInfo(res.stdout),
})

/** Parses the output of {@link osInfo}'s command. */
export function parseOsInfo(stdout: string): OsInfo {
  const at = stdout.lastIndexOf(MARK)
  const release = parseOsRelease(at < 0 ? '' : stdout.slice(0, at))
  const tail = at < 0 ? stdout : stdout.slice(at + MARK.length)
  const init = /^init=(\w+)$/m.exec(tail)?.[1]
  const pm = /^pm=(\w+)$/m.exec(tail)?.[1]
  const kb = /^MemTotal:\s+(\d+)\s*kB$/m.exec(tail)?.[1]
  return {
    id: release.get('ID') ?? '',
    idLike: (release.get('ID_LIKE') ?? '').split(/\s+/).filter(Boolean),
    versionId: release.get('VERSION_ID') ?? '',
    initSystem: init === 'systemd' ? 'systemd' : 'sysv',
    packageManager: pm === 'apt' || pm === 'dnf' ? pm : 'none',
    memTotalBytes: kb === undefined ? 0 : Number(kb) * 1024,
  }
}

/** Parses os-release (`KEY=value`, values optionally quoted with shell-style escapes). */
export function parseOsRelease(text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim())
    if (!m?.[1] || m[2] === undefined) continue
    let v = m[2]
    const q = v[0]
    if ((q === '"' || q === "'") && v.endsWith(q) && v.length >= 2) {
      v = v.slice(1, -1)
      if (q === '"') v = v.replace(/\\([\\$"`])/g, '$1')
    }
    out.set(m[1], v)
  }
  return out
}
