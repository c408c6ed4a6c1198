import { createHmac, randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'

/**
 * Where the plan key lives: `HAVN_PLAN_KEY_FILE`, else `$XDG_CONFIG_HOME/havn/plan-key`
 * (`~/.config/havn/plan-key`). Whoever applies a plan needs the key that made it.
 */
export function planKeyPath(): string {
  if (process.env.HAVN_PLAN_KEY_FILE) return process.env.HAVN_PLAN_KEY_FILE
  return join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'havn', 'plan-key')
}

/**
 * The key that seals plans and hashes what they must not show. `create` makes a new random key
 * (mode 0600) when there is none; without it a missing key is an error naming the path.
 */
export async function planKey(create: boolean): Promise<Buffer> {
  const path = planKeyPath()
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw new Error(`cannot read the plan key ${path}: ${err.message}`)
  })
  if (text !== undefined) {
    const key = Buffer.from(text.trim(), 'hex')
    if (key.length < 32) throw new Error(`the plan key ${path} is not 64 hex digits`)
    return key
  }
  if (!create) throw new Error(`no plan key at ${path}: apply a plan where it was made, or copy that key there (or point HAVN_PLAN_KEY_FILE at it)`)
  const key = randomBytes(32)
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  await writeFile(path, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' })
  return key
}

/** A keyed hash (HMAC-SHA256, hex): a plan can compare values with it and never reveals them. */
export function keyedHash(key: Buffer, data: string | Buffer): string {
  return createHmac('sha256', key).update(data).digest('hex')
}
