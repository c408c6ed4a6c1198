import { readFileSync } from 'node:fs'
import { basename, dirname } from 'node:path'
import nunjucks from 'nunjucks'
import { FILTERS, installPython, pyStr, TESTS } from './jinja-python.ts'

/**
 * Jinja templates as Ansible renders them, through nunjucks: no HTML escaping, `trim_blocks`
 * (a newline after a block or comment tag goes), Ansible's trailing newlines kept, undefined
 * values an error naming template, line and variable, and Python's semantics (jinja-python.ts).
 */

/** A value a template can read: plain data, as Ansible's variables are. */
export type JinjaValue = string | number | boolean | null | readonly JinjaValue[] | { readonly [key: string]: JinjaValue }

let installed = false

/**
 * Jinja's trim_blocks also drops the newline after a comment, nunjucks' only after a block tag:
 * the newline moves inside the comment, so line numbers stay right. Raw blocks are left alone.
 * Refuses what nunjucks would misparse into a meaningless error.
 */
function trimCommentNewlines(src: string): string {
  // nunjucks cannot parse an attribute assignment, and fails with a TypeError that names nothing.
  const ns = /\{%-?\s*set\s+[A-Za-z_]\w*\.\w+/.exec(src)
  if (ns) throw new Error(`line ${src.slice(0, ns.index).split('\n').length}: {% set ns.attr = … %} (namespace()) is not supported; a {% set %} inside a loop is seen after it here`)
  return src.replace(/\{%-?\s*raw\s*-?%\}[\s\S]*?\{%-?\s*endraw\s*-?%\}|\{#[\s\S]*?#\}\r?\n/g, (m) => {
    if (!m.startsWith('{#') || m.endsWith('-#}\n')) return m
    const nl = m.endsWith('\r\n') ? '\r\n' : '\n'
    return `${m.slice(0, m.length - nl.length - 2)}${nl}#}`
  })
}

function environment(dir: string): nunjucks.Environment {
  if (!installed) {
    // `.items()`, `True`/`False`, slices, then Python's semantics: patches of nunjucks, once for this process.
    nunjucks.installJinjaCompat()
    installPython()
    installed = true
  }
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(dir, { noCache: true }), { autoescape: false, throwOnUndefined: true, trimBlocks: true })
  for (const [name, fn] of Object.entries(FILTERS)) env.addFilter(name, fn)
  // addTest is nunjucks API its typings lack.
  for (const [name, fn] of Object.entries(TESTS)) (env as nunjucks.Environment & { addTest(name: string, fn: (...args: never[]) => boolean): void }).addTest(name, fn)
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
  const own = /^line (\d+): ([\s\S]*)$/.exec(what)
  if (own) return `template ${file}, line ${own[1]}: ${own[2]}`
  const at = line ? `, line ${line}` : ''
  if (what.startsWith('attempted to output null or undefined value') && line && column) {
    const expr = expressionAt(file, Number(line), Number(column))
    return `template ${file}${at}: ${expr ? `'${expr}'` : 'a value'} is undefined`
  }
  return `template ${file}${at}: ${what}`
}
