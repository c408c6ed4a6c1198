import { createHash, createHmac } from 'node:crypto'
import { mkdir, open, readFile, stat, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import { parsedFile } from './file-cache.ts'
import { globToRegExp } from './glob.ts'
import { sleep } from './limiter.ts'

/**
 * OpenSSH known_hosts support: plain, `[host]:port`, comma lists, `*`/`?` wildcards, `!` negation,
 * hashed `|1|salt|hmac` entries and `@revoked`. `@cert-authority` lines are ignored because ssh2
 * cannot negotiate host certificates; such hosts are treated as unknown.
 */

/** One parsed known_hosts line. */
export interface KnownHostEntry {
  file: string
  line: number
  marker?: 'revoked' | 'cert-authority'
  patterns: string
  keyType: string
  key: Buffer
}

/** Verdict for one offered host key. */
export type HostKeyVerdict =
  | { status: 'ok'; entry: KnownHostEntry }
  | { status: 'revoked'; entry: KnownHostEntry }
  | { status: 'mismatch'; entry: KnownHostEntry }
  | { status: 'unknown' }

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`
}

/** `SHA256:<base64 without padding>` of a raw SSH public key blob, as `ssh-keygen -l` prints it. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`
}

/** Key type name embedded at the start of a raw SSH public key blob. */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return ''
  const len = keyBlob.readUInt32BE(0)
  return keyBlob.subarray(4, 4 + len).toString('latin1')
}

/** Parses known_hosts text; malformed lines are skipped, as ssh does. */
export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = []
  text.split('\n').forEach((raw, i) => {
    const fields = raw.trim().split(/\s+/)
    if (!fields[0] || fields[0].startsWith('#')) return
    let marker: KnownHostEntry['marker']
    if (fields[0].startsWith('@')) {
      if (fields[0] === '@revoked') marker = 'revoked'
      else if (fields[0] === '@cert-authority') marker = 'cert-authority'
      else return
      fields.shift()
    }
    const [patterns, keyType, b64] = fields
    if (!patterns || !keyType || !b64) return
    const key = Buffer.from(b64, 'base64')
    if (key.length === 0) return
    out.push({ file, line: i + 1, ...(marker ? { marker } : {}), patterns, keyType, key })
  })
  return out
}

function hashedMatch(pattern: string, name: string): boolean {
  const parts = pattern.split('|')
  const salt = parts[2]
  const hash = parts[3]
  if (parts[1] !== '1' || salt === undefined || hash === undefined) return false
  const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64')
  return mac === hash
}

/** OpenSSH match_hostname: true if some positive pattern matches and no `!` pattern does. */
export function hostMatches(patterns: string, name: string): boolean {
  if (patterns.startsWith('|')) return hashedMatch(patterns, name)
  let positive = false
  for (const p of patterns.split(',')) {
    if (!p) continue
    const negated = p.startsWith('!')
    const glob = negated ? p.slice(1) : p
    // Most entries are literal names; a plain comparison spares a RegExp per entry per lookup.
    const hit = /[*?]/.test(glob) ? globToRegExp(glob, 'i').test(name) : glob.toLowerCase() === name.toLowerCase()
    if (hit) {
      if (negated) return false
      positive = true
    }
  }
  return positive
}

interface Index {
  /** Entries under each literal name of their patterns, with their position in the list. */
  readonly byName: Map<string, [number, KnownHostEntry][]>
  /** Hashed, wildcard and negated entries: matched one by one. */
  readonly rest: [number, KnownHostEntry][]
}

const indexes = new WeakMap<readonly KnownHostEntry[], Index>()

/** A lookup index of a parsed list, built once: a run looks up every host in the same list. */
function indexOf(entries: readonly KnownHostEntry[]): Index {
  let ix = indexes.get(entries)
  if (ix) return ix
  ix = { byName: new Map(), rest: [] }
  entries.forEach((e, i) => {
    if (e.marker === 'cert-authority') return
    if (e.patterns.startsWith('|') || /[*?!]/.test(e.patterns)) return void ix.rest.push([i, e])
    for (const name of new Set(e.patterns.toLowerCase().split(',').filter(Boolean))) {
      const list = ix.byName.get(name)
      if (list) list.push([i, e])
      else ix.byName.set(name, [[i, e]])
    }
  })
  indexes.set(entries, ix)
  return ix
}

/** Entries (excluding @cert-authority) whose host patterns match `name`, in file order. */
export function entriesFor(entries: readonly KnownHostEntry[], name: string): KnownHostEntry[] {
  const ix = indexOf(entries)
  const hits = [...(ix.byName.get(name.toLowerCase()) ?? []), ...ix.rest.filter(([, e]) => hostMatches(e.patterns, name))]
  return hits.sort((a, b) => a[0] - b[0]).map(([, e]) => e)
}

/** Strict verdict for `keyBlob` offered by `name`: revoked beats everything; any other known key for the name is a mismatch. */
export function checkHostKey(entries: readonly KnownHostEntry[], name: string, keyBlob: Buffer): HostKeyVerdict {
  const mine = entriesFor(entries, name)
  const revoked = entries.find((e) => e.marker === 'revoked' && e.key.equals(keyBlob) && hostMatches(e.patterns, name))
  if (revoked) return { status: 'revoked', entry: revoked }
  const plain = mine.filter((e) => !e.marker)
  const same = plain.find((e) => e.key.equals(keyBlob))
  if (same) return { status: 'ok', entry: same }
  const type = keyTypeOf(keyBlob)
  const conflict = plain.find((e) => e.keyType === type) ?? plain[0]
  if (conflict) return { status: 'mismatch', entry: conflict }
  return { status: 'unknown' }
}

/** Reads and parses several known_hosts files; missing files count as empty. */
export async function loadKnownHosts(files: readonly string[]): Promise<KnownHostEntry[]> {
  const parts = files.map((f) => {
    try {
      return parsedFile(f, (data) => parseKnownHosts(data.toString('utf8'), f))
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return NO_ENTRIES
      throw e
    }
  })
  // The same list while no file changed, so its lookup index is built once.
  const key = files.join('\0')
  const last = combined.get(key)
  if (last && last.parts.length === parts.length && last.parts.every((p, i) => p === parts[i])) return last.all
  const all = parts.flat()
  combined.set(key, { parts, all })
  return all
}

const NO_ENTRIES: KnownHostEntry[] = []
const combined = new Map<string, { parts: KnownHostEntry[][]; all: KnownHostEntry[] }>()

const RSA_ALGOS = ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']
const ALL_ALGOS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', ...RSA_ALGOS]

/** Host key algorithms with the types already known for `name` first, so ssh2 negotiates a key we can verify. */
export function preferredHostKeyAlgorithms(entries: readonly KnownHostEntry[], name: string): string[] {
  const known = new Set(entriesFor(entries, name).filter((e) => !e.marker).map((e) => e.keyType))
  const first = ALL_ALGOS.filter((a) => known.has(RSA_ALGOS.includes(a) ? 'ssh-rsa' : a))
  return [...first, ...ALL_ALGOS.filter((a) => !first.includes(a))]
}

const appendQueues = new Map<string, Promise<unknown>>()

async function withLockFile<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${file}.lock`
  const deadline = Date.now() + 10_000
  for (let attempt = 0; ; attempt++) {
    try {
      const h = await open(lock, 'wx', 0o600)
      await h.writeFile(String(process.pid))
      await h.close()
      break
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      // A lock older than 30 s belongs to a crashed process: break it rather than wait forever.
      const st = await stat(lock).catch(() => undefined)
      if (st && Date.now() - st.mtimeMs > 30_000) await unlink(lock).catch(() => undefined)
      if (Date.now() > deadline) throw new Error(`could not lock ${lock} within 10 s; remove it if no other havn run is active`)
      await sleep(Math.min(10 * 2 ** attempt, 200))
    }
  }
  try {
    return await fn()
  } finally {
    await unlink(lock).catch(() => undefined)
  }
}

/**
 * Appends `name keytype base64` to `file` unless an equal entry is already there. Safe under many
 * parallel callers: in-process calls are serialized per file, other processes are excluded by a
 * `<file>.lock` lock file, the file is re-read before writing, and each line is one O_APPEND write.
 * Returns true if a line was written.
 */
export function appendKnownHost(file: string, name: string, keyBlob: Buffer): Promise<boolean> {
  const prev = appendQueues.get(file) ?? Promise.resolve()
  const next = prev.catch(() => undefined).then(async () => {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 })
    return withLockFile(file, async () => {
      let text = ''
      try {
        text = await readFile(file, 'utf8')
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
      }
      if (checkHostKey(parseKnownHosts(text, file), name, keyBlob).status === 'ok') return false
      const sep = text.length > 0 && !text.endsWith('\n') ? '\n' : ''
      const h = await open(file, 'a', 0o600)
      try {
        await h.write(`${sep}${name} ${keyTypeOf(keyBlob)} ${keyBlob.toString('base64')}\n`)
      } finally {
        await h.close()
      }
      return true
    })
  })
  appendQueues.set(file, next)
  return next
}
