/** Letters in the order Ansible's ranges count them: `a`..`z`, then `A`..`Z`. */
const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'

/**
 * Expands an Ansible host range the way its inventory plugins do: `web[01:10]` (zero-padded when
 * the start is), `db-[a:f]`, `mail[:5]` (from 0), a step `[1:10:2]`, and several ranges in one
 * name, left to right. A name without `[` is returned as it is. Throws, naming the pattern, on a
 * range Ansible refuses (no end, unequal padding, begin after end, a step of 0, not a number).
 */
export function expandHostRange(pattern: string): string[] {
  const open = pattern.indexOf('[')
  if (open < 0) return [pattern]
  const close = pattern.indexOf(']', open)
  if (close < 0) throw new Error(`host range '${pattern}' has no closing ']'`)
  const head = pattern.slice(0, open)
  const tail = pattern.slice(close + 1)
  const bounds = pattern.slice(open + 1, close).split(':')
  if (bounds.length !== 2 && bounds.length !== 3) throw new Error(`host range '${pattern}' must be [begin:end] or [begin:end:step]`)
  const begin = bounds[0] || '0'
  const end = bounds[1] ?? ''
  if (end === '') throw new Error(`host range '${pattern}' must have an end`)
  const step = bounds.length === 3 ? integer(bounds[2] ?? '', pattern) : 1
  if (step <= 0) throw new Error(`host range '${pattern}' must have a step of 1 or more`)
  const padded = begin.startsWith('0') && begin.length > 1
  if (padded && begin.length !== end.length) throw new Error(`host range '${pattern}' must have a begin and end of the same length when the begin is zero-padded`)
  const fill = (v: string) => (padded ? v.padStart(begin.length, '0') : v)

  const items: string[] = []
  const a = LETTERS.indexOf(begin)
  const b = LETTERS.indexOf(end)
  if (a >= 0 && b >= 0) {
    if (a > b) throw new Error(`host range '${pattern}' must have begin <= end`)
    for (let i = a; i <= b; i += step) items.push(LETTERS[i]!)
  } else {
    const from = integer(begin, pattern)
    const to = integer(end, pattern)
    for (let i = from; i <= to; i += step) items.push(String(i))
  }
  return items.flatMap((item) => expandHostRange(`${head}${fill(item)}${tail}`))
}

function integer(text: string, pattern: string): number {
  if (!/^\s*[+-]?\d+\s*$/.test(text)) throw new Error(`host range '${pattern}': '${text}' is not a number or a letter`)
  return Number.parseInt(text, 10)
}
