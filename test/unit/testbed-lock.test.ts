import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { withLock } from '../testbed/cache-lock.ts'
import { recipeKey, REPO_PACKAGES } from '../testbed/base-recipe.ts'
import { requireTools } from '../testbed/preflight.ts'

describe('withLock', () => {
  it('serialises holders of the same lock file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'havn-lock-'))
    const events: string[] = []
    const hold = (id: string) => withLock(join(dir, 'lock'), async () => {
      events.push(`${id}+`)
      await new Promise((r) => setTimeout(r, 150))
      events.push(`${id}-`)
      return id
    })
    expect(await Promise.all([hold('a'), hold('b'), hold('c')])).toEqual(['a', 'b', 'c'])
    for (let i = 0; i < events.length; i += 2) expect((events[i] ?? '').slice(0, 1)).toBe((events[i + 1] ?? '').slice(0, 1))
    await rm(dir, { recursive: true, force: true })
  })
  it('releases the lock when the work throws', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'havn-lock-'))
    await expect(withLock(join(dir, 'lock'), async () => { throw new Error('boom') })).rejects.toThrow('boom')
    expect(await withLock(join(dir, 'lock'), async () => 'again')).toBe('again')
    await rm(dir, { recursive: true, force: true })
  })
})

describe('recipeKey', () => {
  it('changes when the repository package list changes', () => {
    const before = recipeKey('bookworm')
    REPO_PACKAGES.push('nginx')
    try {
      expect(recipeKey('bookworm')).not.toBe(before)
    } finally {
      REPO_PACKAGES.pop()
    }
    expect(recipeKey('bookworm')).toBe(before)
    expect(recipeKey('trixie')).not.toBe(before)
  })
})

describe('requireTools', () => {
  it.runIf(process.getuid?.() === 0)('names every missing command and the package to install', async () => {
    await expect(requireTools([{ command: 'sh', pkg: 'dash' }, { command: 'havn-no-such-tool', pkg: 'havn-pkg' }]))
      .rejects.toThrow(/missing havn-no-such-tool; install with: apt-get install -y havn-pkg/)
  })
})
