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

/** Checks `value` against `schema`; returns every problem found (empty when valid). */
export function validateSchema(schema: JsonSchema, value: unknown): SchemaProblem[] {
  const fn = validatorFor(schema)
  if (fn(value)) return []
  return (fn.errors ?? []).map(describe)
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
  // The type, never the value: the value may be a secret.
  const got = e.data === undefined ? '' : ` (got ${Array.isArray(e.data) ? 'array' : e.data === null ? 'null' : typeof e.data})`
  return { pointer: e.instancePath, message: `${e.message ?? 'is invalid'}${got}` }
}
