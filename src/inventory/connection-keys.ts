import type { Problems } from './problems.ts'
import type { RawVar, RawVars } from './raw.ts'
import type { ConnectionKey } from './types.ts'

/** Both accepted spellings of each connection key, mapped to the canonical one. */
export const CONNECTION_SPELLINGS: ReadonlyMap<string, ConnectionKey> = new Map([
  ['address', 'address'], ['ansible_host', 'address'],
  ['port', 'port'], ['ansible_port', 'port'],
  ['user', 'user'], ['ansible_user', 'user'],
])

/** A connection key after validation: `value` is a port number or a non-empty string. */
export interface ConnectionVar extends RawVar {
  readonly value: string | number
}

/** One mapping's vars, with connection keys split out under canonical names. */
export interface Layer {
  readonly vars: ReadonlyMap<string, RawVar>
  readonly connection: ReadonlyMap<ConnectionKey, ConnectionVar>
}

/**
 * Splits one mapping ("level") into plain vars and validated connection keys. Both spellings of one
 * key with different values on the same level, and invalid values, become problems (naming `host`
 * when the mapping belongs to one); invalid connection keys are then left out.
 */
export function toLayer(vars: RawVars, problems: Problems, host?: string): Layer {
  const plain = new Map<string, RawVar>()
  const connection = new Map<ConnectionKey, ConnectionVar>()
  for (const v of vars) {
    const canonical = CONNECTION_SPELLINGS.get(v.key)
    if (canonical === undefined) {
      plain.set(v.key, v)
      continue
    }
    const value = validate(canonical, v, problems, host)
    if (value === undefined) continue
    const earlier = connection.get(canonical)
    if (earlier && earlier.value !== value) {
      problems.add(v.at, `'${earlier.key}' and '${v.key}' are both set here, to different values (${String(earlier.value)} and ${String(value)}); keep one`, host)
      continue
    }
    connection.set(canonical, { key: v.key, value, at: v.at })
  }
  return { vars: plain, connection }
}

function validate(key: ConnectionKey, v: RawVar, problems: Problems, host: string | undefined): string | number | undefined {
  const { value } = v
  if (key === 'port') {
    // Ansible inventories often quote ports; a string of digits is still a port.
    const port = typeof value === 'string' && /^[0-9]+$/.test(value) ? Number(value) : value
    if (typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535) return port
    problems.add(v.at, `${v.key} must be an integer from 1 to 65535, not ${describe(value)}`, host)
    return undefined
  }
  if (typeof value === 'string' && value !== '' && !/\s/.test(value)) return value
  const what = key === 'address' ? 'a host name or IP address' : 'a user name'
  problems.add(v.at, `${v.key} must be ${what} (a non-empty string without spaces), not ${describe(value)}`, host)
  return undefined
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'empty'
  if (typeof value === 'string') return value === '' ? 'an empty string' : `the string '${value}'`
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a mapping'
  return `${typeof value} ${String(value)}`
}
