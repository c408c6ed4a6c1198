import { posix } from 'node:path'
import nunjucks from 'nunjucks'
import { stringify as toYaml } from 'yaml'

/**
 * What makes nunjucks behave as Jinja does in Ansible where JavaScript differs from Python: truth
 * (an empty list is false), printing (`True`, `['a', 1]`, None as nothing), `%` formatting,
 * negative indexes, string methods, iterating a dict, and the filters and tests nunjucks lacks.
 */

type Fn = (...args: unknown[]) => unknown
type Kwargs = { readonly __keywords?: true; readonly [k: string]: unknown }
const isKwargs = (v: unknown): v is Kwargs => typeof v === 'object' && v !== null && (v as Kwargs).__keywords === true
const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && [Object.prototype, null].includes(Object.getPrototypeOf(v))

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

/** What `{{ v }}` prints in Ansible: `True`/`False`, lists and dicts as Python writes them, and nothing for None. */
export function pyStr(v: unknown): unknown {
  if (v === null) return ''
  if (typeof v === 'boolean' || Array.isArray(v) || isPlain(v)) return pyRepr(v)
  return v
}

/** Python's `%` formatting for the conversions config files use: s, d, i, f (with precision), x, %. */
function percentFormat(fmt: string, args: readonly unknown[]): string {
  let i = 0
  return fmt.replace(/%(-?\d*)(?:\.(\d+))?([sdifx%])/g, (_m, width: string, prec: string | undefined, conv: string) => {
    if (conv === '%') return '%'
    const v = args[i++]
    const text =
      conv === 's' ? String(pyStr(v))
      : conv === 'f' ? Number(v).toFixed(prec === undefined ? 6 : Number(prec))
      : conv === 'x' ? Math.trunc(Number(v)).toString(16)
      : String(Math.trunc(Number(v)))
    const w = Number(width || 0)
    return w < 0 ? text.padEnd(-w) : text.padStart(w)
  })
}

/** Python's `str.format` for `{}`, `{0}` and `{name}` fields. */
function strFormat(fmt: string, args: readonly unknown[]): string {
  let next = 0
  const kw = args.find(isKwargs) ?? {}
  const positional = args.filter((a) => !isKwargs(a))
  return fmt.replace(/\{\{|\}\}|\{([A-Za-z_0-9]*)\}/g, (m, field: string | undefined) => {
    if (m === '{{') return '{'
    if (m === '}}') return '}'
    const v = field === '' || field === undefined ? positional[next++] : /^\d+$/.test(field) ? positional[Number(field)] : kw[field]
    return String(pyStr(v))
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
  if (!isPlain(v)) return v
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortedKeys(v[k])]))
}

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])
const strip = (s: string, chars: unknown, where: 'both' | 'start' | 'end'): string => {
  const set = typeof chars === 'string' ? `[${chars.replace(/[\\\]^-]/g, '\\$&')}]` : '\\s'
  const start = where === 'end' ? s : s.replace(new RegExp(`^${set}+`), '')
  return where === 'start' ? start : start.replace(new RegExp(`${set}+$`), '')
}

/** Python's string methods that templates call (`name.split(',')`, `', '.join(xs)`), by name. */
const STRING_METHODS: Record<string, (s: string, ...args: unknown[]) => unknown> = {
  upper: (s) => s.toUpperCase(),
  lower: (s) => s.toLowerCase(),
  strip: (s, chars) => strip(s, chars, 'both'),
  lstrip: (s, chars) => strip(s, chars, 'start'),
  rstrip: (s, chars) => strip(s, chars, 'end'),
  startswith: (s, p) => (Array.isArray(p) ? p : [p]).some((x) => s.startsWith(String(x))),
  endswith: (s, p) => (Array.isArray(p) ? p : [p]).some((x) => s.endsWith(String(x))),
  split(s, sep, max) {
    const parts = sep === undefined || sep === null ? s.trim().split(/\s+/).filter(Boolean) : s.split(String(sep))
    const n = typeof max === 'number' && max >= 0 ? max : Infinity
    return parts.length > n + 1 ? [...parts.slice(0, n), parts.slice(n).join(sep === undefined || sep === null ? ' ' : String(sep))] : parts
  },
  replace: (s, from, to) => s.replaceAll(String(from), String(to)),
  join: (s, items) => list(items).map((x) => String(pyStr(x))).join(s),
  format: (s, ...args) => strFormat(s, args),
  title: (s) => s.replace(/\w\S*/g, (w) => w[0]!.toUpperCase() + w.slice(1).toLowerCase()),
  capitalize: (s) => (s ? s[0]!.toUpperCase() + s.slice(1).toLowerCase() : s),
  splitlines: (s) => s.split(/\r?\n/).filter((l, i, all) => i < all.length - 1 || l !== ''),
  find: (s, sub) => s.indexOf(String(sub)),
  isdigit: (s) => /^\d+$/.test(s),
}

type Filter = (this: { env: nunjucks.Environment & { getTest(name: string): Fn } }, value: unknown, ...args: unknown[]) => unknown

/** An attribute of a value by dotted path (`user.home`), as Jinja's attribute filters take it. */
const attribute = (x: unknown, path: unknown): unknown => String(path).split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | null | undefined)?.[k], x)

/** Jinja's `selectattr`/`rejectattr`: an attribute tried by a test with its arguments, or for truth. */
function byAttribute(keep: boolean): Filter {
  return function (items, attr, test, ...args) {
    const get = (x: unknown) => attribute(x, attr)
    const passes = (x: unknown) => (test === undefined ? truthy(get(x)) : Boolean(this.env.getTest(String(test))(get(x), ...args)))
    return list(items).filter((x) => passes(x) === keep)
  }
}

/** Jinja builtins and Ansible filters that nunjucks does not have (or has with JavaScript's semantics). */
export const FILTERS: Record<string, Filter> = {
  // Jinja's `default(x, true)` also replaces what is false in Python (an empty list).
  default: (v, fallback, boolean) => ((boolean === true ? truthy(v) : v !== undefined) ? v : fallback),
  d: (v, fallback, boolean) => ((boolean === true ? truthy(v) : v !== undefined) ? v : fallback),
  format: (fmt, ...args) => percentFormat(String(fmt), args),
  map(items, ...args) {
    const kw = args.find(isKwargs)
    if (kw?.attribute !== undefined) return list(items).map((x) => (x as Record<string, unknown> | null)?.[String(kw.attribute)] ?? kw.default)
    const [name, ...rest] = args.filter((a) => !isKwargs(a))
    const filter = this.env.getFilter(String(name))
    return list(items).map((x) => filter.call(this, x, ...rest))
  },
  // Jinja gives 0 for what is no number; nunjucks gives undefined, which would fail the output.
  int: (v, fallback = 0, base = 10) => (Number.isNaN(parseInt(String(v), Number(base))) ? fallback : parseInt(String(v), Number(base))),
  float: (v, fallback = 0) => (Number.isNaN(parseFloat(String(v))) ? fallback : parseFloat(String(v))),
  sum(items, ...args) {
    const kw = args.find(isKwargs)
    const [attr = kw?.attribute, start = kw?.start ?? 0] = args.filter((a) => !isKwargs(a))
    return list(items).reduce<number>((total, x) => total + Number(attr === undefined ? x : attribute(x, attr)), Number(start))
  },
  selectattr: byAttribute(true),
  rejectattr: byAttribute(false),
  count: (v) => (Array.isArray(v) || typeof v === 'string' ? v.length : isPlain(v) ? Object.keys(v).length : 0),
  unique: (v) => [...new Set(list(v))],
  flatten: (v) => list(v).flat(Infinity),
  union: (a, b) => [...new Set([...list(a), ...list(b)])],
  intersect: (a, b) => [...new Set(list(a).filter((x) => list(b).includes(x)))],
  difference: (a, b) => [...new Set(list(a).filter((x) => !list(b).includes(x)))],
  min: (v) => (list(v) as (number | string)[]).reduce((a, b) => (b < a ? b : a), list(v)[0] as number | string),
  max: (v) => (list(v) as (number | string)[]).reduce((a, b) => (b > a ? b : a), list(v)[0] as number | string),
  items: (v) => Object.entries(v ?? {}),
  dict2items: (v) => Object.entries(v ?? {}).map(([key, value]) => ({ key, value })),
  items2dict: (v) => Object.fromEntries(list(v).map((x) => [(x as { key: unknown }).key, (x as { value: unknown }).value])),
  combine: (...dicts) => Object.assign({}, ...dicts.filter((d) => !isKwargs(d))),
  bool: (v) => (typeof v === 'string' ? ['yes', 'on', '1', 'true', 'y', 't'].includes(v.trim().toLowerCase()) : v === 1 || v === true),
  ternary: (v, yes, no) => (truthy(v) ? yes : no),
  mandatory(v, msg) {
    if (v === undefined) throw new Error(typeof msg === 'string' ? msg : 'mandatory variable not defined')
    return v
  },
  split: (v, sep) => STRING_METHODS.split!(String(v), sep),
  tojson: (v) => pythonJson(sortedKeys(v)),
  to_json: (v) => pythonJson(v),
  to_nice_json: (v, ...args) => JSON.stringify(sortedKeys(v), null, Number(args.find(isKwargs)?.indent ?? 4)),
  to_yaml: (v) => toYaml(v),
  to_nice_yaml: (v) => toYaml(v, { indent: 4 }),
  regex_replace: (v, pattern, replacement = '') => String(v).replace(new RegExp(String(pattern), 'g'), String(replacement).replace(/\\(\d)/g, '$$$1')),
  regex_search: (v, pattern) => new RegExp(String(pattern)).exec(String(v))?.[0] ?? null,
  b64encode: (v) => Buffer.from(String(v), 'utf8').toString('base64'),
  b64decode: (v) => Buffer.from(String(v), 'base64').toString('utf8'),
  basename: (v) => posix.basename(String(v)),
  dirname: (v) => posix.dirname(String(v)),
  quote: (v) => `'${String(v).replaceAll("'", `'"'"'`)}'`,
}

/** Jinja and Ansible tests that nunjucks lacks. */
export const TESTS: Record<string, (v: unknown, ...args: unknown[]) => boolean> = {
  none: (v) => v === null,
  in: (v, seq) => (Array.isArray(seq) ? seq.includes(v) : typeof seq === 'string' ? seq.includes(String(v)) : isPlain(seq) && Object.hasOwn(seq, String(v))),
  boolean: (v) => typeof v === 'boolean',
  match: (v, pattern) => new RegExp(`^(?:${String(pattern)})`).test(String(v)),
  search: (v, pattern) => new RegExp(String(pattern)).test(String(v)),
}

/** The parts of nunjucks' compiler and runtime this file reaches into (not in its typings). */
interface Node {
  readonly typename: string
  readonly lineno: number
  readonly colno: number
  cond?: Node
  else_?: Node | null
  target?: Node
  left?: Node
  right?: Node
  arr?: Node
  name?: Node
  children?: Node[]
}
interface CompilerProto {
  compile(node: Node | undefined, frame: unknown): void
  _emit(code: string): void
  fail(message: string, lineno: number, colno: number): never
  [method: string]: unknown
}
interface Internals {
  runtime: Record<string, unknown> & { suppressValue: Fn; memberLookup: Fn }
  lib: { TemplateError: new (message: string, lineno: number, colno: number) => Error }
  compiler: { Compiler: { prototype: CompilerProto } }
  nodes: { Not: { extend(name: string): new (lineno: number, colno: number, target: Node) => Node } }
}

/** Runtime helpers the patched compiler calls, as `runtime.<name>(…)`. */
const HELPERS: Record<string, Fn> = {
  havnTruthy: truthy,
  // Iterating a dict gives its keys, as in Python.
  havnIter: (v) => (isPlain(v) ? Object.keys(v) : v),
  // `'%s:%d' % (host, port)` formats; numbers take Python's modulo (the sign of the divisor).
  havnMod: (l, r, tuple) => (typeof l === 'string' ? percentFormat(l, tuple ? (r as unknown[]) : [r]) : Number(l) - Math.floor(Number(l) / Number(r)) * Number(r)),
  havnMul: (l, r) => (typeof l === 'string' && typeof r === 'number' ? l.repeat(Math.max(0, r)) : Number(l) * Number(r)),
}

/**
 * Patches nunjucks, once per process, to Python's semantics where Jinja templates rely on them:
 * `if`, `not`, `and`, `or` and inline `if` test Python's truth; output prints as Ansible prints;
 * only undefined (not None) fails output; `%` and `*` on strings; a one-name `for` over a dict;
 * negative indexes and Python's string methods. A loop filter (`for x in xs if c`), which nunjucks
 * would read as an inline `if` and so loop over nothing, is an error instead. Call after
 * `installJinjaCompat`, which patches the same runtime.
 */
export function installPython(): void {
  const { compiler, nodes, runtime, lib } = nunjucks as unknown as Internals
  const proto = compiler.Compiler.prototype
  Object.assign(runtime, HELPERS)
  const suppress = runtime.suppressValue
  runtime.suppressValue = (v: unknown, autoescape: unknown) => suppress(pyStr(v), autoescape)
  runtime.ensureDefined = (v: unknown, lineno: number, colno: number) => {
    if (v === undefined) throw new lib.TemplateError('attempted to output null or undefined value', lineno + 1, colno + 1)
    return v
  }
  const lookup = runtime.memberLookup
  runtime.memberLookup = function (this: unknown, obj: unknown, key: unknown, ...rest: unknown[]) {
    if (rest.length === 0 && typeof key === 'number' && key < 0 && (Array.isArray(obj) || typeof obj === 'string')) return obj[obj.length + key]
    if (typeof obj === 'string' && typeof key === 'string' && Object.hasOwn(STRING_METHODS, key)) return (...args: unknown[]) => STRING_METHODS[key]!(obj, ...args)
    return lookup.call(this, obj, key, ...rest)
  }

  // Each helper call is a node of its own, a subclass of Not, so nunjucks' type checks take it as an expression.
  const calls = new Map<string, new (lineno: number, colno: number, target: Node) => Node>()
  const call = (helper: string, n: Node): Node => {
    let Call = calls.get(helper)
    if (!Call) {
      Call = nodes.Not.extend(`Havn_${helper}`)
      calls.set(helper, Call)
      proto[`compileHavn_${helper}`] = function (this: CompilerProto, node: Node, frame: unknown) {
        this._emit(`runtime.${helper}(`)
        this.compile(node.target, frame)
        this._emit(')')
      }
    }
    return n.typename === `Havn_${helper}` ? n : new Call(n.lineno, n.colno, n)
  }
  const truth = (n: Node | undefined) => (n === undefined ? n : call('havnTruthy', n))

  proto.compileNot = function (this: CompilerProto, node: Node, frame: unknown) {
    this._emit('!')
    this.compile(truth(node.target), frame)
  }
  for (const name of ['compileIf', 'compileIfAsync', 'compileInlineIf'] as const) {
    const original = proto[name] as (this: CompilerProto, node: Node, ...rest: unknown[]) => void
    proto[name] = function (this: CompilerProto, node: Node, ...rest: unknown[]) {
      node.cond = truth(node.cond)
      original.call(this, node, ...rest)
    }
  }
  const compileFor = proto.compileFor as (this: CompilerProto, node: Node, frame: unknown) => void
  proto.compileFor = function (this: CompilerProto, node: Node, frame: unknown) {
    const arr = node.arr
    if (arr?.typename === 'InlineIf' && !arr.else_) this.fail('loop filters (for x in xs if …) are not supported: put the if inside the loop, or filter with select/selectattr', arr.lineno, arr.colno)
    if (arr && node.name?.typename === 'Symbol') node.arr = call('havnIter', arr)
    compileFor.call(this, node, frame)
  }
  // Python's `a or b` is a when a is true, else b; `a and b` is b when a is true, else a.
  for (const [name, pick] of [['compileOr', 'l : ('], ['compileAnd', '(']] as const) {
    proto[name] = function (this: CompilerProto, node: Node, frame: unknown) {
      this._emit(`((l) => runtime.havnTruthy(l) ? ${pick}`)
      this.compile(node.right, frame)
      this._emit(name === 'compileOr' ? '))(' : ') : l)(')
      this.compile(node.left, frame)
      this._emit(')')
    }
  }
  proto.compileMod = function (this: CompilerProto, node: Node, frame: unknown) {
    const tuple = node.right?.typename === 'Group' && (node.right.children?.length ?? 0) > 1
    this._emit('runtime.havnMod(')
    this.compile(node.left, frame)
    this._emit(tuple ? ', [' : ', ')
    if (tuple) node.right!.children!.forEach((c, i) => (i > 0 && this._emit(', '), this.compile(c, frame)))
    else this.compile(node.right, frame)
    this._emit(tuple ? '], true)' : ', false)')
  }
  proto.compileMul = function (this: CompilerProto, node: Node, frame: unknown) {
    this._emit('runtime.havnMul(')
    this.compile(node.left, frame)
    this._emit(', ')
    this.compile(node.right, frame)
    this._emit(')')
  }
}
