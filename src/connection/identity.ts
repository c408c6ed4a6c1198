import { readFile } from 'node:fs/promises'
import ssh2 from 'ssh2'
import { parsedFile } from './file-cache.ts'
import type { IdentityCallback, ParsedKey, PublicKeyEntry } from 'ssh2'

const { OpenSSHAgent, utils } = ssh2

/** A private key read from disk, ready for publickey auth. */
export interface LoadedIdentity {
  path: string
  key: ParsedKey
  /** Raw public key blob, used to match agent identities. */
  publicBlob: Buffer
}

/**
 * Reads identity files. Missing files are skipped silently unless `required` (an explicitly
 * requested file); an encrypted key is kept only as a public key so the agent can sign with it.
 */
export async function loadIdentities(paths: readonly string[], required: boolean): Promise<{ loaded: LoadedIdentity[]; publicOnly: Buffer[] }> {
  const loaded: LoadedIdentity[] = []
  const publicOnly: Buffer[] = []
  for (const path of paths) {
    let parsed: ReturnType<typeof utils.parseKey>
    try {
      parsed = parsedFile(path, (data) => utils.parseKey(data))
    } catch (e) {
      if (!required && (e as NodeJS.ErrnoException).code === 'ENOENT') continue
      throw new Error(`cannot read identity file ${path}: ${(e as Error).message}`)
    }
    const key = Array.isArray(parsed) ? parsed[0] : parsed
    if (key instanceof Error || key === undefined) {
      // Passphrase-protected keys cannot be used without a prompt; fall back to the agent's copy via the .pub file.
      const pub = await readFile(`${path}.pub`, 'utf8').catch(() => undefined)
      const pk = pub ? utils.parseKey(pub) : undefined
      const pkey = Array.isArray(pk) ? pk[0] : pk
      if (pkey && !(pkey instanceof Error)) publicOnly.push(pkey.getPublicSSH())
      else if (required) throw new Error(`cannot use identity file ${path}: ${key instanceof Error ? key.message : 'unparseable'}`)
      continue
    }
    loaded.push({ path, key, publicBlob: key.getPublicSSH() })
  }
  return { loaded, publicOnly }
}

function publicBlobOf(k: ParsedKey | PublicKeyEntry): Buffer | undefined {
  if ('getPublicSSH' in k) return k.getPublicSSH()
  const inner = 'getPublicSSH' in k.pubKey ? k.pubKey : k.pubKey.pubKey
  if (typeof inner === 'object' && inner !== null && 'getPublicSSH' in inner) return inner.getPublicSSH()
  const parsed = inner === undefined ? undefined : utils.parseKey(inner)
  return parsed && !(parsed instanceof Error) && !Array.isArray(parsed) ? parsed.getPublicSSH() : undefined
}

/** OpenSSH agent restricted to the given public keys (IdentitiesOnly), so a crowded agent cannot exhaust MaxAuthTries. */
export class FilteredAgent extends OpenSSHAgent {
  readonly #allowed: readonly Buffer[]

  constructor(socketPath: string, allowed: readonly Buffer[]) {
    super(socketPath)
    this.#allowed = allowed
  }

  override getIdentities(cb: IdentityCallback<ParsedKey>): void {
    super.getIdentities((err, keys) => {
      if (err || !keys) return cb(err, keys)
      cb(undefined, keys.filter((k) => {
        const blob = publicBlobOf(k)
        return blob !== undefined && this.#allowed.some((a) => a.equals(blob))
      }))
    })
  }
}

/** An agent for auth: all identities, or only `allowed` when a specific identity is configured. */
export function makeAgent(socketPath: string, allowed?: readonly Buffer[]): InstanceType<typeof OpenSSHAgent> {
  return allowed ? new FilteredAgent(socketPath, allowed) : new OpenSSHAgent(socketPath)
}
