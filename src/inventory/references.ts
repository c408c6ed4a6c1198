/** A value that is only a reference to another var: `{{ name }}`. */
const REFERENCE = /^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$/

/** The var a plain `{{ name }}` reference names, or undefined for anything else. */
export function referenceOf(value: unknown): string | undefined {
  return typeof value === 'string' ? REFERENCE.exec(value)?.[1] : undefined
}

/** Whether a value holds Ansible template syntax anywhere (a string with `{{` or `{%`). */
export function holdsTemplate(value: unknown): string | undefined {
  if (typeof value === 'string') return /\{\{|\{%/.test(value) ? value : undefined
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = holdsTemplate(item)
      if (found !== undefined) return found
    }
    return undefined
  }
  if (typeof value === 'object' && value !== null) return holdsTemplate(Object.values(value))
  return undefined
}

/**
 * Resolves plain references the way Ansible would when the var is used: `{{ name }}` becomes the
 * value of `name` for the same host (which may itself be a reference), anywhere in a value. `lookup`
 * gives a host's var (connection keys and `inventory_hostname` included). A reference to an undefined
 * var, or any other template (filters, lookups, text around it), stays as written; a chain that
 * comes back to itself is reported through `cycle` with the names in order and left as written.
 */
export function resolveReferences(value: unknown, lookup: (name: string) => unknown, cycle: (names: readonly string[]) => void, path: readonly string[] = []): unknown {
  const name = referenceOf(value)
  if (name !== undefined) {
    if (path.includes(name)) {
      cycle([...path.slice(path.indexOf(name)), name])
      return value
    }
    const target = lookup(name)
    return target === undefined ? value : resolveReferences(target, lookup, cycle, [...path, name])
  }
  if (Array.isArray(value)) {
    const out = value.map((item) => resolveReferences(item, lookup, cycle, path))
    return out.some((v, i) => v !== value[i]) ? out : value
  }
  if (typeof value === 'object' && value !== null) {
    let out: Record<string, unknown> | undefined
    for (const [k, v] of Object.entries(value)) {
      const r = resolveReferences(v, lookup, cycle, path)
      if (r !== v) (out ??= { ...value })[k] = r
    }
    return out ?? value
  }
  return value
}
