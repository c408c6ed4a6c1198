import { shQuote } from '../connection/quote.ts'
import type { Change } from '../engine/events.ts'
import { predict } from '../engine/facts.ts'
import type { Handler } from '../engine/handlers.ts'
import type { RetryKeywords } from '../engine/retry.ts'
import { runStep, type StepPlan, type StepResult, type StepSpec } from '../engine/step.ts'
import { assertGroupName, groupInfo, type GroupInfo } from '../facts/group.ts'

/** Arguments of {@link group}; a gid left out is never changed. */
export interface GroupArgs extends RetryKeywords {
  readonly name: string
  readonly gid?: number
  /** Create a system group (`groupadd -r`); only used when the group is created. */
  readonly system?: boolean
  readonly state?: 'present' | 'absent'
  readonly notify?: readonly Handler[]
}

const ABSENT = '(absent)'

/** The step behind {@link group}: one fact read; one groupadd, groupmod or groupdel when something differs. */
export function groupStep(args: GroupArgs): StepSpec {
  const state = args.state ?? 'present'
  return {
    name: `group ${args.name}${state === 'absent' ? ' absent' : ''}`,
    notify: args.notify,
    async plan(ctx) {
      assertGroupName(args.name)
      if (args.gid !== undefined && (!Number.isInteger(args.gid) || args.gid < 0)) throw new Error(`group ${args.name}: gid must be a non-negative integer, got ${args.gid}`)
      const { name } = args
      const resource = `group:${name}`
      const info = await ctx.fact(groupInfo, name)
      const q = shQuote(name)
      const plan = (changes: Change[], script: string, display: string, after: GroupInfo | undefined): StepPlan => ({
        changes,
        predict: [predict(groupInfo, [name], after)],
        commands: [{ script, display }],
      })
      if (state === 'absent') {
        if (!info) return { changes: [] }
        return plan([{ resource, action: 'delete', field: 'state', before: 'present', after: ABSENT }], `groupdel -- ${q}`, `groupdel ${name}`, undefined)
      }
      if (!info) {
        const flags = [...(args.system ? ['-r'] : []), ...(args.gid !== undefined ? ['-g', String(args.gid)] : [])]
        const changes: Change[] = [{ resource, action: 'create', field: 'state', before: ABSENT, after: 'present' }]
        if (args.gid !== undefined) changes.push({ resource, action: 'create', field: 'gid', before: ABSENT, after: String(args.gid) })
        return plan(changes, `groupadd ${flags.join(' ')} -- ${q}`, `groupadd ${[...flags, name].join(' ')}`, { name, gid: args.gid ?? -1, members: [] })
      }
      if (args.gid === undefined || args.gid === info.gid) return { changes: [] }
      return plan(
        [{ resource, action: 'update', field: 'gid', before: String(info.gid), after: String(args.gid) }],
        `groupmod -g ${args.gid} -- ${q}`,
        `groupmod -g ${args.gid} ${name}`,
        { ...info, gid: args.gid },
      )
    },
  }
}

/** Ensures a local group exists (with a gid, when given), or does not exist (`groupdel`). */
export function group(args: GroupArgs): Promise<StepResult> {
  return runStep(groupStep(args), args)
}
