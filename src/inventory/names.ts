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

const RANGE = /\[([0-9a-zA-Z]+):([0-9a-zA-Z]+)(?::([0-9]+))?\]/
const MAX_EXPANSION = 10_000

/**
 * Expands Ansible host ranges such as `web[01:03].example.com` (keeps zero padding), `db-[a:c]` and
 * `n[0:10:5]`, as Ansible's YAML inventory does. A name without a range is returned as is. Throws a
 * message string when the range is malformed.
 */
export function expandHostRange(name: string): string[] {
  const match = RANGE.exec(name)
  if (!match) return [name]
  const [whole, begin = '', end = '', stepText] = match
  const head = name.slice(0, match.index)
  const tail = name.slice(match.index + whole.length)
  const step = stepText === undefined ? 1 : Number(stepText)
  if (step < 1) throw new Error(`host range '${whole}' needs a step of at least 1`)
  const items: string[] = []
  if (/^[0-9]+$/.test(begin) && /^[0-9]+$/.test(end)) {
    const width = begin.length > 1 && begin.startsWith('0') ? begin.length : 0
    const from = Number(begin)
    const to = Number(end)
    if (from > to) throw new Error(`host range '${whole}' runs backwards`)
    if ((to - from) / step >= MAX_EXPANSION) throw new Error(`host range '${whole}' is too large`)
    for (let i = from; i <= to; i += step) items.push(String(i).padStart(width, '0'))
  } else if (/^[a-zA-Z]$/.test(begin) && /^[a-zA-Z]$/.test(end)) {
    const from = begin.charCodeAt(0)
    const to = end.charCodeAt(0)
    if (from > to) throw new Error(`host range '${whole}' runs backwards`)
    for (let c = from; c <= to; c += step) items.push(String.fromCharCode(c))
  } else {
    throw new Error(`host range '${whole}' must be numeric ([01:10]) or single letters ([a:f])`)
  }
  const rest = expandHostRange(tail)
  if (items.length * rest.length > MAX_EXPANSION) throw new Error(`host range in '${name}' is too large`)
  return items.flatMap((item) => rest.map((r) => head + item + r))
}
