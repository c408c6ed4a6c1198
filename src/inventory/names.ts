// Characters that would make a name ambiguous in a --limit pattern or unsafe as a group_vars file name.
const FORBIDDEN_IN_ANY = /[\s,!&~@*?[\]/\\'"]/
const FORBIDDEN_IN_GROUP = /[:]/

/** Why `name` cannot be a host name, or undefined when it is fine. */
export function hostNameProblem(name: string): string | undefined {
  if (name === '') return 'a host name must not be empty'
  if (FORBIDDEN_IN_ANY.test(name)) return `host name '${name}' contains whitespace or one of , ! & ~ @ * ? [ ] / \\ ' "`
  return undefined
}

/** Why `name` cannot be a group name, or undefined when it is fine. */
export function groupNameProblem(name: string): string | undefined {
  if (name === '') return 'a group name must not be empty'
  if (FORBIDDEN_IN_ANY.test(name) || FORBIDDEN_IN_GROUP.test(name)) {
    return `group name '${name}' contains whitespace or one of : , ! & ~ @ * ? [ ] / \\ ' "`
  }
  return undefined
}

/** Letters in the order Ansible's ranges count them: `a`..`z`, then `A`..`Z`. */
const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'
const MAX_EXPANSION = 10_000

/**
 * Expands Ansible host ranges as its YAML and INI inventories do: `web[01:03].example.com` (zero
 * padding kept), `db-[a:c]` (letters count a..z then A..Z), `mail[:5]` (from 0), a step
 * `n[0:10:5]`, several ranges in one name. A name without `[` is returned as is. Throws, naming the
 * range, when it is malformed, runs backwards, or expands past 10,000 names.
 */
export function expandHostRange(name: string): string[] {
  const open = name.indexOf('[')
  if (open < 0) return [name]
  const close = name.indexOf(']', open)
  if (close < 0) throw new Error(`host range in '${name}' has no closing ']'`)
  const whole = name.slice(open, close + 1)
  const bounds = whole.slice(1, -1).split(':')
  if (bounds.length !== 2 && bounds.length !== 3) throw new Error(`host range '${whole}' must be [begin:end] or [begin:end:step]`)
  const begin = bounds[0] || '0'
  const end = bounds[1] ?? ''
  if (end === '') throw new Error(`host range '${whole}' must have an end`)
  const step = bounds.length === 3 ? Number(bounds[2]) : 1
  if (!Number.isInteger(step) || step < 1) throw new Error(`host range '${whole}' needs a step of at least 1`)
  const items: string[] = []
  if (/^[0-9]+$/.test(begin) && /^[0-9]+$/.test(end)) {
    const padded = begin.length > 1 && begin.startsWith('0')
    if (padded && begin.length !== end.length) throw new Error(`host range '${whole}' must have a begin and end of the same length when the begin is zero-padded`)
    const from = Number(begin)
    const to = Number(end)
    if (from > to) throw new Error(`host range '${whole}' runs backwards`)
    if ((to - from) / step >= MAX_EXPANSION) throw new Error(`host range '${whole}' is too large`)
    for (let i = from; i <= to; i += step) items.push(padded ? String(i).padStart(begin.length, '0') : String(i))
  } else if (/^[a-zA-Z]$/.test(begin) && /^[a-zA-Z]$/.test(end)) {
    const from = LETTERS.indexOf(begin)
    const to = LETTERS.indexOf(end)
    if (from > to) throw new Error(`host range '${whole}' runs backwards`)
    for (let c = from; c <= to; c += step) items.push(LETTERS[c]!)
  } else {
    throw new Error(`host range '${whole}' must be numeric ([01:10]) or single letters ([a:f])`)
  }
  const head = name.slice(0, open)
  const rest = expandHostRange(name.slice(close + 1))
  if (items.length * rest.length > MAX_EXPANSION) throw new Error(`host range in '${name}' is too large`)
  return items.flatMap((item) => rest.map((r) => head + item + r))
}
