import { shQuote } from '../connection/quote.ts'
import { defineFact } from '../engine/facts.ts'
import { assertUserName } from './user.ts'

/** A user's crontab as `crontab -l` lists it; `missing` when the host has no `crontab` program, `no-user` when there is no such user. */
export type UserCrontab =
  | { readonly kind: 'crontab'; readonly text: string }
  | { readonly kind: 'missing' }
  | { readonly kind: 'no-user' }

/** The crontab of `user` (empty text when the user has none). */
export const userCrontab = defineFact({
  name: 'cron.crontab',
  command: (user: string) => {
    assertUserName(user)
    const u = shQuote(user)
    // "no crontab for USER" is cron's way of saying empty; any other failure is one.
    return `command -v crontab >/dev/null 2>&1 || { echo missing; exit 0; }\nid -u ${u} >/dev/null 2>&1 || { echo no-user; exit 0; }\nout=$(crontab -u ${u} -l 2>&1); rc=$?\nif [ $rc -eq 0 ]; then echo crontab; printf '%s\\n' "$out"; elif printf '%s' "$out" | grep -q '^no crontab for'; then echo crontab; else printf '%s\\n' "$out" >&2; exit $rc; fi`
  },
  parse: (res, user: string): UserCrontab => parseUserCrontab(res, user),
})

/** Parses {@link userCrontab}'s output; throws with crontab's message when it could not list. */
export function parseUserCrontab(res: { readonly code: number; readonly stdout: string; readonly stderr: string }, user: string): UserCrontab {
  if (res.code !== 0) throw new Error(`cannot list the crontab of ${user} (exit ${res.code}): ${res.stderr.trim()}`)
  if (res.stdout.startsWith('missing\n')) return { kind: 'missing' }
  if (res.stdout.startsWith('no-user\n')) return { kind: 'no-user' }
  const body = res.stdout.slice('crontab\n'.length)
  // $(...) dropped the listing's final newlines and printf put one back; an empty crontab is empty.
  return { kind: 'crontab', text: body === '\n' ? '' : body }
}
