/** The Debian releases a bed host can run. */
export type Suite = 'bookworm' | 'trixie'

/** How a host runs its services: sshd as PID 1 with init scripts, or systemd as PID 1. */
export type InitKind = 'sysv' | 'systemd'

/** A host kind: `<release>-<init>`. */
export type HostKind = `${Suite}-${InitKind}`

/** Every kind the bed offers; the first is the default. */
export const HOST_KINDS: readonly HostKind[] = ['bookworm-sysv', 'bookworm-systemd', 'trixie-systemd', 'trixie-sysv']

/** The kind hosts get when none is asked for. */
export const DEFAULT_KIND: HostKind = 'bookworm-sysv'

/** Splits a kind into its release and init system. */
export function kindParts(kind: HostKind): { suite: Suite; init: InitKind } {
  const [suite, init] = kind.split('-') as [Suite, InitKind]
  return { suite, init }
}

/** Throws naming the offered kinds unless `text` is one of them. */
export function parseKind(text: string): HostKind {
  if ((HOST_KINDS as readonly string[]).includes(text)) return text as HostKind
  throw new Error(`testbed: unknown host kind '${text}'; the kinds are ${HOST_KINDS.join(', ')}`)
}

/** Kinds of `count` hosts: `kinds` assigned round-robin to host1..hostN (all default when empty). */
export function assignKinds(count: number, kinds: readonly HostKind[] = []): HostKind[] {
  const list = kinds.length > 0 ? kinds : [DEFAULT_KIND]
  return Array.from({ length: count }, (_, i) => list[i % list.length] as HostKind)
}
