import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { expandLimit, recordRun } from '../../src/cli/run-record.ts'
import type { HostRecap } from '../../src/engine/events.ts'

const recap = (failed: number, unreachable = false): HostRecap => ({ ok: 1, changed: 0, wouldChange: 0, uncertain: 0, failed, skipped: 0, unreachable, notRun: false, durationMs: 5 })

describe('run records and --limit @', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'havn-runs-unit-'))
    process.env.HAVN_RUNS_DIR = dir
  })
  afterEach(async () => {
    delete process.env.HAVN_RUNS_DIR
    await rm(dir, { recursive: true, force: true })
  })

  it('records failed and unreachable hosts, keeps the last 20, and @last-failed selects them', async () => {
    await expect(expandLimit('@last-failed')).rejects.toThrow(/no run has been recorded here yet/)
    for (let i = 0; i < 22; i++) await recordRun({ command: 'run', playbook: 'site.ts', recap: { a: recap(0), b: recap(1), c: recap(0, true) } })
    expect((await readdir(dir)).filter((n) => n !== 'last.json')).toHaveLength(20)
    expect(JSON.parse(await readFile(join(dir, 'last.json'), 'utf8'))).toMatchObject({ failed: ['b'], unreachable: ['c'] })
    expect(await expandLimit('@last-failed')).toBe('b,c')
    await recordRun({ command: 'run', playbook: 'site.ts', recap: { a: recap(0) } })
    await expect(expandLimit('@last-failed')).rejects.toThrow(/nothing failed in the last run/)
  })

  it('reads a retry file, skipping blank and comment lines; leaves other patterns alone', async () => {
    const file = join(dir, 'site.retry')
    await writeFile(file, 'web1\n\n# gone\nweb2\nweb1\n')
    expect(await expandLimit(`@${file}`)).toBe('web1,web2')
    expect(await expandLimit('web*,!web3')).toBe('web*,!web3')
    await writeFile(file, '# none\n')
    await expect(expandLimit(`@${file}`)).rejects.toThrow(/names no host/)
  })
})
