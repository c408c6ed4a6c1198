import { shQuote } from '../connection/quote.ts'
import { defineFact } from '../engine/facts.ts'
import { INIT_SYSTEM_SH, type InitSystem } from './os.ts'

/**
 * Whether a service starts at boot. `static` (systemd units without an [Install] section, and
 * units only pulled in by others) and `masked` cannot be toggled with enable/disable.
 */
export type ServiceEnabled = 'enabled' | 'disabled' | 'static' | 'masked'

/** A service as the host's init system sees it. */
export interface ServiceStatus {
  readonly init: InitSystem
  /** False when there is no unit (systemd) or no executable /etc/init.d script (sysv). */
  readonly exists: boolean
  readonly running: boolean
  readonly enabled: ServiceEnabled
  /** sysv: whether any rc?.d start or kill link exists; `update-rc.d enable` needs them, else `defaults`. */
  readonly hasLinks: boolean
  /** systemd: set when the unit's files changed on disk since systemd loaded them (a daemon-reload is due). */
  readonly needsDaemonReload?: true
}

/** Names the fact accepts: systemd unit names without glob characters; `.service` is optional. */
export const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9@._:-]*$/

/** The service name without a `.service` suffix, after checking it is safe to splice into a command. */
export function serviceBaseName(name: string): string {
  if (!SERVICE_NAME.test(name)) throw new Error(`invalid service name ${JSON.stringify(name)}`)
  return name.replace(/\.service$/, '')
}

/** systemd unit types other than services, which a name may end with to say it is not a `.service`. */
const UNIT_SUFFIX = /\.(service|socket|timer|target|path|mount|automount|swap|slice)$/

/** The systemd unit a name means: the name itself when it ends with a unit type, else `<name>.service`. */
export function systemdUnitName(name: string): string {
  serviceBaseName(name)
  return UNIT_SUFFIX.test(name) ? name : `${name}.service`
}

/**
 * The shell that reads a service (on systemd, any unit named with its type suffix). Systemd:
 * `systemctl show` plus `is-enabled`. Otherwise the LSB exit code of `service NAME status`
 * (0 running, anything else not) and the rc2–5 start links.
 */
export function serviceCommand(name: string): string {
  const n = shQuote(serviceBaseName(name))
  return `n=${n}
u=${shQuote(systemdUnitName(name))}
${INIT_SYSTEM_SH}
if [ -d /run/systemd/system ]; then
  systemctl show -p LoadState -p ActiveState -p UnitFileState -p NeedDaemonReload -- "$u" 2>/dev/null
  echo "IsEnabled=$(systemctl is-enabled -- "$u" 2>/dev/null | tail -n 1)"
else
  if [ -x "/etc/init.d/$n" ]; then
    echo exists=yes
    if command -v service >/dev/null 2>&1; then service "$n" status >/dev/null 2>&1 </dev/null; else "/etc/init.d/$n" status >/dev/null 2>&1 </dev/null; fi
    echo "status=$?"
  else
    echo exists=no
  fi
  for f in /etc/rc[2345].d/S[0-9][0-9]"$n"; do [ -e "$f" ] && echo "start-link=$f"; done
  for f in /etc/rc[0-6S].d/[SK][0-9][0-9]"$n"; do [ -e "$f" ] && echo "link=$f"; done
fi
true`
}

/** Existence, running state and boot state of a service, in one read on systemd or init-script hosts. */
export const serviceStatus = defineFact({
  name: 'service.status',
  command: (name: string) => serviceCommand(name),
  parse: (res): ServiceStatus => parseServiceStatus(res.stdout),
})

/** Parses the output of {@link serviceCommand}. */
export function parseServiceStatus(stdout: string): ServiceStatus {
  const kv = new Map<string, string>()
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('=')
    if (i > 0 && !kv.has(line.slice(0, i))) kv.set(line.slice(0, i), line.slice(i + 1).trim())
  }
  if (kv.get('init') === 'systemd') {
    const load = kv.get('LoadState') ?? 'not-found'
    const active = kv.get('ActiveState') ?? 'inactive'
    // is-enabled knows about init scripts wrapped by systemd-sysv-generator; UnitFileState does not.
    const en = kv.get('IsEnabled') || kv.get('UnitFileState') || ''
    const enabled: ServiceEnabled = /^(enabled|enabled-runtime|alias)$/.test(en)
      ? 'enabled'
      : /^masked/.test(en) || load === 'masked'
        ? 'masked'
        : /^(static|indirect|generated|transient)$/.test(en)
          ? 'static'
          : 'disabled'
    return {
      init: 'systemd',
      exists: load !== 'not-found' && load !== '',
      running: active === 'active' || active === 'reloading' || active === 'activating',
      enabled,
      hasLinks: false,
      ...(kv.get('NeedDaemonReload') === 'yes' ? { needsDaemonReload: true as const } : {}),
    }
  }
  const startLinks = /^start-link=/m.test(stdout)
  return {
    init: 'sysv',
    exists: kv.get('exists') === 'yes',
    running: kv.get('status') === '0',
    enabled: startLinks ? 'enabled' : 'disabled',
    hasLinks: /^link=/m.test(stdout),
  }
}
