import { shQuote } from '../connection/quote.ts'
import type { Executed } from '../engine/context.ts'
import { defineFact } from '../engine/facts.ts'

/** A kernel parameter's live value (whitespace collapsed) and whether this host lets us write it. */
export interface SysctlLive {
  readonly value: string
  readonly writable: boolean
}

/** Throws unless `key` is a sysctl name (`net.ipv4.ip_forward`, or the `/` form for names holding dots). */
export function checkSysctlKey(key: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.\/-]*$/.test(key) || key.split(/[./]/).some((p) => p === '' || p === '..')) {
    throw new Error(`'${key}' is not a sysctl key like net.ipv4.ip_forward`)
  }
}

/** The /proc/sys file of a key: dots become slashes unless the key is already written with slashes. */
export function sysctlPath(key: string): string {
  return `/proc/sys/${key.includes('/') ? key : key.replaceAll('.', '/')}`
}

/** A sysctl value as the kernel compares it: runs of spaces, tabs and newlines become one space. */
export function normalizeSysctlValue(value: string): string {
  return value.trim().split(/\s+/).join(' ')
}

/** Parses the output of the sysctlLive command; undefined when the kernel has no such key. */
export function parseSysctlLive(res: Executed, key: string): SysctlLive | undefined {
  const [head, ...rest] = res.stdout.split('\n')
  if (res.code !== 0 || (head !== 'absent' && !/^value [01]$/.test(head ?? ''))) {
    throw new Error(`cannot read sysctl ${key}${res.code ? ` (exit ${res.code})` : ''}: ${res.stderr.trim() || `unexpected output '${head ?? ''}'`}`)
  }
  if (head === 'absent') return undefined
  return { value: normalizeSysctlValue(rest.join('\n')), writable: head === 'value 1' }
}

/** The live value of a kernel parameter from /proc/sys, and whether it is writable here (not in every namespace). */
export const sysctlLive = defineFact({
  name: 'sysctl.live',
  command: (key: string) => {
    const f = shQuote(sysctlPath(key))
    return `f=${f}\n[ -f "$f" ] || { echo absent; exit 0; }\nif [ -w "$f" ]; then echo 'value 1'; else echo 'value 0'; fi\ncat -- "$f"`
  },
  parse: (res: Executed, key: string) => parseSysctlLive(res, key),
})
