import { createDecipheriv, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto'

/** One vault password, with the vault id label it was given for (`--vault-id label@file`). */
export interface VaultSecret {
  readonly label: string
  readonly password: Buffer
  /** Where the password came from, for messages (`--vault-password-file x`, `prompt`). */
  readonly origin: string
}

/** Why a vault could not be opened; `kind` tells the user what to change. */
export class VaultError extends Error {
  readonly kind: 'format' | 'password' | 'no-password'

  constructor(kind: VaultError['kind'], message: string) {
    super(message)
    this.kind = kind
  }
}

const HEADER = /^\$ANSIBLE_VAULT;(1\.[12]);([A-Za-z0-9]+)(?:;([^\s;]+))?\s*$/

/** Whether `text` is an Ansible Vault envelope (a whole file or one `!vault` value). */
export function isVaulted(text: string): boolean {
  return text.trimStart().startsWith('$ANSIBLE_VAULT;')
}

/**
 * Opens an Ansible Vault envelope (formats 1.1 and 1.2, cipher AES256) as ansible-core does: the body
 * is hex of `hex(salt)\nhex(hmac)\nhex(ciphertext)`; PBKDF2-HMAC-SHA256 with 10,000 iterations
 * derives 80 bytes (AES key, HMAC key, counter IV); the HMAC-SHA256 of the ciphertext must match
 * before AES-256-CTR decrypts it and PKCS#7 padding is removed. Secrets whose label matches a 1.2
 * envelope's vault id are tried first, then the others. Throws a VaultError saying what is wrong.
 */
export function decryptVault(envelope: string, secrets: readonly VaultSecret[]): Buffer {
  const lines = envelope.trim().split(/\r?\n/)
  const header = HEADER.exec(lines[0]?.trim() ?? '')
  if (!header) throw new VaultError('format', 'not a vault: the first line must be $ANSIBLE_VAULT;1.1;AES256 or $ANSIBLE_VAULT;1.2;AES256;<vault id>')
  if (header[2] !== 'AES256') throw new VaultError('format', `vault cipher ${header[2]} is not supported; Ansible writes AES256`)
  if (secrets.length === 0) throw new VaultError('no-password', 'encrypted with Ansible Vault, and no vault password was given; use --vault-password-file FILE, --vault-id LABEL@FILE or --ask-vault-pass')
  const body = unhex(lines.slice(1).map((l) => l.trim()).join(''), 'envelope').toString('latin1').split('\n')
  if (body.length < 3) throw new VaultError('format', 'vault body must hold salt, HMAC and ciphertext')
  const salt = unhex(body[0] ?? '', 'salt')
  const mac = unhex(body[1] ?? '', 'HMAC')
  const ciphertext = unhex(body.slice(2).join('\n'), 'ciphertext')
  const id = header[3]
  const ordered = [...secrets.filter((s) => s.label === id), ...secrets.filter((s) => s.label !== id)]
  for (const secret of ordered) {
    const derived = pbkdf2Sync(secret.password, salt, 10_000, 80, 'sha256')
    const expected = createHmac('sha256', derived.subarray(32, 64)).update(ciphertext).digest()
    if (expected.length !== mac.length || !timingSafeEqual(expected, mac)) continue
    const decipher = createDecipheriv('aes-256-ctr', derived.subarray(0, 32), derived.subarray(64, 80))
    return unpad(Buffer.concat([decipher.update(ciphertext), decipher.final()]))
  }
  const tried = ordered.map((s) => s.origin).join(', ')
  throw new VaultError('password', `encrypted with Ansible Vault, and the vault password${secrets.length > 1 ? 's' : ''} given (${tried}) do${secrets.length > 1 ? '' : 'es'} not open it${id ? `; it was encrypted for vault id '${id}'` : ''}`)
}

function unhex(text: string, what: string): Buffer {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) throw new VaultError('format', `vault ${what} is not valid hexadecimal`)
  return Buffer.from(text, 'hex')
}

function unpad(data: Buffer): Buffer {
  const n = data[data.length - 1] ?? 0
  if (n < 1 || n > 16 || n > data.length || !data.subarray(data.length - n).every((b) => b === n)) {
    throw new VaultError('format', 'vault plaintext has invalid padding')
  }
  return data.subarray(0, data.length - n)
}
