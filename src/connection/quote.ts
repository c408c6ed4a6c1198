import { inspect } from 'node:util'

/** A command for a remote POSIX `sh`: `script` is what runs, `display` is safe to print (secrets masked). */
export interface ShellCommand {
  readonly script: string
  readonly display: string
}

const SECRET = Symbol.for('havn.secret')

/** Every secret value created in this process, so output can be scrubbed of them as a last resort. */
const created = new Set<string>()

/** A sensitive string: prints as `***` everywhere (toString, JSON, inspect); `reveal()` gives the value. */
export class Secret {
  readonly #value: string
  readonly [SECRET] = true

  constructor(value: string) {
    this.#value = value
    created.add(value)
  }

  /** The real value; call only where it must reach the host. */
  reveal(): string {
    return this.#value
  }

  toString(): string {
    return '***'
  }

  toJSON(): string {
    return '***'
  }

  [inspect.custom](): string {
    return 'Secret(***)'
  }
}

/** Marks a value as sensitive so `sh` masks it in `display`. */
export function secret(value: string): Secret {
  return new Secret(value)
}

/** True for values created by {@link secret}, also across duplicate copies of this module. */
export function isSecret(v: unknown): v is Secret {
  return typeof v === 'object' && v !== null && (v as { [SECRET]?: unknown })[SECRET] === true
}

/** Marks a plain value as secret without wrapping it (e.g. sensitive file content), for scrubbing. */
export function registerSecret(value: string): void {
  created.add(value)
}

/** Every value passed to `secret()` or `registerSecret()` so far. */
export function secretValues(): readonly string[] {
  return [...created]
}

/** Quotes one word for POSIX sh (dash, bash, busybox): `'…'` with every `'` written as `'\''`. */
export function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`
}

function isShellCommand(v: unknown): v is ShellCommand {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isSecret(v) &&
    typeof (v as ShellCommand).script === 'string' && typeof (v as ShellCommand).display === 'string'
}

function word(v: unknown): { script: string; display: string } {
  if (isSecret(v)) return { script: shQuote(v.reveal()), display: '***' }
  if (v === null || v === undefined) throw new TypeError(`sh: cannot interpolate ${String(v)} into a command`)
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') {
    const q = shQuote(String(v))
    return { script: q, display: q }
  }
  throw new TypeError(`sh: cannot interpolate a ${typeof v} into a command; pass a string, number, array or secret()`)
}

/**
 * Tagged template for remote commands: every interpolation is one shQuote'd word, arrays become
 * space-separated quoted words, secret() values are quoted in `script` and shown as `***` in
 * `display`, and a nested ShellCommand is spliced in verbatim.
 */
export function sh(strings: TemplateStringsArray, ...values: unknown[]): ShellCommand {
  let script = strings[0] ?? ''
  let display = script
  values.forEach((v, i) => {
    let part: { script: string; display: string }
    if (Array.isArray(v)) {
      const words = v.map(word)
      part = { script: words.map((w) => w.script).join(' '), display: words.map((w) => w.display).join(' ') }
    } else if (isShellCommand(v)) {
      part = { script: v.script, display: v.display }
    } else {
      part = word(v)
    }
    const lit = strings[i + 1] ?? ''
    script += part.script + lit
    display += part.display + lit
  })
  return { script, display }
}

/**
 * Removes a secret from text a host sent back (a validator may echo the file): the whole value and
 * every line of it long enough to be recognisable.
 */
export function scrubSecret(text: string, secretText: string | undefined): string {
  if (!secretText) return text
  let out = text.replaceAll(secretText, '***')
  for (const line of new Set(secretText.split('\n').map((l) => l.trim()))) if (line.length >= 6) out = out.replaceAll(line, '***')
  return out
}

/**
 * A URL as messages may show it: user and password as `***` (an ssh URL keeps its user, which is
 * no credential). Text that is not a URL, such as git's `user@host:path`, comes back unchanged.
 */
export function maskUrl(url: string): string {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return url
  }
  if (u.password === '' && (u.username === '' || u.protocol === 'ssh:')) return url
  if (u.protocol !== 'ssh:') u.username = '***'
  u.password = u.protocol === 'ssh:' ? '***' : ''
  return u.toString()
}
