import { readFileSync } from 'node:fs'
import { basename, dirname, posix } from 'node:path'
import nunjucks from 'nunjucks'
import { stringify as toYaml } from 'yaml'

/**
 * Jinja templates as Ansible renders them, through nunjucks: no HTML escaping, `trim_blocks`
 * (a newline after a block or comment tag goes), Ansible's trailing newlines kept, undefined
 * values an error naming template, line and variable, and the common filters nunjucks lacks.
 */

/** A value a template can read: plain data, as Ansible's variables are. */
export type JinjaValue = string | number | boolean | null | readonly JinjaValue[] | { readonly [key: string]: JinjaValue }

let compat = false

type Kwargs = { readonly __keywords?: true; readonly [k: string]: unknown }
const isKwargs = (v: unknown): v is Kwargs => typeof v === 'object' && v !== null && (v as Kwargs).__keywords === true

/** Python's `%` formatting for the conversions config files use: s, d, i, f (with precision), x, %. */
function percentFormat(fmt: string, args: readonly unknown[]): string {
  let i = 0
  return fmt.replace(/%(-?\d*)(?:\.(\d+))?([sdifx%])/g, (_m, width: string, prec: string | undefined, conv: string) => {
    if (conv === '%') return '%'
    const v = args[i++]
    const text =
      conv === 's' ? String(v)
      : conv === 'f' ? Number(v).toFixed(prec === undefined ? 6 : Number(prec))
      : conv === 'x' ? Math.trunc(Number(v)).toString(16)
      : String(Math.trunc(Number(v)))
    const w = Number(width || 0)
    return w < 0 ? text.padEnd(-w) : text.padStart(w)
  })
}

/** Python's `json.dumps` layout (`", "` and `": "` separators), as Ansible's `to_json` prints. */
function pythonJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(pythonJson).join(', ')}]`
  if (typeof v === 'object' && v !== null) return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${pythonJson(x)}`).join(', ')}}`
  return JSON.stringify(v) ?? 'null'
}

function sortedKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedKeys)
  if (typeof v !== 'object' || v === null) return v
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortedKeys((v as Record<string, unknown>)[k])]))
}

type Filter = (this: { env: nunjucks.Environment }, value: unknown, ...args: unknown[]) => unknown

/** Jinja builtins and Ansible filters that nunjucks does not have, written the way they behave there. */
const FILTERS: Record<string, Filter> = {
  // Jinja's `default(x, true)` also replaces what is false in Python (an empty list).
  default: (v, fallback, boolean) => ((boolean === true ? truthy(v) : v !== undefined) ? v : fallback),
  d: (v, fallback, boolean) => ((boolean === true ? truthy(v) : v !== undefined) ? v : fallback),
  format: (fmt, ...args) => percentFormat(String(fmt), args),
  map(list, ...args) {
    const items = Array.isArray(list) ? list : []
    const kw = args.find(isKwargs)
    if (kw?.attribute !== undefined) return items.map((x: Record<string, unknown>) => x?.[String(kw.attribute)] ?? kw.default)
    const [name, ...rest] = args.filter((a) => !isKwargs(a))
    const filter = this.env.getFilter(String(name))
    return items.map((x) => filter.call(this, x, ...rest))
  },
  unique: (list) => [...new Set(Array.isArray(list) ? list : [])],
  min: (list) => (Array.isArray(list) && list.length ? list.reduce((a, b) => (b < a ? b : a)) : undefined),
  max: (list) => (Array.isArray(list) && list.length ? list.reduce((a, b) => (b > a ? b : a)) : undefined),
  items: (obj) => Object.entries(obj ?? {}),
  dict2items: (obj) => Object.entries(obj ?? {}).map(([key, value]) => ({ key, value })),
  combine: (...dicts) => Object.assign({}, ...dicts.filter((d) => !isKwargs(d))),
  bool: (v) => (typeof v === 'string' ? ['yes', 'on', '1', 'true', 'y', 't'].includes(v.trim().toLowerCase()) : v === 1 || v === true),
  ternary: (v, yes, no) => (v ? yes : no),
  mandatory(v, msg) {
    if (v === undefined) throw new Error(typeof msg === 'string' ? msg : 'mandatory variable not defined')
    return v
  },
  tojson: (v) => pythonJson(sortedKeys(v)),
  to_json: (v) => pythonJson(v),
  to_nice_json: (v, ...args) => JSON.stringify(sortedKeys(v), null, Number(args.find(isKwargs)?.indent ?? 4)),
  to_yaml: (v) => toYaml(v),
  to_nice_yaml: (v) => toYaml(v, { indent: 4 }),
  regex_replace: (v, pattern, replacement = '') => String(v).replace(new RegExp(String(pattern), 'g'), String(replacement).replace(/\\(\d)/g, '$$$1')),
  b64encode: (v) => Buffer.from(String(v), 'utf8').toString('base64'),
  b64decode: (v) => Buffer.from(String(v), 'base64').toString('utf8'),
  basename: (v) => posix.basename(String(v)),
  dirname: (v) => posix.dirname(String(v)),
  quote: (v) => `'${String(v).replaceAll("'", `'"'"'`)}'`,
}

/**
 * Jinja's trim_blocks also drops the newline after a comment, nunjucks' only after a block tag:
 * the newline moves inside the comment, so line numbers stay right. Raw blocks are left alone.
 */
function trimCommentNewlines(src: string): string {
  return src.replace(/\{%-?\s*raw\s*-?%\}[\s\S]*?\{%-?\s*endraw\s*-?%\}|\{#[\s\S]*?#\}\r?\n/g, (m) => {
    if (!m.startsWith('{#') || m.endsWith('-#}\n')) return m
    const nl = m.endsWith('\r\n') ? '\r\n' : '\n'
    return `${m.slice(0, m.length - nl.length - 2)}${nl}#}`
  })
}

/** Python's truth: an empty list, dict or string is false (in JavaScript an empty array or object is true). */
function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0
  if (v instanceof String) return v.length > 0
  if (v instanceof Map || v instanceof Set) return v.size > 0
  if (isPlain(v)) return Object.keys(v).length > 0
  return Boolean(v)
}

/** Python's `repr`, as Jinja prints a list or dict and the values inside them. */
function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None'
  if (typeof v === 'boolean') return v ? 'True' : 'False'
  if (typeof v === 'string') {
    const q = v.includes("'") && !v.includes('"') ? '"' : "'"
    return q + v.replaceAll('\\', '\\\\').replaceAll(q, `\\${q}`).replaceAll('\n', '\\n').replaceAll('\t', '\\t') + q
  }
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`
  if (isPlain(v)) return `{${Object.entries(v).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(', ')}}`
  return String(v)
}

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && [Object.prototype, null].includes(Object.getPrototypeOf(v))

/** What `{{ v }}` prints in Ansible: `True`/`False`, lists and dicts as Python writes them, and nothing for None. */
function pyStr(v: unknown): unknown {
  if (v === null) return ''
  if (typeof v === 'boolean' || Array.isArray(v) || isPlain(v)) return pyRepr(v)
  return v
}

/** The parts of nunjucks' compiler this file reaches into (not in its typings). */
interface Node {
  readonly typename: string
  readonly lineno: number
  readonly colno: number
  cond?: Node
  target?: Node
  left?: Node
  right?: Node
}
interface CompilerProto {
  compile(node: Node | undefined, frame: unknown): void
  _emit(code: string): void
  [method: string]: unknown
}
interface Internals {
  runtime: Record<string, unknown> & { suppressValue(v: unknown, autoescape: boolean): unknown }
  lib: { TemplateError: new (message: string, lineno: number, colno: number) => Error }
  compiler: { Compiler: { prototype: CompilerProto } }
  nodes: { Not: { extend(name: string): new (lineno: number, colno: number, target: Node) => Node } }
}

/**
 * Makes `if`, `not`, `and`, `or` and inline `if` test Python's truth, as Jinja does, so that
 * `{% if users %}` is false for an empty list, and makes output print as Ansible prints it.
 * nunjucks compiles to JavaScript's truth and printing; its compiler and runtime are patched
 * once per process (as its own `installJinjaCompat` patches them).
 */
function installPython(): void {
  const { compiler, nodes, runtime, lib } = nunjucks as unknown as Internals
  const proto = compiler.Compiler.prototype
  // Output as Ansible prints it; None prints nothing (Ansible's finalize), only undefined is an error.
  const suppress = runtime.suppressValue
  runtime.suppressValue = (v: unknown, autoescape: boolean) => suppress(pyStr(v), autoescape)
  runtime.ensureDefined = (v: unknown, lineno: number, colno: number) => {
    if (v === undefined) throw new lib.TemplateError('attempted to output null or undefined value', lineno + 1, colno + 1)
    return v
  }
  // Compiled templates are handed nunjucks' runtime module as `runtime`.
  runtime.havnTruthy = truthy
  const fn = 'runtime.havnTruthy'
  // A subclass of Not, so nunjucks' own type checks take it where they take an expression.
  const Truthy = nodes.Not.extend('HavnTruthy')
  const wrap = (n: Node | undefined) => (n === undefined || n.typename === 'HavnTruthy' ? n : new Truthy(n.lineno, n.colno, n))
  proto.compileHavnTruthy = function (this: CompilerProto, node: Node, frame: unknown) {
    this._emit(`${fn}(`)
    this.compile(node.target, frame)
    this._emit(')')
  }
  proto.compileNot = function (this: CompilerProto, node: Node, frame: unknown) {
    this._emit('!')
    this.compile(wrap(node.target), frame)
  }
  for (const name of ['compileIf', 'compileIfAsync', 'compileInlineIf'] as const) {
    const original = proto[name] as (this: CompilerProto, node: Node, ...rest: unknown[]) => void
    proto[name] = function (this: CompilerProto, node: Node, ...rest: unknown[]) {
      node.cond = wrap(node.cond)
      original.call(this, node, ...rest)
    }
  }
  // Python's `a or b` is a when a is true, else b; `a and b` is b when a is true, else a.
  for (const [name, pick] of [['compileOr', 'l : ('], ['compileAnd', '(']] as const) {
    proto[name] = function (this: CompilerProto, node: Node, frame: unknown) {
      this._emit(`((l) => ${fn}(l) ? ${pick}`)
      this.compile(node.right, frame)
      this._emit(name === 'compileOr' ? '))(' : ') : l)(')
      this.compile(node.left, frame)
      this._emit(')')
    }
  }
}

function environment(dir: string): nunjucks.Environment {
  if (!compat) {
    // `.items()`, `True`/`False`, slices: what Ansible templates write. Patches nunjucks once, for this process.
    nunjucks.installJinjaCompat()
    installPython()
    compat = true
  }
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(dir, { noCache: true }), { autoescape: false, throwOnUndefined: true, trimBlocks: true })
  for (const [name, fn] of Object.entries(FILTERS)) env.addFilter(name, fn)
  // Jinja's string filters take any value as Python's str() of it: `{{ flag | lower }}` is 'true'.
  for (const name of ['lower', 'upper', 'capitalize', 'title', 'trim', 'indent', 'center', 'truncate', 'wordcount', 'string']) {
    const builtin = env.getFilter(name)
    env.addFilter(name, function (this: unknown, v: unknown, ...args: unknown[]) {
      return builtin.call(this, v === undefined || v === null || typeof v === 'string' || v instanceof String ? v : String(pyStr(v)), ...args)
    })
  }
  const preprocess: nunjucks.Extension & { preprocess(src: string): string } = { tags: [], parse: () => undefined, preprocess: trimCommentNewlines }
  env.addExtension('havnTrimComments', preprocess)
  return env
}

const trailingNewlines = (s: string): number => /\n*$/.exec(s)?.[0].length ?? 0

/** The `{{ … }}` expression that starts at `line`:`column` (1-based) of the template at `path`. */
function expressionAt(path: string, line: number, column: number): string | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
  // Columns count in the source as nunjucks compiled it.
  const row = trimCommentNewlines(text).split('\n')[line - 1] ?? ''
  const m = /^\{\{-?\s*([\s\S]*?)\s*-?\}\}/.exec(row.slice(column - 1))
  return m?.[1]
}

/**
 * Renders the Jinja template at `path` (absolute) with `vars`; `{% include %}` and friends find
 * templates beside it. Throws an Error naming the template, the line and the variable when an
 * undefined value is output, or the template and line for any other template error.
 */
export function renderJinja(path: string, vars: Readonly<Record<string, unknown>>): string {
  const env = environment(dirname(path))
  let out: string
  try {
    out = env.render(basename(path), vars)
  } catch (err) {
    throw new Error(templateError(path, err instanceof Error ? err.message : String(err)))
  }
  // Ansible keeps as many trailing newlines as the template has, where trim_blocks took some.
  const source = readFileSync(path, 'utf8')
  const missing = trailingNewlines(source) - trailingNewlines(out)
  return missing > 0 ? out + '\n'.repeat(missing) : out
}

function templateError(path: string, message: string): string {
  // nunjucks: "(/abs/path) [Line 3, Column 5]\n  Error: what", nested once per include: the innermost names the place.
  const heads = [...message.matchAll(/\((.*?)\)(?: \[Line (\d+), Column (\d+)\])?\n\s*(?:Template render error: )?/g)]
  const last = heads.at(-1)
  if (!last) return `template ${path}: ${message}`
  const [head, where = path, line, column] = last
  const what = message.slice((last.index ?? 0) + head.length).replace(/^Error: /, '').trim()
  const file = where === 'unknown path' ? path : where
  const at = line ? `, line ${line}` : ''
  if (what.startsWith('attempted to output null or undefined value') && line && column) {
    const expr = expressionAt(file, Number(line), Number(column))
    return `template ${file}${at}: ${expr ? `'${expr}'` : 'a value'} is undefined`
  }
  return `template ${file}${at}: ${what}`
}
