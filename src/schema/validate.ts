import { createRequire } from 'node:module'
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv'
import type addFormatsModule from 'ajv-formats'
import type { JsonSchema } from '../engine/define.ts'

// ajv is loaded on the first validation (a playbook without role vars never needs it); both packages are CJS.
const load = createRequire(import.meta.url)

/** One way a value breaks its schema, located by JSON pointer. */
export interface SchemaProblem {
  readonly pointer: string
  readonly message: string
}

let ajv: Ajv | undefined
const compiled = new WeakMap<JsonSchema, ValidateFunction>()

function validatorFor(schema: JsonSchema): ValidateFunction {
  let fn = compiled.get(schema)
  if (!fn) {
    ajv ??= createAjv()
    fn = ajv.compile(schema)
    compiled.set(schema, fn)
  }
  return fn
}

function createAjv(): Ajv {
  const { Ajv: AjvClass } = load('ajv') as typeof import('ajv')
  const addFormats = load('ajv-formats') as typeof addFormatsModule
  const instance = new AjvClass({ allErrors: true, verbose: true, strict: false, useDefaults: false, coerceTypes: false })
  // ajv-formats is CJS: its callable is `.default`.
  addFormats.default(instance)
  return instance
}

/** Checks `value` against `schema`; returns every problem found (empty when valid), one per `anyOf`/`oneOf`. */
export function validateSchema(schema: JsonSchema, value: unknown): SchemaProblem[] {
  const fn = validatorFor(schema)
  if (fn(value)) return []
  const errors = fn.errors ?? []
  const alternatives = new Map<ErrorObject, ErrorObject[]>()
  for (const e of errors) {
    const branches = e.keyword === 'anyOf' || e.keyword === 'oneOf' ? branchesOf(e, errors) : []
    if (branches.length > 0) alternatives.set(e, branches)
  }
  const inBranch = (e: ErrorObject) => [...alternatives.keys()].some((a) => e !== a && e.schemaPath.startsWith(`${a.schemaPath}/`))
  return errors.filter((e) => !inBranch(e)).map((e) => {
    const branches = alternatives.get(e)
    return branches ? describeAlternatives(e, branches) : describe(e)
  })
}

/** The errors of each failed branch of an `anyOf`/`oneOf`, at the value it checks. */
function branchesOf(alt: ErrorObject, errors: readonly ErrorObject[]): ErrorObject[] {
  return errors.filter((e) => e !== alt && e.schemaPath.startsWith(`${alt.schemaPath}/`) && e.instancePath === alt.instancePath)
}

/** One line for a value that fits none of the alternatives, naming what each would have needed. */
function describeAlternatives(alt: ErrorObject, branches: readonly ErrorObject[]): SchemaProblem {
  const needs = [...new Set(branches.map((b) => need(b)))]
  return { pointer: alt.instancePath, message: `must be one of: ${needs.join(' | ')}${got(alt)}` }
}

/** What one branch needed, from the schema alone (never the value). */
function need(e: ErrorObject): string {
  const p = e.params as { allowedValue?: unknown; allowedValues?: unknown[]; format?: string; type?: string; pattern?: string }
  if (e.keyword === 'const') return JSON.stringify(p.allowedValue)
  if (e.keyword === 'enum') return (p.allowedValues ?? []).map((v) => JSON.stringify(v)).join(' | ')
  if (e.keyword === 'format') return `format ${p.format ?? '?'}`
  if (e.keyword === 'type') return `type ${p.type ?? '?'}`
  if (e.keyword === 'pattern') return `a string matching ${p.pattern ?? '?'}`
  return (e.message ?? 'another value').replace(/^must (be )?/, '')
}

function describe(e: ErrorObject): SchemaProblem {
  if (e.keyword === 'additionalProperties') {
    const extra = String((e.params as { additionalProperty?: string }).additionalProperty)
    return { pointer: `${e.instancePath}/${extra}`, message: `unknown var '${extra}'` }
  }
  if (e.keyword === 'required') {
    const missing = String((e.params as { missingProperty?: string }).missingProperty)
    return { pointer: `${e.instancePath}/${missing}`, message: `required var '${missing}' is missing` }
  }
  return { pointer: e.instancePath, message: `${e.message ?? 'is invalid'}${got(e)}` }
}

/** The type, never the value: the value may be a secret. */
function got(e: ErrorObject): string {
  return e.data === undefined ? '' : ` (got ${Array.isArray(e.data) ? 'array' : e.data === null ? 'null' : typeof e.data})`
}
