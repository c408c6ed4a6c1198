import { runHavn, type BedFiles, type HavnKind } from './havn-run.ts'
import { measure, type Measured } from './measure.ts'
import type { Row } from './report.ts'
import { writeTargets, type BenchHost } from './workspace.ts'

/** Floor and havn's first and no-change runs at one host count of the scale case. */
export interface ScalePoint {
  readonly n: number
  readonly floor: Row
  readonly havn: Record<Exclude<HavnKind, 'check'>, Row>
}

/** The scale case: the same rows at a base size and at five times it, measured side by side. */
export interface ScaleResult {
  readonly base: ScalePoint
  readonly large: ScalePoint
}

/** What the scale case needs from the bench. */
export interface ScaleSetup {
  readonly hosts: readonly BenchHost[]
  /** The large size (500 by default); the base size is a fifth of it. */
  readonly n: number
  readonly reps: number
  readonly work: string
  readonly floorJs: string
  readonly files: BedFiles
  readonly reset: (n: number) => Promise<void>
  readonly say: (msg: string) => void
}

/** The base size the growth is judged against: a fifth of `n` (100 for 500). */
export function scaleBase(n: number): number {
  return Math.max(1, Math.round(n / 5))
}

type Acc = { runs: Measured[]; problems: string[] }
const acc = (): Acc => ({ runs: [], problems: [] })

/**
 * The scale case: after an unmeasured floor and havn check at `n` (warming caches), `reps`
 * repetitions each run, at the base size and then at `n`, the floor, a reset, havn's first run and
 * its no-change run (default forks, as a user runs it), so both sizes see the same drift.
 */
export async function measureScale(s: ScaleSetup): Promise<ScaleResult> {
  const sizes = [scaleBase(s.n), s.n]
  const targets = await Promise.all(sizes.map((n) => writeTargets(s.work, s.hosts, n)))
  const large = targets[1] as (typeof targets)[number]
  await measure(process.execPath, [s.floorJs, large.floorHosts, s.files.identityFile, s.files.knownHosts], { timeoutMs: 300_000 })
  await runHavn('check', large.inventory, s.n, s.files)
  const rows = sizes.map(() => ({ floor: acc(), first: acc(), second: acc() }))
  for (let r = 0; r < s.reps; r++) {
    for (const [i, n] of sizes.entries()) {
      const t = targets[i] as (typeof targets)[number]
      const row = rows[i] as (typeof rows)[number]
      const f = await measure(process.execPath, [s.floorJs, t.floorHosts, s.files.identityFile, s.files.knownHosts], { timeoutMs: 300_000 })
      row.floor.runs.push(f)
      if (f.code !== 0) row.floor.problems.push(`floor exit ${String(f.code)}: ${f.stdout.slice(0, 300)} ${f.stderr.slice(-300)}`)
      await s.reset(n)
      const first = await runHavn('first', t.inventory, n, s.files)
      row.first.runs.push(first)
      row.first.problems.push(...first.problems)
      const second = await runHavn('second', t.inventory, n, s.files)
      row.second.runs.push(second)
      row.second.problems.push(...second.problems)
      const problem = [...first.problems, ...second.problems][0]
      s.say(`scale N=${n} rep ${r + 1}/${s.reps}: floor ${f.wallS.toFixed(2)} s, havn first ${first.wallS.toFixed(2)} s, no-change ${second.wallS.toFixed(2)} s, peak RSS ${(second.maxRssMB ?? Number.NaN).toFixed(0)} MB${problem ? ` PROBLEM: ${problem}` : ''}`)
    }
  }
  const point = (i: number): ScalePoint => {
    const row = rows[i] as (typeof rows)[number]
    return { n: sizes[i] as number, floor: row.floor, havn: { first: row.first, second: row.second } }
  }
  return { base: point(0), large: point(1) }
}
