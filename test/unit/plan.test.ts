import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readPlan } from '../../src/cli/plan-command.ts'
import { InputError } from '../../src/engine/errors.ts'
import { canonicalJson, type PlanFile } from '../../src/plan/format.ts'
import { inputDifferences } from '../../src/plan/inputs.ts'
import { keyedHash, planKey } from '../../src/plan/key.ts'
import { changeDifferences, hostDifferences, type PlannedHost } from '../../src/plan/steps.ts'
import { HAVN_VERSION } from '../../src/version.ts'

describe('plan files', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'havn-plan-unit-'))
    process.env.HAVN_PLAN_KEY_FILE = join(dir, 'sub', 'plan-key')
  })
  afterEach(async () => {
    delete process.env.HAVN_PLAN_KEY_FILE
    await rm(dir, { recursive: true, force: true })
  })

  it('makes a private key once, and refuses to go on without one when asked not to make it', async () => {
    await expect(planKey(false)).rejects.toThrow(/no plan key at .*plan-key/)
    const made = await planKey(true)
    expect(made).toHaveLength(32)
    expect((await stat(join(dir, 'sub', 'plan-key'))).mode & 0o777).toBe(0o600)
    expect((await planKey(false)).equals(made)).toBe(true)
  })

  it('seals a plan: the same content in any key order verifies, an edit or another key is refused', async () => {
    const key = await planKey(true)
    const body: Omit<PlanFile, 'mac'> = {
      format: 'havn-plan', version: 1, havn: HAVN_VERSION, createdAt: '2026-12-03T12:00:00.000Z',
      playbook: { path: 'site.ts', files: { 'site.ts': keyedHash(key, 'x') } },
      inventory: { path: 'inv', files: {} }, options: { limit: 'db' }, events: [],
    }
    const reordered = Object.fromEntries(Object.entries(body).reverse())
    expect(canonicalJson(reordered)).toBe(canonicalJson(body))
    const path = join(dir, 'p.json')
    await writeFile(path, JSON.stringify({ ...body, mac: keyedHash(key, canonicalJson(body)) }))
    expect((await readPlan(path, key)).options).toEqual({ limit: 'db' })
    await writeFile(path, (await readFile(path, 'utf8')).replace('"db"', '"web"'))
    await expect(readPlan(path, key)).rejects.toThrow(/edited after it was made/)
    await expect(readPlan(path, Buffer.alloc(32, 1))).rejects.toBeInstanceOf(InputError)
    await writeFile(path, JSON.stringify({ format: 'havn-plan', version: 2 }))
    await expect(readPlan(path, key)).rejects.toThrow(/not a havn plan of version 1/)
  })

  it('names the files that changed, appeared or went away', () => {
    expect(inputDifferences({ a: '1', b: '2', c: '3' }, { a: '1', b: '9', d: '4' })).toEqual(['b changed', 'c was removed', 'd was added'])
  })

  it('says host, step, resource, field, the value expected and the value found', () => {
    const saved = [{ resource: 'file:/etc/x', action: 'create' as const, field: 'content', after: 'a\n' }, { resource: 'file:/etc/x', action: 'create' as const, field: 'mode', after: '0644' }]
    const now = [{ resource: 'file:/etc/x', action: 'update' as const, field: 'content', before: 'b\n', after: 'a\n' }, { resource: 'service:cron', action: 'update' as const, field: 'state', before: 'stopped', after: 'running' }]
    expect(changeDifferences('h1', 'file /etc/x', saved, now)).toEqual([
      'h1: file /etc/x: file:/etc/x content: the plan expected (none) -> "a\\n", found "b\\n" -> "a\\n"',
      'h1: file /etc/x: file:/etc/x mode: the plan changes it (to "0644"), now nothing would',
      'h1: file /etc/x: service:cron state: not in the plan, now it would change ("stopped" -> "running")',
    ])
  })

  it('finds a step that appeared or went away, and facts that changed under an equal step', () => {
    const step = (name: string, fingerprint = 'f1') => ({ step: name, status: 'ok' as const, changes: [], fingerprint })
    const host = (...steps: ReturnType<typeof step>[]): PlannedHost => ({ steps, unreachable: false })
    expect(hostDifferences('h1', host(step('a'), step('b')), host(step('a'), step('b')))).toEqual([])
    expect(hostDifferences('h1', host(step('a'), step('b')), host(step('a')))).toEqual(["h1: step 2 'b' of the plan is not planned any more"])
    expect(hostDifferences('h1', host(step('a')), host(step('a'), step('c')))).toEqual(["h1: step 2 'c' is not in the plan"])
    expect(hostDifferences('h1', host(step('a')), host(step('a', 'f2')))).toEqual(['h1: a: the facts it is planned from changed on the host'])
  })

  it('records the version package.json states', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    expect(HAVN_VERSION).toBe(pkg.version)
  })
})
