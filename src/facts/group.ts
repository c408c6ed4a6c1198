import { shQuote } from '../connection/quote.ts'
import { defineFact } from '../engine/facts.ts'

/** A local group as `getent group` reports it. */
export interface GroupInfo {
  readonly name: string
  /** -1 only in a check run's prediction for a group not created yet without a fixed gid. */
  readonly gid: number
  /** Users listed as members (not those whose primary group it is). */
  readonly members: readonly string[]
}

/** Group names groupadd accepts on Debian and RHEL (the same rule as login names). */
export const GROUP_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/

/** Throws unless `name` is a valid group name; names are spliced into commands. */
export function assertGroupName(name: string): void {
  if (!GROUP_NAME.test(name)) throw new Error(`invalid group name ${JSON.stringify(name)}`)
}

/** The group `name`, or undefined when it does not exist. */
export const groupInfo = defineFact({
  name: 'group.info',
  command: (name: string) => {
    assertGroupName(name)
    return `getent group ${shQuote(name)} || echo absent`
  },
  parse: (res): GroupInfo | undefined => parseGroupInfo(res.stdout),
})

/** Parses a `getent group` line (`name:x:gid:a,b`); undefined for `absent`. */
export function parseGroupInfo(stdout: string): GroupInfo | undefined {
  const line = stdout.split('\n').find((l) => l.includes(':'))
  if (line === undefined) return undefined
  const [name = '', , gid = '', members = ''] = line.split(':')
  return { name, gid: Number(gid), members: members.split(',').map((m) => m.trim()).filter(Boolean) }
}
