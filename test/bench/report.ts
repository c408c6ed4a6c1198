import { max, median, type Measured } from './measure.ts'
import type { HavnKind } from './havn-run.ts'

/** Repeated measurements of one row (floor, a havn run type or an Ansible run type) at one N. */
export interface Row {
  readonly runs: readonly Measured[]
  /** What went wrong in any repetition (wrong exit code or recap); the figure is then suspect. */
  readonly problems: readonly string[]
}

/** Everything measured at one host count. */
export interface SizeResult {
  readonly n: number
  readonly floor: Row
  readonly havn: Record<HavnKind, Row>
  /** `havn apply` of a saved no-change plan (the check that made it is not counted). */
  readonly apply: Row
  readonly ansible?: Record<HavnKind, Row>
}

/** Start-up figures: `havn --help`, and loading W5 plus a 100-host inventory. */
export interface StartupResult {
  readonly helpS: readonly number[]
  readonly loadHosts: number
  /** Whole probe process, spawn to exit (node start, imports, tsx registration, inventory, playbook). */
  readonly loadWallS: readonly number[]
  /** Inside the probe: from before the first loader import to the loaded playbook. */
  readonly loadInProcessS: readonly number[]
}

/** The whole benchmark outcome. */
export interface BenchResult {
  readonly date: string
  readonly machine: string
  readonly reps: number
  readonly ansibleReps: number
  readonly ansible: string
  readonly sizes: readonly SizeResult[]
  readonly startup: StartupResult
}

const KINDS: readonly HavnKind[] = ['first', 'second', 'check']
const LABEL: Record<HavnKind, string> = { first: 'first run', second: 'no-change run', check: 'check run' }

/** Median wall seconds of a row. */
export function wall(row: Row): number {
  return median(row.runs.map((r) => r.wallS))
}

const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '-')
const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '-')
const pad = (s: string, w: number): string => s.padStart(w)

function line(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[0] ?? 0) : pad(c, widths[i] ?? 0))).join('  ')
}

/** The plain-text table of one N: median seconds, ratio to the floor, and Ansible/havn. */
export function sizeTable(s: SizeResult): string {
  const widths = [24, 9, 8, 13, 5]
  const floor = wall(s.floor)
  const out = [`N = ${s.n} hosts`, line(['', 'median s', 'x floor', 'ansible/havn', 'runs'], widths)]
  const flag = (row: Row): string => (row.problems.length > 0 ? '  (!) see problems' : '')
  out.push(line(['floor (ssh2, 5x true)', f2(floor), '1.00', '', String(s.floor.runs.length)], widths) + flag(s.floor))
  for (const k of KINDS) {
    const h = s.havn[k]
    const a = s.ansible?.[k]
    out.push(line([`havn ${LABEL[k]}`, f2(wall(h)), f2(wall(h) / floor), a ? f1(wall(a) / wall(h)) : 'n/a', String(h.runs.length)], widths) + flag(h))
  }
  out.push(line(['havn apply (no-change)', f2(wall(s.apply)), f2(wall(s.apply) / floor), 'n/a', String(s.apply.runs.length)], widths) + flag(s.apply))
  for (const k of KINDS) {
    const a = s.ansible?.[k]
    out.push(a ? line([`ansible ${LABEL[k]}`, f2(wall(a)), f2(wall(a) / floor), '', String(a.runs.length)], widths) + flag(a) : line([`ansible ${LABEL[k]}`, 'n/a', '', '', '0'], widths))
  }
  return out.join('\n')
}

/** Peak RSS (largest over repetitions) and median CPU seconds of each havn run type, per N. */
export function resourceTable(sizes: readonly SizeResult[]): string {
  const widths = [24, 6, 13, 14, 13]
  const out = ['havn controller resources (peak RSS = max over runs; CPU = median, own + reaped children such as ssh -G)', line(['', 'N', 'peak RSS MB', 'CPU s (own)', 'CPU s (child)'], widths)]
  for (const s of sizes) {
    const rows: [string, Row][] = [['floor', s.floor], ...KINDS.map((k): [string, Row] => [`havn ${LABEL[k]}`, s.havn[k]]), ['havn apply', s.apply]]
    for (const [label, row] of rows) {
      const rss = max(row.runs.flatMap((r) => (r.maxRssMB === undefined ? [] : [r.maxRssMB])))
      const cpu = median(row.runs.flatMap((r) => (r.cpuS === undefined ? [] : [r.cpuS])))
      const child = median(row.runs.flatMap((r) => (r.childCpuS === undefined ? [] : [r.childCpuS])))
      out.push(line([label, String(s.n), f1(rss), f2(cpu), f2(child)], widths))
    }
  }
  return out.join('\n')
}

/** Start-up figures as text. */
export function startupTable(st: StartupResult): string {
  return [
    'start-up (medians)',
    `  havn --help (whole process, ${st.helpS.length} runs):                      ${f2(median(st.helpS))} s`,
    `  load W5 + ${st.loadHosts}-host inventory, whole process (${st.loadWallS.length} runs):       ${f2(median(st.loadWallS))} s`,
    `  load W5 + ${st.loadHosts}-host inventory, inside the process (${st.loadInProcessS.length} runs):  ${f2(median(st.loadInProcessS))} s`,
  ].join('\n')
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length > 240 ? `${flat.slice(0, 240)}…` : flat
}

/** One target verdict. */
export interface Verdict {
  readonly pass: boolean | undefined
  readonly text: string
}

/** Evaluates every target of issue 5 against the figures; `pass` is undefined when not measured. */
export function verdicts(r: BenchResult): Verdict[] {
  const out: Verdict[] = []
  const judge = (ok: boolean | undefined, text: string) => out.push({ pass: ok, text })
  for (const n of [50, 100]) {
    const s = r.sizes.find((x) => x.n === n)
    if (!s) {
      judge(undefined, `no-change <= 1.3x floor and first <= 1.6x floor at N=${n}: not measured`)
      continue
    }
    const fl = wall(s.floor)
    const nc = wall(s.havn.second) / fl
    const first = wall(s.havn.first) / fl
    judge(nc <= 1.3, `N=${n}: havn no-change run is ${f2(nc)}x the floor (target <= 1.3x)`)
    judge(first <= 1.6, `N=${n}: havn first run is ${f2(first)}x the floor (target <= 1.6x)`)
    const apply = wall(s.apply) / wall(s.havn.second)
    judge(apply <= 1.1, `N=${n}: havn apply of a no-change plan is ${f2(apply)}x the no-change run (target <= 1.1x)`)
  }
  for (const s of r.sizes) {
    for (const k of KINDS) {
      const a = s.ansible?.[k]
      if (!a) {
        judge(undefined, `N=${s.n}: ${LABEL[k]} vs Ansible: not measured (ansible-core not installed: apt-get install ansible-core)`)
        continue
      }
      const ratio = wall(a) / wall(s.havn[k])
      judge(ratio >= 15, `N=${s.n}: havn ${LABEL[k]} is ${f1(ratio)}x faster than Ansible (target >= 15x)`)
    }
  }
  const s100 = r.sizes.find((x) => x.n === 100)
  if (s100) {
    const rss = max(KINDS.flatMap((k) => s100.havn[k].runs.flatMap((x) => (x.maxRssMB === undefined ? [] : [x.maxRssMB]))))
    judge(rss <= 150, `N=100: havn controller peak RSS ${f1(rss)} MB (target <= 150 MB)`)
  } else judge(undefined, 'N=100 peak RSS: not measured')
  const help = median(r.startup.helpS)
  judge(help < 0.3, `havn --help starts in ${f2(help)} s (target < 0.3 s)`)
  const load = median(r.startup.loadWallS)
  judge(load < 0.6, `loading W5 + ${r.startup.loadHosts}-host inventory takes ${f2(load)} s, whole process (target < 0.6 s)`)
  for (const s of r.sizes) {
    for (const [label, row] of [['floor', s.floor], ...KINDS.map((k) => [`havn ${LABEL[k]}`, s.havn[k]] as const), ['havn apply', s.apply] as const, ...(s.ansible ? KINDS.map((k) => [`ansible ${LABEL[k]}`, s.ansible?.[k]] as const) : [])] as const) {
      if (row && row.problems.length > 0) judge(false, `N=${s.n}: ${label} did not do what W5 requires: ${oneLine(row.problems[0] ?? '')}`)
    }
  }
  return out
}

/** The full plain-text report: header, one table per N, resources, start-up, PASS/MISS lines. */
export function render(r: BenchResult): string {
  const parts = [
    `havn benchmark W5 (${r.date}; ${r.machine}; medians of ${r.reps} runs for havn and floor, ${r.ansibleReps} for Ansible; ${r.ansible})`,
    ...r.sizes.map(sizeTable),
    resourceTable(r.sizes),
    startupTable(r.startup),
    ['targets', ...verdicts(r).map((v) => `  ${v.pass === undefined ? 'SKIP' : v.pass ? 'PASS' : 'MISS'}  ${v.text}`)].join('\n'),
  ]
  return `${parts.join('\n\n')}\n`
}
