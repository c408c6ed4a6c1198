import type { Located, Problems } from '../problems.ts'
import type { RawVars } from '../raw.ts'
import { decryptVault, VaultError, type VaultSecret } from './decrypt.ts'
import { VaultedValue } from './vaulted-value.ts'

/**
 * The vault passwords of one inventory load, and every value they revealed. Whatever a vault held
 * is a secret from the moment it is decrypted: `revealed` lists each string so that the run masks
 * it in every output, diff, error, plan and report.
 */
export class VaultKeyring {
  readonly revealed = new Set<string>()
  readonly #secrets: readonly VaultSecret[]

  constructor(secrets: readonly VaultSecret[]) {
    this.#secrets = secrets
  }

  /** The plaintext of a whole vaulted file, or undefined with a problem naming the file. */
  openFile(file: string, text: string, problems: Problems): string | undefined {
    const plain = this.open(text, { file }, problems)
    return plain === undefined ? undefined : plain.toString('utf8')
  }

  /** Marks every string in vars that came out of a vaulted file as revealed. */
  markRevealed(vars: RawVars): void {
    for (const v of vars) this.collect(v.value)
  }

  /**
   * The vars with each `!vault` value decrypted to its string (values and problems are located at
   * the var that holds them); vars without vaulted values are returned as they are.
   */
  openValues(vars: RawVars, problems: Problems, host?: string): RawVars {
    if (!vars.some((v) => holdsVault(v.value))) return vars
    return vars.map((v) => (holdsVault(v.value) ? { ...v, value: this.openTree(v.value, v.at, problems, host) } : v))
  }

  private openTree(value: unknown, at: Located, problems: Problems, host: string | undefined): unknown {
    if (value instanceof VaultedValue) {
      const plain = this.open(value.envelope, at, problems, host)
      if (plain === undefined) return null
      const text = plain.toString('utf8')
      this.revealed.add(text)
      return text
    }
    if (Array.isArray(value)) return value.map((item) => this.openTree(item, at, problems, host))
    if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, item]) => [k, this.openTree(item, at, problems, host)]))
    return value
  }

  private open(envelope: string, at: Located, problems: Problems, host?: string): Buffer | undefined {
    try {
      return decryptVault(envelope, this.#secrets)
    } catch (error) {
      if (!(error instanceof VaultError)) throw error
      problems.add(at, error.kind === 'format' ? `Ansible Vault: ${error.message}` : error.message, host)
      return undefined
    }
  }

  private collect(value: unknown): void {
    if (typeof value === 'string' && value !== '') this.revealed.add(value)
    else if (Array.isArray(value)) value.forEach((item) => this.collect(item))
    else if (isRecord(value)) Object.values(value).forEach((item) => this.collect(item))
  }
}

function holdsVault(value: unknown): boolean {
  if (value instanceof VaultedValue) return true
  if (Array.isArray(value)) return value.some(holdsVault)
  return isRecord(value) && Object.values(value).some(holdsVault)
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof VaultedValue)
}
