import { shQuote } from '../connection/quote.ts'
import type { Change } from '../engine/events.ts'
import { predict } from '../engine/facts.ts'
import type { Handler } from '../engine/handlers.ts'
import { runStep, type StepResult, type StepSpec } from '../engine/step.ts'
import { pendingInstalls } from '../facts/packages.ts'
import { serviceBaseName, serviceStatus, systemdUnitName, type ServiceEnabled, type ServiceStatus } from '../facts/service.ts'
import type { RetryKeywords } from '../engine/retry.ts'

/** Arguments of {@link service}. */
export interface ServiceArgs extends RetryKeywords {
  /** Unit or init script name; a `.service` suffix is accepted, and on systemd another unit type's (`x.timer`). */
  readonly name: string
  /** `started`/`stopped` are states; `restarted`/`reloaded` are actions and always count as a change. */
  readonly state?: 'started' | 'stopped' | 'restarted' | 'reloaded'
  /** Start at boot (systemctl enable/disable; update-rc.d or chkconfig without systemd). */
  readonly enabled?: boolean
  readonly notify?: readonly Handler[]
}

/** Options of the `service.start(name, opts)` shortcuts. */
export type ServiceShortcutOptions = Omit<ServiceArgs, 'name' | 'state'>

type Verb = 'start' | 'stop' | 'restart' | 'reload' | 'enable' | 'disable' | 'defaults'

const NOT_INSTALLED = '(not installed)'

function commandFor(init: ServiceStatus['init'], name: string, verb: Verb): { script: string; display: string } {
  const q = shQuote(name)
  if (init === 'systemd') {
    const v = verb === 'defaults' ? 'enable' : verb
    const unit = systemdUnitName(name)
    const u = shQuote(unit)
    // A daemon that tells systemd about its reload (Type=notify) is still reloading when systemctl
    // returns (HAProxy's unit only signals the master): wait, at most 10 s, until it says it is done.
    const settle = v === 'reload' ? ` || exit $?\ni=0; while [ "$(systemctl show -p ActiveState --value -- ${u})" = reloading ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done` : ''
    return { script: `systemctl ${v} -- ${u}${settle}`, display: `systemctl ${v} ${unit}` }
  }
  if (verb === 'enable' || verb === 'disable' || verb === 'defaults') {
    const chk = verb === 'disable' ? 'off' : 'on'
    return {
      script: `if command -v update-rc.d >/dev/null 2>&1; then update-rc.d ${q} ${verb}; else chkconfig ${q} ${chk}; fi`,
      display: `update-rc.d ${name} ${verb}`,
    }
  }
  // Output goes to a file: a daemon that keeps inherited pipes open would hold the SSH channel forever.
  return {
    script:
      `t=$(mktemp) || exit 1\n` +
      `if command -v service >/dev/null 2>&1; then service ${q} ${verb} >"$t" 2>&1 </dev/null; else /etc/init.d/${q} ${verb} >"$t" 2>&1 </dev/null; fi\n` +
      `rc=$?; cat "$t" >&2; rm -f "$t"; [ $rc = 0 ] || exit $rc`,
    display: `service ${name} ${verb}`,
  }
}

/**
 * A service that is not there yet, on a host where installs are pending in this run, is planned as
 * Debian's maintainer scripts leave it: a unit the package ships is started and enabled
 * (invoke-rc.d and deb-systemd-helper, on systemd and init-script hosts alike); an instance of a
 * template (`wg-quick@wg0`) is neither, since packages enable no instances. If no pending package
 * brings it, the run fails at this step, naming the missing service.
 */
async function broughtByInstall(name: string, s: ServiceStatus, pending: () => Promise<readonly string[]>): Promise<ServiceStatus> {
  if (s.exists || (await pending()).length === 0) return s
  if (name.includes('@')) return { ...s, exists: true, running: false, enabled: 'disabled' }
  return { ...s, exists: true, running: true, enabled: 'enabled', hasLinks: true }
}

function stateName(s: ServiceStatus): string {
  return !s.exists ? NOT_INSTALLED : s.running ? 'running' : 'stopped'
}

/** Plans `service(args)`: one fact read; one command (enable/disable, then start/stop/...) when something differs. */
export function serviceStep(args: ServiceArgs): StepSpec {
  const name = args.name.replace(/\.service$/, '')
  const what = [args.state, args.enabled === undefined ? undefined : args.enabled ? 'enabled' : 'disabled'].filter(Boolean).join(', ')
  return {
    name: `service ${name}${what ? ` ${what}` : ''}`,
    notify: args.notify,
    async plan(ctx) {
      serviceBaseName(args.name)
      const s = await broughtByInstall(name, await ctx.fact(serviceStatus, name), () => ctx.fact(pendingInstalls))
      const resource = `service:${name}`
      const changes: Change[] = []
      const verbs: Verb[] = []
      let enabled: ServiceEnabled = s.enabled

      if (args.enabled !== undefined) {
        if (s.exists && s.enabled === 'masked' && args.enabled) throw new Error(`host ${ctx.host.name}: service ${name} is masked; unmask it before enabling`)
        const now = s.enabled === 'enabled'
        // static and masked units have no boot state of their own to toggle.
        const togglable = !s.exists || s.enabled === 'enabled' || s.enabled === 'disabled'
        // Not installed yet: what its package will do on install is unknown, so the wish is a change.
        if (togglable && (now !== args.enabled || !s.exists)) {
          changes.push({ resource, action: 'update', field: 'enabled', before: s.exists ? String(now) : NOT_INSTALLED, after: String(args.enabled) })
          verbs.push(args.enabled ? (s.init === 'sysv' && !s.hasLinks ? 'defaults' : 'enable') : 'disable')
          enabled = args.enabled ? 'enabled' : 'disabled'
        }
      }

      let running = s.running
      const before = stateName(s)
      switch (args.state) {
        case 'started':
          if (!s.running) {
            changes.push({ resource, action: 'update', field: 'state', before, after: 'running' })
            verbs.push('start')
          }
          running = true
          break
        case 'stopped':
          if (s.running || !s.exists) {
            changes.push({ resource, action: 'update', field: 'state', before, after: 'stopped' })
            verbs.push('stop')
          }
          running = false
          break
        case 'restarted':
          changes.push({ resource, action: 'update', field: 'state', before, after: 'restarted' })
          verbs.push('restart')
          running = true
          break
        case 'reloaded':
          changes.push({ resource, action: 'update', field: 'state', before, after: 'reloaded' })
          // Reloading a stopped daemon fails with most init scripts; starting it gives the wanted result.
          verbs.push(s.running ? 'reload' : 'start')
          running = true
          break
        case undefined:
          break
      }

      if (!s.exists && changes.length) return { changes, missing: `service ${name} is not installed` }
      if (changes.length === 0) return { changes }

      const cmds = verbs.map((v) => commandFor(s.init, name, v))
      const script = cmds.map((c) => `{ ${c.script}\n} || exit $?`).join('\n')
      const display = cmds.map((c) => c.display).join(' && ')
      const after: ServiceStatus = { ...s, running, enabled, hasLinks: s.hasLinks || verbs.includes('defaults') }
      return {
        changes,
        predict: [predict(serviceStatus, [name], after)],
        commands: [{ script, display }],
      }
    },
  }
}

/**
 * Ensures a service's running and boot state, through systemd or, without it, the init scripts.
 * A service that does not exist yet fails the step (in a check run after earlier predicted
 * changes, it reports what it would do). Shortcuts: `service.restart(name)` and friends.
 */
export const service: ((args: ServiceArgs) => Promise<StepResult>) & {
  start(name: string, opts?: ServiceShortcutOptions): Promise<StepResult>
  stop(name: string, opts?: ServiceShortcutOptions): Promise<StepResult>
  restart(name: string, opts?: ServiceShortcutOptions): Promise<StepResult>
  reload(name: string, opts?: ServiceShortcutOptions): Promise<StepResult>
} = Object.assign((args: ServiceArgs) => runStep(serviceStep(args), args), {
  start: (name: string, opts: ServiceShortcutOptions = {}) => runStep(serviceStep({ ...opts, name, state: 'started' }), opts),
  stop: (name: string, opts: ServiceShortcutOptions = {}) => runStep(serviceStep({ ...opts, name, state: 'stopped' }), opts),
  restart: (name: string, opts: ServiceShortcutOptions = {}) => runStep(serviceStep({ ...opts, name, state: 'restarted' }), opts),
  reload: (name: string, opts: ServiceShortcutOptions = {}) => runStep(serviceStep({ ...opts, name, state: 'reloaded' }), opts),
})
