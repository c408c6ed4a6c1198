import type { Problems } from './problems.ts'
import { referenceOf } from './references.ts'
import type { RawVar, RawVars } from './raw.ts'
import type { ConnectionKey } from './types.ts'

/**
 * Every spelling of each connection key, lowest priority first. Each spelling merges by level like
 * any var; then the highest-priority spelling set anywhere wins, whatever its level: Ansible's ssh
 * connection reads `ansible_ssh_host` over `ansible_host` the same way. havn's own short spellings
 * come below Ansible's.
 */
export const CONNECTION_SPELLINGS: Readonly<Record<ConnectionKey, readonly string[]>> = {
  address: ['address', 'ansible_host', 'ansible_ssh_host'],
  port: ['port', 'ansible_port', 'ansible_ssh_port'],
  user: ['user', 'ansible_user', 'ansible_ssh_user'],
  identityFile: ['ansible_private_key_file', 'ansible_ssh_private_key_file'],
  become: ['ansible_become'],
  becomeUser: ['ansible_become_user'],
  connection: ['ansible_connection'],
}

const NATIVE = new Set(['address', 'port', 'user'])
const CANONICAL = new Map<string, ConnectionKey>(
  Object.entries(CONNECTION_SPELLINGS).flatMap(([key, spellings]) => spellings.map((s) => [s, key as ConnectionKey] as const)))

/** How each value of `ansible_connection` is run: over SSH, or on the controller itself. */
const TRANSPORTS: Readonly<Record<string, 'ssh' | 'local'>> = { ssh: 'ssh', smart: 'ssh', paramiko: 'ssh', local: 'local' }

/** A connection key's value after validation. */
export type ConnectionValue = string | number | boolean

/** A connection key after validation, under the spelling it was written with. */
export interface ConnectionVar extends RawVar {
  readonly value: ConnectionValue
}

/** One mapping's vars, with connection keys split out by spelling. */
export interface Layer {
  readonly vars: ReadonlyMap<string, RawVar>
  readonly connection: ReadonlyMap<string, ConnectionVar>
}

/** The canonical key a spelling sets, or undefined for a plain var. */
export function connectionKeyOf(spelling: string): ConnectionKey | undefined {
  return CANONICAL.get(spelling)
}

/**
 * Splits one mapping ("level") into plain vars and validated connection keys. A havn spelling and an
 * Ansible spelling of one key with different values on the same level are a problem (the user meant
 * one of them), and so is an invalid value (naming `host` when the mapping belongs to one); invalid
 * connection keys are then left out.
 */
export function toLayer(vars: RawVars, problems: Problems, host?: string): Layer {
  const plain = new Map<string, RawVar>()
  const connection = new Map<string, ConnectionVar>()
  for (const v of vars) {
    const canonical = CANONICAL.get(v.key)
    if (canonical === undefined) {
      plain.set(v.key, v)
      continue
    }
    // A reference such as `{{ private_ip }}` is checked once the host's vars resolve it.
    const value = referenceOf(v.value) !== undefined ? (v.value as string) : validateConnection(canonical, v, problems, host)
    if (value === undefined) continue
    const clash = CONNECTION_SPELLINGS[canonical].find((s) => s !== v.key && NATIVE.has(s) !== NATIVE.has(v.key) && connection.has(s) && connection.get(s)?.value !== value)
    if (clash !== undefined) {
      problems.add(v.at, `'${clash}' and '${v.key}' are both set here, to different values (${String(connection.get(clash)?.value)} and ${String(value)}); keep one`, host)
      continue
    }
    connection.set(v.key, { key: v.key, value, at: v.at })
  }
  return { vars: plain, connection }
}

/** The value of connection key `key` as written in `v`, or undefined after recording why it is invalid. */
export function validateConnection(key: ConnectionKey, v: RawVar, problems: Problems, host: string | undefined): ConnectionValue | undefined {
  const { value } = v
  const fail = (what: string): undefined => {
    problems.add(v.at, `${v.key} must be ${what}, not ${describe(value)}`, host)
    return undefined
  }
  switch (key) {
    case 'port': {
      // Ansible inventories often quote ports; a string of digits is still a port.
      const port = typeof value === 'string' && /^[0-9]+$/.test(value) ? Number(value) : value
      if (typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535) return port
      return fail('an integer from 1 to 65535')
    }
    case 'become': {
      const b = typeof value === 'string' ? BOOLEANS[value.toLowerCase()] : typeof value === 'number' ? BOOLEANS[String(value)] : value
      return typeof b === 'boolean' ? b : fail('true or false')
    }
    case 'connection': {
      if (typeof value === 'string' && TRANSPORTS[value] !== undefined) return value
      return fail(`one of ${Object.keys(TRANSPORTS).join(', ')} (havn connects over SSH, or runs locally)`)
    }
    default: {
      if (typeof value === 'string' && value !== '' && !/\s/.test(value)) return value
      const what = key === 'address' ? 'a host name or IP address' : key === 'identityFile' ? 'a file path' : 'a user name'
      return fail(`${what} (a non-empty string without spaces)`)
    }
  }
}

// The strings Ansible's boolean filter accepts for connection booleans.
const BOOLEANS: Readonly<Record<string, boolean>> = { yes: true, on: true, true: true, '1': true, no: false, off: false, false: false, '0': false }

/** Whether `ansible_connection` asks for local execution. */
export function isLocalTransport(value: ConnectionValue | undefined): boolean {
  return typeof value === 'string' && TRANSPORTS[value] === 'local'
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'empty'
  if (typeof value === 'string') return value === '' ? 'an empty string' : `the string '${value}'`
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a mapping'
  return `${typeof value} ${String(value)}`
}
