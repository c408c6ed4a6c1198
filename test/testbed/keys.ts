import { randomBytes, randomInt } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { sh as $ } from './sh.ts'

/** Creates an unencrypted ed25519 key pair at `path` (+ `.pub`) and returns the public key line. */
export async function generateKey(path: string, comment: string): Promise<string> {
  await $`ssh-keygen -q -t ed25519 -N ${''} -C ${comment} -f ${path}`
  return (await readFile(`${path}.pub`, 'utf8')).trim()
}

/** A random password of `length` alphanumerics (no shell or YAML metacharacters). */
export function randomPassword(length = 24): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789'
  let out = ''
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)]
  return out
}

/**
 * SHA-512 crypt(3) hash (`$6$…`) of `password`, as /etc/shadow wants it. The password travels on
 * stdin, never in argv, so it does not show in `ps`.
 */
export async function shadowHash(password: string): Promise<string> {
  const salt = randomBytes(12).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 16)
  const script = 'my $p = <STDIN>; chomp $p; print crypt($p, "\\$6\\$" . $ARGV[0] . "\\$")'
  const hash = (await $({ input: `${password}\n` })`perl -e ${script} ${salt}`).stdout.trim()
  if (!hash.startsWith(`$6$${salt}$`)) throw new Error('testbed: this machine\'s crypt(3) cannot make SHA-512 hashes')
  return hash
}
