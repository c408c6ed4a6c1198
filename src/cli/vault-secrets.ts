import { execFile } from 'node:child_process'
import { access, constants, readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { InputError } from '../engine/errors.ts'
import type { VaultSecret } from '../inventory/vault/decrypt.ts'
import { askHidden } from './secrets.ts'

/** The vault flags, as Ansible spells them. */
export interface VaultOptions {
  readonly vaultPasswordFile?: readonly string[]
  readonly vaultId?: readonly string[]
  readonly askVaultPass?: boolean
}

const SCRIPT_TIMEOUT_MS = 30_000

/**
 * The vault passwords the flags name, as Ansible reads them: `--vault-password-file FILE` (label
 * `default`), `--vault-id LABEL@FILE` or `LABEL@prompt` (a bare `FILE` is `default@FILE`), and
 * `--ask-vault-pass`. A password file that is executable is run and its output is the password;
 * either way surrounding whitespace is dropped. An unreadable file or failing script is an InputError.
 */
export async function readVaultSecrets(opts: VaultOptions): Promise<VaultSecret[]> {
  const secrets: VaultSecret[] = []
  for (const file of opts.vaultPasswordFile ?? []) secrets.push({ label: 'default', password: await passwordFrom(file), origin: `--vault-password-file ${file}` })
  for (const id of opts.vaultId ?? []) {
    const at = id.indexOf('@')
    const label = at < 0 ? 'default' : id.slice(0, at)
    const source = at < 0 ? id : id.slice(at + 1)
    const password = source === 'prompt'
      ? Buffer.from(await askHidden(`Vault password (${label}): `, '--vault-id LABEL@prompt', '--vault-id LABEL@FILE'))
      : await passwordFrom(source)
    secrets.push({ label, password, origin: `--vault-id ${id}` })
  }
  if (opts.askVaultPass) secrets.push({ label: 'default', password: Buffer.from(await askHidden('Vault password: ', '--ask-vault-pass', '--vault-password-file')), origin: '--ask-vault-pass' })
  for (const s of secrets) if (s.password.length === 0) throw InputError.at({}, `the vault password from ${s.origin} is empty`)
  return secrets
}

async function passwordFrom(file: string): Promise<Buffer> {
  const executable = await access(file, constants.X_OK).then(() => true, () => false)
  try {
    if (!executable) return Buffer.from((await readFile(file, 'utf8')).trim())
    const { stdout } = await promisify(execFile)(file, [], { timeout: SCRIPT_TIMEOUT_MS, encoding: 'utf8' })
    return Buffer.from(stdout.trim())
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string; killed?: boolean }
    const why = e.killed ? `did not finish within ${SCRIPT_TIMEOUT_MS / 1000} s` : e.code === 'ENOENT' ? 'does not exist' : (e.stderr?.trim().split('\n').slice(-3).join(' | ') || e.message)
    throw InputError.at({ file }, `cannot read the vault password: ${why}`)
  }
}
