import type { Host } from './define.ts'
import { shQuote } from '../connection/quote.ts'
import { currentHost, type HostRun, settled } from './context.ts'

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
function clearNotification(name: string): string {
  return `for d in ${BOTH_DIRS_SH}; do rm -f "$d/"${shQuote(name)}; done; true`
}

/**
 * Runs the handlers notified so far on this host, once each, in notification order, as Ansible's
 * `meta: flush_handlers` does; they do not run again at the end of the play unless notified again.
 * For role or play code that needs a restart to have happened before its next step.
 */
export async function flushHandlers(): Promise<void> {
  const run = currentHost()
  await settled(run)
  await runNotified(run)
}

/**
 * Runs every handler notified on the host, including those a handler notifies, each taken off the
 * list before it runs (so a handler that flushes cannot run itself again). The host's marker is
 * cleared only after the handler succeeded, so a failed or interrupted one runs on the next run.
 */
export async function runNotified(run: HostRun): Promise<void> {
  const outer = run.role
  try {
    for (let name = first(run.notified); name !== undefined; name = first(run.notified)) {
      run.notified.delete(name)
      const handler = handlerNamed(name)
      run.role = `handler ${name}`
      if (!handler) {
        run.emit({ type: 'step:end', host: run.host.name, role: run.role, step: 'pending notification', status: 'skipped', changes: [], reason: `handler '${name}' is pending on this host but this playbook does not define it` })
        continue
      }
      await handler.run(run.handle)
      await settled(run)
      if (!run.check) await run.remote.exec(clearNotification(name), { display: `clear notification ${name}` })
    }
  } finally {
    run.role = outer
  }
}

function first(set: ReadonlySet<string>): string | undefined {
  for (const v of set) return v
  return undefined
}

/** Shell that lists pending notifications, one name per line. */
export const LIST_NOTIFICATIONS = `for d in ${BOTH_DIRS_SH}; do for f in "$d"/*; do [ -e "$f" ] && printf '%s\\n' "\${f##*/}"; done; done; true`
