/**
 * Ansible's INI inventories read every value with Python's `ast.literal_eval`, falling back to the
 * text itself. This is that reader for the literals inventories hold: numbers (with `_`, `0x`,
 * `0o`, `0b`, exponents and a sign), strings in any Python quoting (prefixes `r`, `u`, `b`,
 * triple quotes, adjacent strings joined), `True`/`False`/`None`, lists, tuples (read as lists)
 * and dicts (keys as strings). Anything else (a set, a name, `true`, an expression) is not a
 * literal: the value stays the text, as in Ansible.
 */
export function parsePythonLiteral(text: string): unknown {
  const p = new Reader(text)
  try {
    p.space()
    const value = p.value()
    p.space()
    return p.done() ? value : text
  } catch (err) {
    if (err instanceof NotLiteral) return text
    throw err
  }
}

class NotLiteral extends Error {}

const ESCAPES: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '0': '\0', '\n': '' }

class Reader {
  private i = 0
  private readonly s: string
  constructor(s: string) {
    this.s = s
  }

  done(): boolean {
    return this.i >= this.s.length
  }

  space(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i]!)) this.i++
  }

  value(): unknown {
    const c = this.s[this.i]
    if (c === '[') return this.sequence(']').items
    if (c === '(') {
      // `(x)` is x itself; `(x,)` and `()` are tuples, read as lists.
      const { items, comma } = this.sequence(')')
      return items.length === 1 && !comma ? items[0] : items
    }
    if (c === '{') return this.dict()
    if (c === '-' || c === '+' || (c !== undefined && /[0-9.]/.test(c))) return this.number()
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.i))?.[0]
    if (word !== undefined && /^[rRuUbB]{1,2}$/.test(word) && /['"]/.test(this.s[this.i + word.length] ?? '')) return this.strings()
    if (c === '"' || c === "'") return this.strings()
    if (word === 'True' || word === 'False' || word === 'None') {
      this.i += word.length
      return word === 'True' ? true : word === 'False' ? false : null
    }
    throw new NotLiteral()
  }

  /** The items up to `close`, and whether the last one had a comma after it. */
  private sequence(close: string): { items: unknown[]; comma: boolean } {
    this.i++ // the opening bracket
    const items: unknown[] = []
    let comma = false
    for (;;) {
      this.space()
      if (this.s[this.i] === close) {
        this.i++
        return { items, comma }
      }
      if (items.length > 0 && !comma) throw new NotLiteral()
      items.push(this.value())
      this.space()
      comma = this.s[this.i] === ','
      if (comma) this.i++
    }
  }

  private dict(): Record<string, unknown> {
    this.i++
    const out: Record<string, unknown> = {}
    let first = true
    for (;;) {
      this.space()
      if (this.s[this.i] === '}') {
        this.i++
        return out
      }
      if (!first) {
        if (this.s[this.i] !== ',') throw new NotLiteral()
        this.i++
        this.space()
        if (this.s[this.i] === '}') {
          this.i++
          return out
        }
      }
      const key = this.value()
      this.space()
      // `{a, b}` is a set: not something an inventory value can be.
      if (this.s[this.i] !== ':') throw new NotLiteral()
      this.i++
      this.space()
      out[typeof key === 'string' ? key : JSON.stringify(key)] = this.value()
      first = false
    }
  }

  private number(): number | string {
    const m = /^[+-]?\s*(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:\d[\d_]*)?\.?[\d_]*(?:[eE][+-]?\d[\d_]*)?)/.exec(this.s.slice(this.i))
    const raw = m?.[0] ?? ''
    const body = raw.replace(/^[+-]\s*/, '')
    if (!/\d/.test(body) || /__|_$|^_|_\.|\._|_[eE]|[eE]_/.test(body)) throw new NotLiteral()
    this.i += raw.length
    const sign = raw.startsWith('-') ? -1 : 1
    const digits = body.replace(/_/g, '')
    if (/^0[xXoObB]/.test(digits)) return sign * Number(digits)
    if (/[.eE]/.test(digits)) return sign * Number(digits)
    // Python refuses leading zeros in a decimal integer (`017`), except for zero itself.
    if (/^0\d/.test(digits) && !/^0+$/.test(digits)) throw new NotLiteral()
    const n = sign * Number(digits)
    // Beyond what a number holds exactly, keep the digits: no value is silently changed.
    return Number.isSafeInteger(n) ? n : raw
  }

  private strings(): string {
    let out = ''
    let count = 0
    for (;;) {
      const start = this.i
      const prefix = /^[rRuUbB]{0,2}/.exec(this.s.slice(this.i))?.[0] ?? ''
      const q = this.s[this.i + prefix.length]
      if (q !== '"' && q !== "'") {
        this.i = start
        break
      }
      this.i += prefix.length
      out += this.string(/[rR]/.test(prefix))
      count++
      this.space()
    }
    if (count === 0) throw new NotLiteral()
    return out
  }

  private string(raw: boolean): string {
    const q = this.s[this.i]!
    const triple = this.s.startsWith(q.repeat(3), this.i)
    const end = triple ? q.repeat(3) : q
    this.i += end.length
    let out = ''
    for (;;) {
      if (this.i >= this.s.length) throw new NotLiteral()
      if (this.s.startsWith(end, this.i)) {
        this.i += end.length
        return out
      }
      const c = this.s[this.i]!
      if (c === '\n' && !triple) throw new NotLiteral()
      if (c === '\\') {
        const n = this.s[this.i + 1] ?? ''
        if (raw) {
          out += c + n
          this.i += 2
          continue
        }
        if (n in ESCAPES) {
          out += ESCAPES[n]
          this.i += 2
          continue
        }
        const hex = n === 'x' ? /^[0-9a-fA-F]{2}/ : n === 'u' ? /^[0-9a-fA-F]{4}/ : n === 'U' ? /^[0-9a-fA-F]{8}/ : undefined
        const code = hex?.exec(this.s.slice(this.i + 2))?.[0]
        if (hex && code === undefined) throw new NotLiteral()
        if (code !== undefined) {
          out += String.fromCodePoint(parseInt(code, 16))
          this.i += 2 + code.length
          continue
        }
        // An unknown escape keeps its backslash, as Python does.
        out += c
        this.i++
        continue
      }
      out += c
      this.i++
    }
  }
}
