import { shQuote } from '../connection/quote.ts'
import { predict } from '../engine/facts.ts'
import type { Handler } from '../engine/handlers.ts'
import type { RetryKeywords } from '../engine/retry.ts'
import { runStep, type StepPlan, type StepResult, type StepSpec } from '../engine/step.ts'
import { userCrontab } from '../facts/cron.ts'
import { USER_NAME, userInfo } from '../facts/user.ts'
import { absentStep, planWrite, readFileState } from './file.ts'
import { joinLines, splitLines } from './line.ts'

/** Arguments of {@link cron}. */
export interface CronArgs extends RetryKeywords {
  /** The entry's name, and its file's in /etc/cron.d: letters, digits, `_` and `-` (cron skips names with dots). */
  readonly name: string
  /** Five cron fields (`*\/15 2 * * 1-5`) or a nickname (`@daily`, `@reboot`, …). */
  readonly schedule?: string
  /** The command line cron hands to /bin/sh; one line. */
  readonly command?: string
  /** Runs as this user; default root. */
  readonly user?: string
  /**
   * Keep the entry in `user`'s own crontab (as `crontab -e` does, under a `# havn: NAME` line)
   * instead of its own file in /etc/cron.d. Default false.
   */
  readonly crontab?: boolean
  /** Variables cron sets for the command (`MAILTO`, `PATH`, …), written above the entry; /etc/cron.d only. */
  readonly env?: Readonly<Record<string, string>>
  /** `present` (default) or `absent`, which removes the file. */
  readonly state?: 'present' | 'absent'
  readonly notify?: readonly Handler[]
}

/** Where an entry lives: one file per entry, so entries never step on each other or on packages' files. */
export const CRON_DIR = '/etc/cron.d'

const NICKNAMES = new Set(['@reboot', '@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'])
const FIELD = /^[0-9A-Za-z*,/-]+$/

/** Throws unless `schedule` is five cron fields or one of cron's nicknames. */
export function checkSchedule(name: string, schedule: string): void {
  const fields = schedule.trim().split(/\s+/)
  const ok = fields.length === 1 ? NICKNAMES.has(fields[0] ?? '') : fields.length === 5 && fields.every((f) => FIELD.test(f))
  if (!ok) throw new Error(`cron ${name}: schedule must be five cron fields or one of ${[...NICKNAMES].join(', ')}, got ${JSON.stringify(schedule)}`)
}

/** The file of one entry, as cron reads files in /etc/cron.d (a user field, a final newline). */
export function renderCronFile(a: CronArgs & { readonly schedule: string; readonly command: string }): string {
  const env = Object.entries(a.env ?? {}).map(([k, v]) => `${k}=${v}\n`).join('')
  return `# Managed by havn: cron entry ${a.name}\n${env}${a.schedule.trim().split(/\s+/).join(' ')} ${a.user ?? 'root'} ${a.command}\n`
}

function checkArgs(a: CronArgs): void {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(a.name)) throw new Error(`cron entry name must be letters, digits, '_' or '-' (cron ignores files in ${CRON_DIR} with other characters), got ${JSON.stringify(a.name)}`)
  if ((a.state ?? 'present') === 'absent') return
  if (a.schedule === undefined || a.command === undefined) throw new Error(`cron ${a.name}: schedule and command are required unless state is 'absent'`)
  checkSchedule(a.name, a.schedule)
  if (a.command.trim() === '' || /[\n\r]/.test(a.command)) throw new Error(`cron ${a.name}: command must be one non-empty line`)
  if (a.user !== undefined && !USER_NAME.test(a.user)) throw new Error(`cron ${a.name}: invalid user name ${JSON.stringify(a.user)}`)
  if (a.crontab && Object.keys(a.env ?? {}).length > 0) throw new Error(`cron ${a.name}: env applies to /etc/cron.d entries only; in a user's crontab a variable would apply to every entry below it`)
  for (const [k, v] of Object.entries(a.env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || /[\n\r]/.test(v)) throw new Error(`cron ${a.name}: env ${JSON.stringify(k)} must be a variable name with a one-line value`)
  }
}

/**
 * `text` (a crontab) with the entry `name` set to `entry`, or removed when `entry` is undefined:
 * the line after `# havn: NAME` is the entry, a new one goes at the end, every other line stays.
 * Also returns the entry it replaced.
 */
export function editCrontab(text: string, name: string, entry: string | undefined): { text: string; before?: string } {
  const { lines } = splitLines(text)
  const marker = `# havn: ${name}`
  const at = lines.indexOf(marker)
  const before = at >= 0 ? lines[at + 1] : undefined
  if (at >= 0) lines.splice(at, before !== undefined ? 2 : 1)
  if (entry !== undefined) lines.splice(at >= 0 ? at : lines.length, 0, marker, entry)
  // crontab refuses a last line without its newline.
  return { text: joinLines(lines, true), ...(before !== undefined ? { before } : {}) }
}

/** The entry in `user`'s own crontab, installed whole with `crontab -u USER -` when it differs. */
function crontabStep(args: CronArgs): StepSpec {
  const user = args.user ?? 'root'
  const absent = (args.state ?? 'present') === 'absent'
  return {
    name: `cron ${args.name} in the crontab of ${user}${absent ? ' absent' : ''}`,
    notify: args.notify,
    async plan(ctx): Promise<StepPlan> {
      checkArgs(args)
      const entry = absent ? undefined : `${(args.schedule ?? '').trim().split(/\s+/).join(' ')} ${args.command ?? ''}`
      const resource = `crontab:${user}`
      const now = await ctx.fact(userCrontab, user)
      if (now.kind === 'missing') {
        const missing = `crontab is not installed on host ${ctx.host.name}; install cron first (packages({ names: ['cron'] }))`
        return absent ? { changes: [] } : { changes: [{ resource, action: 'create', field: `entry ${args.name}`, after: entry }], missing }
      }
      // A user created earlier in this check run has no crontab yet.
      if (now.kind === 'no-user' && (await ctx.fact(userInfo, user)) === undefined) throw new Error(`cron ${args.name}: user ${user} does not exist`)
      const text = now.kind === 'crontab' ? now.text : ''
      const next = editCrontab(text, args.name, entry)
      if (next.text === text) return { changes: [] }
      return {
        changes: [{ resource, action: entry === undefined ? 'delete' : next.before === undefined ? 'create' : 'update', field: `entry ${args.name}`, ...(next.before !== undefined ? { before: next.before } : {}), ...(entry !== undefined ? { after: entry } : {}) }],
        commands: [{ script: `crontab -u ${shQuote(user)} -`, display: `crontab -u ${user} - (entry ${args.name})`, stdin: next.text }],
        predict: [predict(userCrontab, [user], { kind: 'crontab', text: next.text })],
      }
    },
  }
}

/** The step behind {@link cron}; pure, for tests. */
export function cronStep(args: CronArgs): StepSpec {
  if (args.crontab) return crontabStep(args)
  const path = `${CRON_DIR}/${args.name}`
  if ((args.state ?? 'present') === 'absent') {
    const remove = absentStep({ path, notify: args.notify })
    return {
      ...remove,
      name: `cron ${args.name} absent`,
      async plan(ctx) {
        checkArgs(args)
        return remove.plan(ctx)
      },
    }
  }
  return {
    name: `cron ${args.name}`,
    notify: args.notify,
    async plan(ctx) {
      checkArgs(args)
      const content = renderCronFile(args as CronArgs & { schedule: string; command: string })
      return planWrite({ path, state: await readFileState(ctx, path), content, mode: 0o644, owner: 'root', group: 'root' })
    },
  }
}

/**
 * Ensures a cron entry by name: the file /etc/cron.d/NAME holding exactly this schedule, user and
 * command (cron rereads the directory by itself), or no such file; with `crontab`, the entry under
 * `# havn: NAME` in the user's own crontab, or no such entry.
 */
export function cron(args: CronArgs): Promise<StepResult> {
  return runStep(cronStep(args), args)
}
