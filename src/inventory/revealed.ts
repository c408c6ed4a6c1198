/**
 * The value with every string that a vault revealed replaced by `***`, however deep; the value
 * itself (the same reference) when it holds none, so callers can tell whether anything was hidden.
 */
export function maskRevealed(value: unknown, secrets: ReadonlySet<string>): unknown {
  if (typeof value === 'string') return secrets.has(value) ? '***' : value
  if (Array.isArray(value)) {
    const out = value.map((v) => maskRevealed(v, secrets))
    return out.some((v, i) => v !== value[i]) ? out : value
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
    const out = entries.map(([k, v]) => [k, maskRevealed(v, secrets)] as const)
    return out.some(([, v], i) => v !== entries[i]?.[1]) ? Object.fromEntries(out) : value
  }
  return value
}
