import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'

/** PostgreSQL's default SCRAM iteration count (scram_iterations, PG 16+; fixed in 15). */
const ITERATIONS = 4096

function keys(password: string, salt: Buffer, iterations: number): { stored: Buffer; server: Buffer } {
  // PostgreSQL applies SASLprep; NFKC normalisation matches it for every ordinary password.
  const salted = pbkdf2Sync(Buffer.from(password.normalize('NFKC'), 'utf8'), salt, iterations, 32, 'sha256')
  const clientKey = createHmac('sha256', salted).update('Client Key').digest()
  return { stored: createHash('sha256').update(clientKey).digest(), server: createHmac('sha256', salted).update('Server Key').digest() }
}

/**
 * A SCRAM-SHA-256 verifier as PostgreSQL stores it in `pg_authid.rolpassword`
 * (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`), so the clear password never has to reach the host.
 */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = ITERATIONS): string {
  const k = keys(password, salt, iterations)
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${k.stored.toString('base64')}:${k.server.toString('base64')}`
}

/** True when `verifier` (a stored rolpassword) accepts `password`; false for md5, empty or malformed values. */
export function scramMatches(verifier: string, password: string): boolean {
  const m = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(verifier)
  if (!m?.[1] || !m[2] || !m[3] || !m[4]) return false
  const k = keys(password, Buffer.from(m[2], 'base64'), Number(m[1]))
  const stored = Buffer.from(m[3], 'base64')
  const server = Buffer.from(m[4], 'base64')
  return stored.length === 32 && server.length === 32 && timingSafeEqual(stored, k.stored) && timingSafeEqual(server, k.server)
}
