import { shQuote } from '../connection/quote.ts'
import type { Change } from '../engine/events.ts'
import { predict } from '../engine/facts.ts'
import type { Handler } from '../engine/handlers.ts'
import { runStep, type StepPlan, type StepResult, type StepSpec } from '../engine/step.ts'
import { assertUserName, userInfo, type UserInfo } from '../facts/user.ts'
import type { RetryKeywords } from '../engine/retry.ts'

/** Arguments of {@link user}; fields left out are never changed. */
export interface UserArgs extends RetryKeywords {
  readonly name: string
  readonly uid?: number
  /** Primary group, by name (or gid as digits); it must exist. */
  readonly group?: string
  /** Supplementary groups; they must exist. Exactly these, unless `append`. */
  readonly groups?: readonly string[]
  /** Only add `groups`, never remove other memberships. */
  readonly append?: boolean
  /** Home directory; for an existing account it is changed but its content is not moved. */
  readonly home?: string
  readonly shell?: string
  /** Create a system account (`useradd -r`); only used when the account is created. */
  readonly system?: boolean
  /** Create the home directory when the account is created; default true, false for system accounts. */
  readonly createHome?: boolean
  readonly state?: 'present' | 'absent'
  readonly notify?: readonly Handler[]
}

const ABSENT = '(absent)'

function checkArgs(a: UserArgs): void {
  assertUserName(a.name)
  if (a.uid !== undefined && (!Number.isInteger(a.uid) || a.uid < 0)) throw new Error(`user ${a.name}: uid must be a non-negative integer, got ${a.uid}`)
  for (const g of [...(a.group === undefined ? [] : [a.group]), ...(a.groups ?? [])]) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/.test(g)) throw new Error(`user ${a.name}: invalid group name ${JSON.stringify(g)}`)
  }
  for (const [k, v] of [['home', a.home], ['shell', a.shell]] as const) {
    if (v !== undefined && (!v.startsWith('/') || /[:\n]/.test(v))) throw new Error(`user ${a.name}: ${k} must be an absolute path without ':' or newlines, got ${JSON.stringify(v)}`)
  }
}

function sameGroup(info: UserInfo, group: string): boolean {
  return /^\d+$/.test(group) ? Number(group) === info.gid : group === info.group
}

/** Plans `user(args)`: one fact read; one useradd, usermod or userdel when something differs. */
export function userStep(args: UserArgs): StepSpec {
  const state = args.state ?? 'present'
  return {
    name: `user ${args.name}${state === 'absent' ? ' absent' : ''}`,
    notify: args.notify,
    async plan(ctx) {
      checkArgs(args)
      const { name } = args
      const resource = `user:${name}`
      const info = await ctx.fact(userInfo, name)
      const q = shQuote(name)

      if (state === 'absent') {
        if (!info) return { changes: [] }
        return plan([{ resource, action: 'delete', field: 'state', before: 'present', after: ABSENT }], `userdel -- ${q}`, `userdel ${name}`, undefined)
      }

      const opts: string[] = []
      const shown: string[] = []
      const flag = (f: string, v: string) => {
        opts.push(f, shQuote(v))
        shown.push(f, v)
      }

      if (!info) {
        const system = args.system ?? false
        const changes: Change[] = [{ resource, action: 'create', field: 'state', before: ABSENT, after: 'present' }]
        const created = (field: string, after: string) => changes.push({ resource, action: 'create', field, before: ABSENT, after })
        if (system) {
          opts.push('-r')
          shown.push('-r')
        }
        if (args.uid !== undefined) {
          flag('-u', String(args.uid))
          created('uid', String(args.uid))
        }
        if (args.group !== undefined) {
          flag('-g', args.group)
          created('group', args.group)
        }
        if (args.groups?.length) {
          flag('-G', args.groups.join(','))
          created('groups', args.groups.join(','))
        }
        if (args.home !== undefined) {
          flag('-d', args.home)
          created('home', args.home)
        }
        if (args.shell !== undefined) {
          flag('-s', args.shell)
          created('shell', args.shell)
        }
        const m = (args.createHome ?? !system) ? '-m' : '-M'
        opts.push(m)
        shown.push(m)
        // Unknown values follow useradd's Debian defaults; a later step comparing them sees a difference, as it would for real.
        const after: UserInfo = {
          name,
          uid: args.uid ?? -1,
          gid: -1,
          group: args.group ?? name,
          groups: args.groups ?? [],
          home: args.home ?? `/home/${name}`,
          shell: args.shell ?? '/bin/sh',
        }
        return plan(changes, `useradd ${opts.join(' ')} -- ${q}`, `useradd ${[...shown, name].join(' ')}`, after)
      }

      const changes: Change[] = []
      const updated = (field: string, before: string, after: string) => changes.push({ resource, action: 'update', field, before, after })
      let after: UserInfo = info
      if (args.uid !== undefined && args.uid !== info.uid) {
        updated('uid', String(info.uid), String(args.uid))
        flag('-u', String(args.uid))
        after = { ...after, uid: args.uid }
      }
      if (args.group !== undefined && !sameGroup(info, args.group)) {
        updated('group', info.group, args.group)
        flag('-g', args.group)
        after = { ...after, group: args.group }
      }
      if (args.groups !== undefined) {
        const want = [...new Set(args.groups)].filter((g) => g !== after.group)
        if (args.append) {
          const add = want.filter((g) => !info.groups.includes(g))
          if (add.length) {
            const all = [...info.groups, ...add]
            updated('groups', info.groups.join(','), all.join(','))
            opts.push('-a')
            shown.push('-a')
            flag('-G', add.join(','))
            after = { ...after, groups: all }
          }
        } else if (want.length !== info.groups.length || want.some((g) => !info.groups.includes(g))) {
          updated('groups', info.groups.join(','), want.join(','))
          flag('-G', want.join(','))
          after = { ...after, groups: want }
        }
      }
      if (args.home !== undefined && args.home !== info.home) {
        updated('home', info.home, args.home)
        flag('-d', args.home)
        after = { ...after, home: args.home }
      }
      if (args.shell !== undefined && args.shell !== info.shell) {
        updated('shell', info.shell, args.shell)
        flag('-s', args.shell)
        after = { ...after, shell: args.shell }
      }
      if (changes.length === 0) return { changes }
      return plan(changes, `usermod ${opts.join(' ')} -- ${q}`, `usermod ${[...shown, name].join(' ')}`, after)

      function plan(changes: Change[], script: string, display: string, value: UserInfo | undefined): StepPlan {
        return {
          changes,
          predict: [predict(userInfo, [name], value)],
          commands: [{ script, display }],
        }
      }
    },
  }
}

/** Ensures a local account exists with the given attributes, or does not exist (`userdel`, home kept). */
export function user(args: UserArgs): Promise<StepResult> {
  return runStep(userStep(args), args)
}
