import { createHash, randomBytes } from 'node:crypto'
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs'
import { unlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream } from 'node:stream/web'
import type { SourceFile } from './file.ts'

/** The SHA-256 a download must have: 64 hex digits (case ignored), given back in lower case. */
export function checkSha256(sha256: string, subject: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(sha256)) throw new Error(`${subject}: sha256 must be 64 hexadecimal digits, got ${JSON.stringify(sha256)}`)
  return sha256.toLowerCase()
}

/** What the controller fetches: the URL, the headers (values revealed), the sum it must have. */
export interface ControllerFetch {
  readonly url: string
  /** The URL as messages show it (see {@link maskUrl}; `***` for a secret one). */
  readonly shown: string
  readonly headers: Readonly<Record<string, string>>
  readonly sha256: string
  readonly timeoutS?: number
  /** Names the step in errors (`download /opt/x`) and the host it fetches for. */
  readonly subject: string
  readonly host: string
}

let dir: string | undefined
const fetched = new Map<string, Promise<SourceFile>>()

/** The controller's folder for fetched files, removed when the process exits. */
function spool(): string {
  if (dir === undefined) {
    const made = mkdtempSync(join(tmpdir(), 'havn-download-'))
    process.once('exit', () => rmSync(made, { recursive: true, force: true }))
    dir = made
  }
  return dir
}

/**
 * Fetches a URL once per run into a private controller file, streamed and summed as it arrives,
 * and fails (removing the file) unless its SHA-256 is the one asked for. Hosts that need the same
 * URL and sum share the fetch; a failed fetch is forgotten, so a retry fetches again.
 */
export function fetchOnController(f: ControllerFetch): Promise<SourceFile> {
  const key = `${f.sha256} ${f.url}`
  let hit = fetched.get(key)
  if (!hit) {
    hit = fetchFile(f)
    fetched.set(key, hit)
    hit.catch(() => fetched.delete(key))
  }
  return hit
}

async function fetchFile(f: ControllerFetch): Promise<SourceFile> {
  const shown = f.shown
  const u = new URL(f.url)
  const headers: Record<string, string> = { ...f.headers }
  // fetch() refuses URLs holding credentials: they become the Basic authorization they stand for.
  if (u.username !== '' || u.password !== '') {
    headers.authorization ??= `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`
    u.username = ''
    u.password = ''
  }
  const bare = u.toString()
  const file = join(spool(), randomBytes(12).toString('hex'))
  const hash = createHash('sha256')
  let size = 0
  try {
    const res = await fetch(u, { headers, redirect: 'follow', ...(f.timeoutS !== undefined ? { signal: AbortSignal.timeout(f.timeoutS * 1000) } : {}) })
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status} ${res.statusText}`.trim())
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk)
        size += chunk.length
        done(null, chunk)
      },
    })
    await pipeline(Readable.fromWeb(res.body as ReadableStream<Uint8Array>), count, createWriteStream(file, { mode: 0o600 }))
  } catch (err) {
    await unlink(file).catch(() => undefined)
    const why = err instanceof Error ? (err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message) : String(err)
    throw new Error(`${f.subject}: the controller could not fetch ${shown} for host ${f.host}: ${why.replaceAll(f.url, shown).replaceAll(bare, shown)}`)
  }
  const actual = hash.digest('hex')
  if (actual !== f.sha256) {
    await unlink(file).catch(() => undefined)
    throw new Error(`${f.subject}: sha256 mismatch for ${shown} (fetched by the controller for host ${f.host}): expected ${f.sha256}, got ${actual}`)
  }
  return { file, sha256: actual, size }
}
