import { shQuote } from '../connection/quote.ts'
import type { Change } from '../engine/events.ts'
import { predict, type Prediction } from '../engine/facts.ts'
import type { Handler } from '../engine/handlers.ts'
import { runStep, type PlannedCommand, type StepResult, type StepSpec } from '../engine/step.ts'
import { checkSysctlKey, normalizeSysctlValue, sysctlLive, sysctlPath } from '../facts/sysctl.ts'
import { checkPath, readFileState } from './file.ts'
import { editIni, planEdit } from './line.ts'
import type { RetryKeywords } from '../engine/retry.ts'

/** Where {@link sysctl} persists settings unless told otherwise. */
export const DEFAULT_SYSCTL_FILE = '/etc/sysctl.d/99-havn.conf'

/** Arguments of {@link sysctl}. */
export interface SysctlArgs extends RetryKeywords {
  /** e.g. `net.ipv4.ip_forward`; use the `/` form for names that hold dots (`net/ipv4/conf/eth0.10/rp_filter`). */
  readonly key: string
  readonly value: string | number
  /** File that persists the setting as a `key = value` line; default {@link DEFAULT_SYSCTL_FILE}. */
  readonly file?: string
  /** Also set the running kernel's value (default true). */
  readonly live?: boolean
  readonly notify?: readonly Handler[]
}

/** Marks a live change this host does not allow (read-only /proc/sys in a container or namespace). */
export const NOT_WRITABLE = '(live value not writable here)'

/**
 * Shell that writes a live value; a refusal by the host (EACCES, EPERM, EROFS) is reported on
 * stdout, not failed, because the persisted setting still applies at the next boot.
 */
function liveWriteScript(key: string, value: string): string {
  return [
    `f=${shQuote(sysctlPath(key))}`,
    // The message text tells the errno apart; force untranslated messages.
    `if ! err=$( (LC_ALL=C; export LC_ALL; printf '%s\\n' ${shQuote(value)} > "$f") 2>&1 ); then`,
    `  case "$err" in`,
    `    *'Permission denied'*|*'Operation not permitted'*|*'Read-only file system'*) echo "havn: live value of ${key} not set: $err" ;;`,
    `    *) printf '%s\\n' "$err" >&2; exit 4 ;;`,
    `  esac`,
    `fi`,
  ].join('\n')
}

/** The step behind {@link sysctl}; pure, for tests. */
export function sysctlStep(args: SysctlArgs): StepSpec {
  const file = args.file ?? DEFAULT_SYSCTL_FILE
  const live = args.live ?? true
  return {
    name: `sysctl ${args.key}`,
    notify: args.notify,
    async plan(ctx) {
      checkSysctlKey(args.key)
      checkPath(file)
      const want = normalizeSysctlValue(String(args.value))
      if (want === '') throw new Error(`sysctl ${args.key}: the value is empty`)
      // Two independent reads issued together: one round trip, and each fact stays shared and predictable.
      const [state, current] = await Promise.all([readFileState(ctx, file), live ? ctx.fact(sysctlLive, args.key) : Promise.resolve(undefined)])
      const write = planEdit(state, {
        path: file,
        create: true,
        absentIsFine: false,
        edit: (t) => editIni(t, { key: args.key, value: want, keyForm: (k) => k.replaceAll('/', '.'), valueForm: normalizeSysctlValue }),
      })
      const changes: Change[] = [...write.changes]
      const predictions: Prediction[] = [...(write.predict ?? [])]
      let setLive = false
      let missing: string | undefined
      if (live) {
        const resource = `sysctl:${args.key}`
        if (current === undefined) {
          changes.push({ resource, action: 'update', field: 'value', after: want })
          missing = `sysctl key ${args.key} does not exist on this host (${sysctlPath(args.key)}); is its kernel module loaded?`
        } else if (current.value !== want) {
          changes.push({ resource, action: 'update', field: 'value', before: current.value, after: current.writable ? want : `${want} ${NOT_WRITABLE}` })
          if (current.writable) {
            setLive = true
            predictions.push(predict(sysctlLive, [args.key], { value: want, writable: true }))
          }
        }
      }
      if (changes.length === 0) return { changes: [] }
      const write1 = write.changes.length > 0 ? write.commands?.[0] : undefined
      const parts = [write1, setLive ? { script: liveWriteScript(args.key, want), display: `set ${args.key} = ${want}` } : undefined].filter((c) => c !== undefined)
      const command: PlannedCommand = {
        script: parts.map((c) => c.script).join('\n'),
        display: parts.map((c) => c.display).join('; '),
        ...(write1?.stdin !== undefined ? { stdin: write1.stdin } : {}),
        // A live value the host refuses is said on stdout, for the report.
        reportOutput: true,
      }
      return {
        changes,
        predict: predictions,
        ...(missing ? { missing } : {}),
        ...(parts.length > 0 ? { commands: [command] } : {}),
      }
    },
  }
}

/**
 * Ensures a kernel parameter: persisted as `key = value` in a sysctl.d file and set live through
 * /proc/sys. Where the host does not allow the live write (namespaces, containers) the persisted
 * part is still made and the change says `(live value not writable here)`; it never fails for that.
 */
export function sysctl(args: SysctlArgs): Promise<StepResult> {
  return runStep(sysctlStep(args), args)
}
