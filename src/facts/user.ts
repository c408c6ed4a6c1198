import { shQuote } from '../connection/quote.ts'
import { defineFact } from '../engine/facts.ts'

/** A local account as `getent passwd` and `id` report it. */
export interface UserInfo {
  readonly name: string
  /** -1 only in a check run's prediction for an account not created yet without a fixed uid. */
  readonly uid: number
  readonly gid: number
  /** Primary group name. */
  readonly group: string
  /** Supplementary groups, without the primary group, in the order `id -Gn` prints them. */
  readonly groups: readonly string[]
  readonly home: string
  readonly shell: string
}

/** Login names useradd accepts on Debian and RHEL; never all digits, so getent cannot read it as a uid. */
export const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/

/** Throws unless `name` is a valid login name; names are spliced into commands. */
export function assertUserName(name: string): void {
  if (!USER_NAME.test(name)) throw new Error(`invalid user name ${JSON.stringify(name)}`)
}

/** The shell that reads an account: its passwd entry, primary group and all groups, or `absent`. */
export function userCommand(name: string): string {
  assertUserName(name)
  const q = shQuote(name)
  return `if e=$(getent passwd ${q}); then printf 'passwd=%s\\n' "$e"; printf 'group=%s\\n' "$(id -gn ${q})"; printf 'groups=%s\\n' "$(id -Gn ${q})"; else echo absent; fi`
}

/** The account `name`, or undefined when it does not exist. */
export const userInfo = defineFact({
  name: 'user.info',
  command: (name: string) => userCommand(name),
  parse: (res): UserInfo | undefined => parseUserInfo(res.stdout),
})

/** Parses the output of {@link userCommand}. */
export function parseUserInfo(stdout: string): UserInfo | undefined {
  const passwd = /^passwd=(.*)$/m.exec(stdout)?.[1]
  if (passwd === undefined) return undefined
  const [name = '', , uid = '', gid = '', , home = '', shell = ''] = passwd.split(':')
  const group = /^group=(.*)$/m.exec(stdout)?.[1]?.trim() ?? ''
  const all = (/^groups=(.*)$/m.exec(stdout)?.[1] ?? '').split(/\s+/).filter(Boolean)
  return { name, uid: Number(uid), gid: Number(gid), group, groups: all.filter((g) => g !== group), home, shell }
}
