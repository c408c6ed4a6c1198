import { posix } from 'node:path'
import { isSecret, shQuote, type Secret, type ShellCommand } from '../connection/quote.ts'
import type { Change } from '../engine/events.ts'
import { predict, type Prediction } from '../engine/facts.ts'
import type { Handler } from '../engine/handlers.ts'
import { runStep, type PlannedCommand, type StepPlan, type StepResult, type StepSpec } from '../engine/step.ts'
import { fileState, type FileState } from '../facts/file.ts'
import { serviceStatus, systemdUnitName, type ServiceEnabled, type ServiceStatus } from '../facts/service.ts'
import { planWrite } from './file.ts'
import type { RetryKeywords } from '../engine/retry.ts'

/** Where {@link systemdUnit} writes unit files: the administrator's directory, which overrides packaged units. */
export const UNIT_DIR = '/etc/systemd/system'

/** Arguments of {@link systemdUnit}. */
export interface SystemdUnitArgs extends RetryKeywords {
  /** The unit with its type: `app.service`, `backup.timer`, `app@.service` for a template. */
  readonly name: string
  /** Exact text of `/etc/systemd/system/<name>`; leave it out to add drop-ins to a unit a package ships. */
  readonly content?: string | Secret
  /** Drop-ins in `/etc/systemd/system/<name>.d/`, by file name (`10-limits.conf`); `null` removes one. */
  readonly dropIns?: Readonly<Record<string, string | Secret | null>>
  /** Start at boot (`systemctl enable`); the unit needs an `[Install]` section for `true`. */
  readonly enabled?: boolean
  readonly state?: 'started' | 'stopped'
  /** A running unit (or one wanted started) is restarted when its files changed, so it runs the new definition. */
  readonly restartOnChange?: boolean
  /** Hide the content of the unit and every drop-in in diffs and errors, as a `secret()` does. */
  readonly sensitive?: boolean
  readonly notify?: readonly Handler[]
}

const DROP_IN_NAME = /^[A-Za-z0-9][A-Za-z0-9@._-]*\.conf$/
const INSTALL_SECTION = /^\s*\[Install\]\s*$/m

function textOf(c: string | Secret): string {
  return isSecret(c) ? c.reveal() : c
}

function checkArgs(args: SystemdUnitArgs): void {
  if (systemdUnitName(args.name) !== args.name) {
    throw new Error(`systemdUnit '${args.name}': name the unit with its type, such as '${args.name}.service' or '${args.name}.timer'`)
  }
  const template = args.name.includes('@.')
  if (template && (args.state !== undefined || args.enabled !== undefined)) {
    throw new Error(`systemdUnit '${args.name}' is a template: it cannot be started or enabled itself; use service() on an instance such as '${args.name.replace('@.', '@example.')}'`)
  }
  for (const name of Object.keys(args.dropIns ?? {})) {
    if (!DROP_IN_NAME.test(name)) throw new Error(`systemdUnit '${args.name}': drop-in '${name}' must be a plain file name ending in .conf`)
  }
  if (args.content === undefined && Object.keys(args.dropIns ?? {}).length === 0 && args.state === undefined && args.enabled === undefined) {
    throw new Error(`systemdUnit '${args.name}': give content, dropIns, enabled or state`)
  }
}

/** The boot state a unit will report once its files are as planned, before any enable or disable. */
function bootStateAfterWrite(s: ServiceStatus, hasInstall: boolean): ServiceEnabled {
  if (!hasInstall) return 'static'
  return s.exists && s.enabled !== 'static' ? s.enabled : 'disabled'
}

/**
 * The shell that stages every desired file from stdin (each `bytes` long, in order), has
 * `systemd-analyze verify` judge them together, and only then runs `writes`, which read their
 * content from the staged copies. A rejected unit fails with exit 4 before anything goes live.
 */
function filesScript(name: string, staged: readonly Staged[], writes: readonly string[], unitStaged: boolean): string {
  const lines = ['s=$(mktemp -d) || exit 1', `trap 'rm -rf -- "$s"' EXIT`, `trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM`]
  if (staged.some((f) => f.rel.includes('/'))) lines.push(`mkdir -- "$s/"${shQuote(`${name}.d`)} || exit 1`)
  for (const f of staged) lines.push(`head -c ${f.bytes} > "$s/"${shQuote(f.rel)} || exit 1`)
  // Without the option (systemd < 250) warnings in the unit itself would not fail the verification.
  lines.push(
    'o=--recursive-errors=no; systemd-analyze --help 2>/dev/null | grep -q -- --recursive-errors || o=',
    `target=${unitStaged ? `"$s/"${shQuote(name)}` : shQuote(name)}`,
    'if ! out=$(cd / && SYSTEMD_UNIT_PATH="$s:" systemd-analyze verify --man=no $o -- "$target" 2>&1 </dev/null); then',
    `  printf '%s\\n' "$out" | sed "s|$s|${UNIT_DIR}|g" >&2`,
    `  echo "havn: systemd-analyze verify rejected ${name}; nothing was written" >&2`,
    '  exit 4',
    'fi',
    ...writes,
  )
  return lines.join('\n')
}

/** A desired file as staged for verification: its path under the staging directory and its size. */
interface Staged {
  readonly rel: string
  readonly bytes: number
  readonly text: string
}

/** A planned write run in a subshell (its traps and exits stay its own), its content read from the staged copy. */
function stagedWrite(cmd: PlannedCommand, rel: string): string {
  return `( ${cmd.script}\n) ${cmd.stdin !== undefined ? `< "$s/"${shQuote(rel)} ` : ''}|| exit $?`
}

/** The step behind {@link systemdUnit}; pure, for tests. */
export function systemdUnitStep(args: SystemdUnitArgs): StepSpec {
  const what = [args.state, args.enabled === undefined ? undefined : args.enabled ? 'enabled' : 'disabled'].filter(Boolean).join(', ')
  return {
    name: `systemd unit ${args.name}${what ? ` ${what}` : ''}`,
    notify: args.notify,
    async plan(ctx) {
      checkArgs(args)
      const { name } = args
      const path = posix.join(UNIT_DIR, name)
      const dir = `${path}.d`
      const dropIns = Object.entries(args.dropIns ?? {})
      // Only what the step manages is read, all in one round trip.
      const absent: FileState = { kind: 'absent' }
      const [s, unitFile, dirState, ...dropInStates] = await Promise.all([
        ctx.fact(serviceStatus, name),
        args.content === undefined ? absent : ctx.fact(fileState, path),
        dropIns.length === 0 ? absent : ctx.fact(fileState, dir),
        ...dropIns.map(([f]) => ctx.fact(fileState, `${dir}/${f}`)),
      ])
      if (s.init !== 'systemd') throw new Error(`systemdUnit ${name}: host ${ctx.host.name} does not run systemd (init scripts only); branch on osInfo's initSystem`)
      if (s.enabled === 'masked' && (args.content !== undefined || args.state === 'started' || args.enabled === true)) {
        throw new Error(`systemdUnit ${name} is masked on ${ctx.host.name}; unmask it (systemctl unmask ${name}) first, havn does not unmask implicitly`)
      }
      const content = args.content === undefined ? undefined : textOf(args.content)
      const sensitive = args.sensitive === true || isSecret(args.content) || dropIns.some(([, c]) => c !== null && isSecret(c))
      const wanted = dropIns.filter((d): d is [string, string | Secret] => d[1] !== null).map(([f, c]) => [f, textOf(c)] as const)

      const changes: Change[] = []
      const predictions: Prediction[] = []
      const writes: string[] = []
      const shown: string[] = []
      const staged: Staged[] = []
      const addWrite = (rel: string, text: string, plan: StepPlan): void => {
        staged.push({ rel, text, bytes: Buffer.byteLength(text, 'utf8') })
        changes.push(...plan.changes)
        predictions.push(...(plan.predict ?? []))
        const cmd = plan.commands?.[0]
        if (cmd) {
          writes.push(stagedWrite(cmd, rel))
          shown.push(cmd.display)
        }
      }
      if (content !== undefined) addWrite(name, content, planWrite({ path, state: unitFile, content, mode: 0o644, sensitive }))
      if (wanted.length > 0 && dirState.kind === 'absent') {
        changes.push({ resource: `directory:${dir}`, action: 'create' })
        predictions.push(predict(fileState, [dir], { kind: 'directory', mode: 0o755, owner: 'root', group: 'root' }))
        writes.push(`mkdir -p -m 0755 -- ${shQuote(dir)} || exit 3`)
        shown.push(`mkdir ${dir}`)
      } else if (wanted.length > 0 && dirState.kind !== 'directory') throw new Error(`${dir} exists and is not a directory`)
      dropIns.forEach(([file, c], i) => {
        const at = `${dir}/${file}`
        const state = dropInStates[i]!
        if (c !== null) {
          const text = textOf(c)
          addWrite(`${name}.d/${file}`, text, planWrite({ path: at, state: state.kind === 'absent' ? { ...state, parentIsDirectory: true } : state, content: text, mode: 0o644, sensitive }))
        } else if (state.kind !== 'absent') {
          changes.push({ resource: `file:${at}`, action: 'delete', before: state.kind === 'file' ? `file (${state.size} bytes)` : state.kind })
          predictions.push(predict(fileState, [at], { kind: 'absent', parentIsDirectory: true }))
          writes.push(`rm -f -- ${shQuote(at)} || exit 3`)
          shown.push(`remove ${at}`)
        }
      })
      const filesChanged = writes.length > 0
      const resource = `unit:${name}`
      const reload = filesChanged || s.needsDaemonReload === true
      if (!filesChanged && reload) changes.push({ resource, action: 'update', field: 'loaded', before: 'older than its files', after: 'reloaded' })
      const hasInstall = content !== undefined ? INSTALL_SECTION.test(content) : s.enabled !== 'static'
      let enabled = bootStateAfterWrite(s, hasInstall || wanted.some(([, t]) => INSTALL_SECTION.test(t)))
      // A packaged unit that is not there yet: what its package leaves is unknown, so every wish is a change.
      const absentLabel = content !== undefined ? '(new unit)' : '(not installed)'
      const verbs: string[] = []
      if (args.enabled !== undefined && (!s.exists || (enabled === 'enabled') !== args.enabled)) {
        if (args.enabled && enabled === 'static') throw new Error(`systemdUnit ${name} has no [Install] section, so it cannot be enabled; add one (WantedBy=...) or leave enabled out`)
        if (enabled !== 'static') {
          changes.push({ resource, action: 'update', field: 'enabled', before: s.exists ? String(s.enabled === 'enabled') : absentLabel, after: String(args.enabled) })
          verbs.push(args.enabled ? 'enable' : 'disable')
          enabled = args.enabled ? 'enabled' : 'disabled'
        }
      }
      let running = s.exists && s.running
      const before = !s.exists ? absentLabel : s.running ? 'running' : 'stopped'
      if (args.state === 'started' && !running) {
        changes.push({ resource, action: 'update', field: 'state', before, after: 'running' })
        verbs.push('start')
        running = true
      } else if (args.state === 'stopped' && (running || !s.exists)) {
        if (running || content === undefined) changes.push({ resource, action: 'update', field: 'state', before, after: 'stopped' })
        if (running) verbs.push('stop')
        running = false
      } else if (args.restartOnChange && reload && running && args.state !== 'stopped') {
        changes.push({ resource, action: 'update', field: 'state', before: 'running', after: 'restarted' })
        verbs.push('restart')
      }
      if (changes.length === 0) return { changes: [] }

      const parts: ShellCommand[] = []
      if (filesChanged) parts.push({ script: filesScript(name, staged, writes, content !== undefined), display: `verify and write ${shown.join(', ')}` })
      if (reload) parts.push({ script: 'systemctl daemon-reload || exit 5', display: 'systemctl daemon-reload' })
      for (const v of verbs) parts.push({ script: `systemctl ${v} -- ${shQuote(name)} || exit $?`, display: `systemctl ${v} ${name}` })
      const stdin = filesChanged ? staged.map((f) => f.text).join('') : ''
      // One command, so the files never go live without the reload and the state that go with them.
      const command: PlannedCommand = {
        script: parts.map((c) => c.script).join('\n'),
        display: parts.map((c) => c.display).join('; '),
        ...(stdin !== '' ? { stdin, ...(sensitive ? { sensitiveStdin: true } : {}) } : {}),
      }
      const after: ServiceStatus = { init: 'systemd', exists: true, running, enabled, hasLinks: false }
      predictions.push(predict(serviceStatus, [name], after))
      const missing = !s.exists && content === undefined ? `unit ${name} does not exist; give its content, or install the package that ships it first` : undefined
      return { changes, predict: predictions, ...(missing ? { missing } : {}), commands: [command] }
    },
  }
}

/**
 * Ensures a systemd unit: its file and drop-ins under /etc/systemd/system with exact content
 * (judged by `systemd-analyze verify` together before any goes live, then written atomically),
 * `daemon-reload` only when a file changed or systemd's copy is stale, then the boot and running
 * state. Fails on hosts without systemd; roles pick it from `osInfo`'s `initSystem`.
 */
export function systemdUnit(args: SystemdUnitArgs): Promise<StepResult> {
  return runStep(systemdUnitStep(args), args)
}
