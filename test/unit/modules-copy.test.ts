import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { treeState } from '../../src/facts/tree.ts'
import { copyStep, type CopyArgs } from '../../src/modules/copy.ts'
import { localRemote } from '../support/local-remote.ts'
import { applyPlan, planOn } from '../support/plan-with.ts'

const root = mkdtempSync(join(tmpdir(), 'havn-copy-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let n = 0
const fresh = (): string => {
  const dir = join(root, String(n++))
  mkdirSync(dir)
  return dir
}

function sourceTree(): string {
  const src = fresh()
  mkdirSync(join(src, 'conf.d'))
  mkdirSync(join(src, 'bin'), { mode: 0o750 })
  chmodSync(join(src, 'bin'), 0o750)
  writeFileSync(join(src, 'app.conf'), 'port = 8080\n')
  writeFileSync(join(src, 'conf.d', '10-tuning.conf'), 'workers = 4\n')
  writeFileSync(join(src, 'bin', 'run'), '#!/bin/sh\necho run\n', { mode: 0o755 })
  chmodSync(join(src, 'bin', 'run'), 0o755)
  writeFileSync(join(src, 'logo.bin'), randomBytes(4096))
  return src
}

/** Plans, applies, checks the predicted tree against a real read, and that planning again changes nothing. */
async function converge(args: CopyArgs) {
  const remote = localRemote()
  const plan = await planOn(copyStep(args), remote)
  await applyPlan(plan, remote)
  const tree = plan.predict?.find((p) => p.key.startsWith('tree.state'))
  if (tree) expect(treeState.parse(await remote.exec(treeState.command(args.dest)), args.dest)).toMatchObject(tree.value as object)
  const again = localRemote()
  expect((await planOn(copyStep(args), again)).changes).toEqual([])
  return { plan, execs: again.log.length }
}

describe('copy: applied for real in a temp dir', () => {
  it('copies a tree into an absent directory, keeping the source modes, and then changes nothing in one read', async () => {
    const src = sourceTree()
    const dest = join(fresh(), 'app')
    const { plan, execs } = await converge({ src, dest })
    expect(plan.changes.filter((c) => c.field === 'content').map((c) => c.resource).sort()).toEqual([`file:${dest}/app.conf`, `file:${dest}/bin/run`, `file:${dest}/conf.d/10-tuning.conf`, `file:${dest}/logo.bin`])
    expect(readFileSync(join(dest, 'conf.d', '10-tuning.conf'), 'utf8')).toBe('workers = 4\n')
    expect(readFileSync(join(dest, 'logo.bin')).equals(readFileSync(join(src, 'logo.bin')))).toBe(true)
    expect(statSync(join(dest, 'bin')).mode & 0o7777).toBe(0o750)
    expect(statSync(join(dest, 'bin', 'run')).mode & 0o7777).toBe(0o755)
    expect(execs).toBe(1)
  })

  it('sends only the file that differs and leaves extra files alone, unless delete is set', async () => {
    const src = sourceTree()
    const dest = fresh()
    await converge({ src, dest })
    writeFileSync(join(src, 'app.conf'), 'port = 9090\n')
    writeFileSync(join(dest, 'stray.conf'), 'left by hand\n')
    mkdirSync(join(dest, 'old'))
    writeFileSync(join(dest, 'old', 'x'), 'x')
    const { plan } = await converge({ src, dest })
    // The host's side of a tree is read as sums only, so the change shows the old sum and the new text.
    expect(plan.changes).toEqual([{ resource: `file:${dest}/app.conf`, action: 'update', field: 'content', before: expect.stringMatching(/^sha256:[0-9a-f]{12}… \(12 bytes\)$/), after: 'port = 9090\n' }])
    expect(readdirSync(dest).sort()).toEqual(['app.conf', 'bin', 'conf.d', 'logo.bin', 'old', 'stray.conf'])
    const removed = await converge({ src, dest, delete: true })
    expect(removed.plan.changes).toEqual([
      { resource: `directory:${dest}/old`, action: 'delete' },
      { resource: `file:${dest}/stray.conf`, action: 'delete' },
    ])
    expect(readdirSync(dest).sort()).toEqual(['app.conf', 'bin', 'conf.d', 'logo.bin'])
  })

  it('sets the given modes on every file and directory', async () => {
    const src = sourceTree()
    const dest = fresh()
    await converge({ src, dest, mode: '0640', dirMode: 0o2750 })
    expect(statSync(join(dest, 'bin', 'run')).mode & 0o7777).toBe(0o640)
    expect(statSync(join(dest, 'conf.d')).mode & 0o7777).toBe(0o2750)
  })

  it('copies a single file given as a file: URL, with a diff for text', async () => {
    const src = join(fresh(), 'motd')
    writeFileSync(src, 'welcome\n')
    const dest = join(fresh(), 'motd')
    writeFileSync(dest, 'old\n')
    const { plan } = await converge({ src: pathToFileURL(src), dest })
    expect(plan.changes[0]).toMatchObject({ field: 'content', before: 'old\n', after: 'welcome\n' })
  })

  it('streams a 200 MB file: the controller never holds it in memory', async () => {
    const src = join(fresh(), 'big.img')
    const chunk = randomBytes(1 << 20)
    for (let i = 0; i < 200; i++) writeFileSync(src, chunk, { flag: i === 0 ? 'w' : 'a' })
    const dest = join(fresh(), 'big.img')
    const before = process.memoryUsage().rss
    let peak = before
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20)
    try {
      const remote = localRemote()
      await applyPlan(await planOn(copyStep({ src, dest }), remote), remote)
    } finally {
      clearInterval(timer)
    }
    expect(statSync(dest).size).toBe(200 << 20)
    expect(peak - before).toBeLessThan(100 << 20)
  })

  it('refuses a relative source, a missing one, and a tree onto a file, naming the path', async () => {
    await expect(planOn(copyStep({ src: 'files/app', dest: '/srv/app' }), localRemote())).rejects.toThrow('copy: src must be an absolute path or a file: URL')
    await expect(planOn(copyStep({ src: join(root, 'nope'), dest: '/srv/app' }), localRemote())).rejects.toThrow(`copy: cannot read ${join(root, 'nope')} on the controller: no such file or directory`)
    const file = join(fresh(), 'f')
    writeFileSync(file, 'x')
    await expect(planOn(copyStep({ src: sourceTree(), dest: file }), localRemote())).rejects.toThrow(`copy ${file}: the host has a file there, not a directory`)
  })
})
