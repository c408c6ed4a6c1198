import type { Host } from './define.ts'
import { shQuote } from '../connection/quote.ts'

/** Work that runs once at the end of a play on the hosts where a step notified it. */
export interface Handler {
  readonly name: string
  run(host: Host): Promise<void>
}

const registry = new Map<string, Handler>()

/**
 * Defines a handler and registers it by name, so a notification left on a host by an interrupted
 * run can be honoured by the next run of any playbook that imports it. Names must be unique.
 */
export function defineHandler(name: string, run: (host: Host) => Promise<void>): Handler {
  // The name is also a file name on hosts (the pending-notification marker).
  if (!/^[A-Za-z0-9][A-Za-z0-9._:@ -]*$/.test(name) || name.endsWith(' ')) throw new Error(`handler name '${name}' may only hold letters, digits, spaces and . _ : @ -`)
  const existing = registry.get(name)
  if (existing && existing.run !== run) throw new Error(`handler '${name}' is defined twice`)
  const handler = existing ?? { name, run }
  registry.set(name, handler)
  return handler
}

/** The registered handler of that name, if the loaded playbook defines one. */
export function handlerNamed(name: string): Handler | undefined {
  return registry.get(name)
}

/**
 * Where pending notifications live: root's survive reboots in /var/lib; a non-root login user's go
 * to its own state directory. Listing and clearing look in both, whoever runs them.
 */
const NOTIFY_DIR_SH = `"$( [ "$(id -u)" = 0 ] && echo /var/lib/havn/notify || echo "$HOME/.local/state/havn/notify" )"`
const BOTH_DIRS_SH = '/var/lib/havn/notify "$HOME/.local/state/havn/notify"'

/**
 * A first line that records notifications, prefixed to a change's command: the marker exists
 * before the change starts, so a run killed at any point after it cannot lose the notification.
 */
export function recordNotifications(names: readonly string[]): string {
  return `{ d=${NOTIFY_DIR_SH} && mkdir -p "$d" && for n in ${names.map(shQuote).join(' ')}; do : > "$d/$n"; done; } || exit 97\n`
}

/** Shell that clears one notification after its handler succeeded. */
export function clearNotification(name: string): string {
  return `for d in ${BOTH_DIRS_SH}; do rm -f "$d/"${shQuote(name)}; done; true`
}

/** Shell that lists pending notifications, one name per line. */
export const LIST_NOTIFICATIONS = `for d in ${BOTH_DIRS_SH}; do for f in "$d"/*; do [ -e "$f" ] && printf '%s\\n' "\${f##*/}"; done; done; true`
