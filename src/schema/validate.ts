import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'
import type { JsonSchema } from '../engine/define.ts'

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
  const instance = new Ajv({ allErrors: true, verbose: true, strict: false, useDefaults: false, coerceTypes: false })
  // ajv-formats is CJS: under NodeNext its callable arrives as `.default`.
  addFormatsModule.default(instance)
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
