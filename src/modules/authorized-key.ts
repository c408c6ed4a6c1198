import type { Handler } from '../engine/handlers.ts'
import type { RetryKeywords } from '../engine/retry.ts'
import { runStep, type StepPlan, type StepResult, type StepSpec } from '../engine/step.ts'
import { assertUserName, userInfo } from '../facts/user.ts'
import { directoryStep, planWrite, readFileState } from './file.ts'

/** Arguments of {@link authorizedKey}. */
export interface AuthorizedKeyArgs extends RetryKeywords {
  /** The account whose `~/.ssh/authorized_keys` is managed; it must exist (or be created by an earlier step). */
  readonly user: string
  /** One public key line or several (`ssh-ed25519 AAAA… comment`), as `ssh-keygen` writes them. */
  readonly key: string | readonly string[]
  /** `present` (default) adds missing keys; `absent` removes them. */
  readonly state?: 'present' | 'absent'
  /** With `present`: the file holds exactly these keys, every other one is removed. */
  readonly exclusive?: boolean
  /** Options put before each given key (`from="10.10.0.0/24",no-port-forwarding`); a key with other options is rewritten. */
  readonly options?: string
  readonly notify?: readonly Handler[]
}

const KEY = /(?:^|\s)((?:ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp(?:256|384|521)|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)\s+[A-Za-z0-9+/]+={0,3})(?:\s|$)/

/** The identity of a key line (type and base64 blob), whatever its options and comment; undefined for a line with no key. */
export function keyIdentity(line: string): string | undefined {
  const found = KEY.exec(line.trim())?.[1]
  return found?.split(/\s+/).join(' ')
}

/**
 * The new authorized_keys text: `wanted` key lines added (after `options` when given), kept, or
 * removed as `state` and `exclusive` say. Lines that are not keys (comments, blanks) stay unless
 * the file is exclusive; every key's existing line is kept as it is unless `options` differ.
 */
export function editAuthorizedKeys(text: string, wanted: readonly string[], o: { state: 'present' | 'absent'; exclusive: boolean; options?: string }): string {
  const want = wanted.map((k) => {
    const id = keyIdentity(k)
    if (id === undefined) throw new Error(`not a public key line: ${JSON.stringify(k.slice(0, 60))}`)
    return { id, line: o.options ? `${o.options} ${k.trim()}` : k.trim() }
  })
  const byId = new Map(want.map((w) => [w.id, w.line]))
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n')
  const out: string[] = []
  const placed = new Set<string>()
  for (const l of lines) {
    const id = keyIdentity(l)
    const line = id === undefined ? undefined : byId.get(id)
    if (line === undefined || id === undefined) {
      // Not one of the given keys: a comment, a blank line or another key; only an exclusive file drops it.
      if (!o.exclusive || o.state === 'absent') out.push(l)
      continue
    }
    if (o.state === 'absent' || placed.has(id)) continue
    placed.add(id)
    out.push(o.options === undefined || l.trim().startsWith(`${o.options} `) ? l : line)
  }
  if (o.state === 'present') for (const [id, line] of byId) if (!placed.has(id)) out.push(line)
  return out.length === 0 ? '' : `${out.join('\n')}\n`
}

/** The step behind {@link authorizedKey}; pure, for tests. */
export function authorizedKeyStep(args: AuthorizedKeyArgs): StepSpec {
  const keys = typeof args.key === 'string' ? [args.key] : [...args.key]
  const state = args.state ?? 'present'
  return {
    name: `authorized key${keys.length > 1 ? 's' : ''} of ${args.user}${state === 'absent' ? ' absent' : ''}`,
    notify: args.notify,
    async plan(ctx) {
      assertUserName(args.user)
      if (keys.length === 0) throw new Error(`authorizedKey ${args.user}: no key given`)
      if (args.options !== undefined && /[\n\r]/.test(args.options)) throw new Error(`authorizedKey ${args.user}: options must be one line`)
      const account = await ctx.fact(userInfo, args.user)
      if (!account) throw new Error(`authorizedKey: user ${args.user} does not exist on ${ctx.host.name}`)
      const dir = `${account.home}/.ssh`
      const path = `${dir}/authorized_keys`
      const current = await readFileState(ctx, path)
      if (current.kind === 'file' && current.content === undefined) throw new Error(`${path} is too large or not text; havn edits authorized_keys files up to 256 KiB`)
      const text = current.kind === 'file' ? (current.content ?? '') : ''
      const next = editAuthorizedKeys(text, keys, { state, exclusive: args.exclusive === true, ...(args.options !== undefined ? { options: args.options } : {}) })
      if (current.kind !== 'file' && next === '') return { changes: [] }
      const owner = { owner: args.user, group: account.group }
      // sshd's StrictModes refuses keys in a directory others can write, so .ssh is made private.
      const folder = current.kind === 'absent' && current.parentIsDirectory !== true ? await directoryStep({ path: dir, mode: 0o700, ...owner }).plan(ctx) : { changes: [] }
      const written = planWrite({ path, state: current.kind === 'absent' ? { ...current, parentIsDirectory: true } : current, content: next, mode: 0o600, ...owner })
      return merge(folder, written)
    },
  }
}

/** One plan doing `first`, then `then`. */
function merge(first: StepPlan, then: StepPlan): StepPlan {
  return {
    changes: [...first.changes, ...then.changes],
    predict: [...(first.predict ?? []), ...(then.predict ?? [])],
    commands: [...(first.commands ?? []), ...(then.commands ?? [])],
    detachable: true,
  }
}

/**
 * Ensures public keys are (or are not) in a user's `~/.ssh/authorized_keys`, creating `~/.ssh`
 * (0700) and the file (0600), owned by the user, when needed; with `exclusive`, only these keys.
 */
export function authorizedKey(args: AuthorizedKeyArgs): Promise<StepResult> {
  return runStep(authorizedKeyStep(args), args)
}
