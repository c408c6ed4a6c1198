import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

// The cache works only in the built havn (from TypeScript sources it is off), so the built CLI runs here.
const REPO = fileURLToPath(new URL('../../', import.meta.url))
const roots: string[] = []
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })))

function scratch(files: Record<string, string>): { dir: string; cache: string } {
  const root = mkdtempSync(join(tmpdir(), 'havn-invcache-'))
  roots.push(root)
  const dir = join(root, 'inv')
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
  return { dir, cache: join(root, 'cache') }
}

function inventory(dir: string, cache: string, host: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(REPO, 'bin/havn.js'), 'inventory', '-i', dir, '--host', host], { env: { ...process.env, HAVN_CACHE_DIR: cache }, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, out: stdout + stderr }))
  })
}

const entries = (cache: string): string[] => {
  const d = join(cache, 'inventory')
  return existsSync(d) ? readdirSync(d).map((f) => join(d, f)) : []
}

/** Rewrites every cached value's `needle` to `replacement`, keeping the rest of the entry. */
function tamper(cache: string, needle: string, replacement: string, extra: Record<string, unknown> = {}): void {
  for (const f of entries(cache)) {
    const entry = JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>
    writeFileSync(f, JSON.stringify({ ...entry, ...extra, value: JSON.parse(JSON.stringify(entry.value).replaceAll(needle, replacement)) }))
  }
}

const HOSTS = 'all:\n  hosts:\n    web1: { address: 10.0.0.1, tier: front }\n'
const GROUP_VARS = 'region: oslo\nports: [80, 443]\n'

describe('parsed YAML inventories are cached across runs', () => {
  it('answers from the cache while the text is unchanged, and parses again once it changes', async () => {
    const { dir, cache } = scratch({ 'hosts.yaml': HOSTS, 'group_vars/all.yaml': GROUP_VARS })
    const first = await inventory(dir, cache, 'web1')
    expect(first.code).toBe(0)
    expect(first.out).toMatch(/tier += "front"/)
    expect(first.out).toMatch(/region += "oslo"/)
    const files = entries(cache)
    expect(files).toHaveLength(2)
    for (const f of files) expect(statSync(f).mode & 0o777).toBe(0o600)
    expect(statSync(join(cache, 'inventory')).mode & 0o777).toBe(0o700)

    // A value changed inside the cache shows up: the second run did not parse the files.
    tamper(cache, 'front', 'cached-front')
    tamper(cache, 'oslo', 'cached-oslo')
    const second = await inventory(dir, cache, 'web1')
    expect(second.out).toMatch(/tier += "cached-front"/)
    expect(second.out).toMatch(/region += "cached-oslo"/)

    // Editing one file makes that file's entry stale; the other stays in use.
    writeFileSync(join(dir, 'hosts.yaml'), HOSTS.replace('front', 'back'))
    const third = await inventory(dir, cache, 'web1')
    expect(third.out).toMatch(/tier += "back"/)
    expect(third.out).toMatch(/region += "cached-oslo"/)
  })

  it('ignores entries written by another havn build and damaged entries', async () => {
    const { dir, cache } = scratch({ 'hosts.yaml': HOSTS })
    await inventory(dir, cache, 'web1')
    tamper(cache, 'front', 'stale', { build: 'another build' })
    expect((await inventory(dir, cache, 'web1')).out).toMatch(/tier += "front"/)
    for (const f of entries(cache)) writeFileSync(f, '{ not json')
    const again = await inventory(dir, cache, 'web1')
    expect(again.code).toBe(0)
    expect(again.out).toMatch(/tier += "front"/)
    expect(JSON.parse(readFileSync(entries(cache)[0]!, 'utf8'))).toHaveProperty('format')
  })

  it('keeps nothing for a file with problems, so every run reports them with their place', async () => {
    const { dir, cache } = scratch({ 'hosts.yaml': 'all:\n  hosts:\n    web1: {}\n    web1: {}\n' })
    for (let i = 0; i < 2; i++) {
      const r = await inventory(dir, cache, 'web1')
      expect(r.code).toBe(4)
      expect(r.out).toMatch(/hosts\.yaml:4.*duplicate key 'web1'/)
    }
    expect(entries(cache)).toEqual([])
  })

  it('keeps nothing for values JSON cannot hold exactly (a YAML 1.1 timestamp is a Date, .inf is Infinity)', async () => {
    const { dir, cache } = scratch({ 'hosts.yaml': 'all:\n  hosts:\n    web1: { since: 2001-12-14 }\n    web2: { limit: .inf }\n' })
    for (let i = 0; i < 2; i++) expect((await inventory(dir, cache, 'web1')).out).toMatch(/since += "2001-12-14T00:00:00.000Z"/)
    expect(entries(cache)).toEqual([])
    const { dir: dir2, cache: cache2 } = scratch({ 'hosts.yaml': 'all:\n  hosts:\n    web2: { limit: .inf }\n' })
    expect((await inventory(dir2, cache2, 'web2')).code).toBe(0)
    expect(entries(cache2)).toEqual([])
  })
})
