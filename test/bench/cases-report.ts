import { max, median } from './measure.ts'
import { wall, type Row, type Verdict } from './report.ts'
import type { CopyResult } from './copy-case.ts'
import type { ScalePoint, ScaleResult } from './scale.ts'
import type { WanResult, WanRow } from './wan.ts'

/** The WAN, scale and copy cases of one bench run, with the header facts their results block shows. */
export interface CasesResult {
  readonly date: string
  readonly machine: string
  readonly reps: number
  readonly wan?: WanResult
  readonly scale?: ScaleResult
  readonly copy?: CopyResult
}

/** Targets of issue 15. */
const WAN_TARGET = 1.2
const SCALE_FLOOR_TARGET = 1.15
const SCALE_GROWTH_TARGET = 5.5
const SCALE_RSS_TARGET_MB = 250
/** Issue 16: a no-change copy of a 1,000-file tree costs one round trip per host. */
const COPY_ROUND_TRIPS_TARGET = 1

const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '-')
const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '-')
const f0 = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '-')

function table(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const fmt = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[0] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ')
  return [fmt(head), ...rows.map(fmt)]
}

/** Round trips per host over every host of every run of a row: median, and the range. */
function roundTrips(row: WanRow): { median: number; min: number; max: number } {
  const all = row.roundTrips.flat()
  return { median: median(all), min: Math.min(...all), max: max(all) }
}

const flag = (row: Row): string => (row.problems.length > 0 ? ' (!)' : '')

/** The WAN case as text: seconds, ratio to the floor, and the round trips each host took. */
export function wanTable(w: WanResult): string {
  const rtt = (2 * w.delayMs) / 1000
  const floor = wall(w.floor)
  const line = (label: string, row: WanRow): string[] => {
    const rt = roundTrips(row)
    return [label + flag(row), f2(wall(row)), f2(wall(row) / floor), `${f0(rt.median)} (${rt.min}-${rt.max})`, f2(rt.median * rtt), f0(median(row.connections.flat())), String(row.runs.length)]
  }
  return [
    `WAN: ${w.hosts} hosts, ${w.delayMs} ms each way (${2 * w.delayMs} ms round trip) through a delay proxy per host on 127.0.0.1`,
    ...table(
      ['', 'median s', 'x floor', 'round trips/host (min-max)', `round trips x ${2 * w.delayMs} ms, s`, 'connections/host', 'runs'],
      [line('floor (ssh2, 5x true)', w.floor), line('havn no-change run', w.havn)],
    ),
  ].join('\n')
}

/** Round trips the copy step itself took per host: the no-change copy run's median less the no-step run's. */
function copyRoundTrips(c: CopyResult): number {
  return roundTrips(c.copy).median - roundTrips(c.baseline).median
}

/** The copy case as text: both runs' seconds and round trips per host, and the copy step's share. */
export function copyTable(c: CopyResult): string {
  const line = (label: string, row: WanRow): string[] => {
    const rt = roundTrips(row)
    return [label + flag(row), f2(wall(row)), `${f0(rt.median)} (${rt.min}-${rt.max})`, f0(median(row.connections.flat())), String(row.runs.length)]
  }
  return [
    `copy: a tree of ${c.files} files to ${c.hosts} hosts, ${c.delayMs} ms each way through a delay proxy per host`,
    ...table(
      ['', 'median s', 'round trips/host (min-max)', 'connections/host', 'runs'],
      [line('havn run, first copy (every file new)', c.first), line('havn run, no step (connect, lock, close)', c.baseline), line('havn run, no-change copy', c.copy)],
    ),
    `the copy step: ${f0(copyRoundTrips(c))} round trip(s) per host`,
  ].join('\n')
}

function peakRss(rows: readonly Row[]): number {
  return max(rows.flatMap((r) => r.runs.flatMap((x) => (x.maxRssMB === undefined ? [] : [x.maxRssMB]))))
}

/** The scale case as text: each row at both sizes, its growth, and its ratio to the floor at the large size. */
export function scaleTable(s: ScaleResult): string {
  const { base, large } = s
  const rows: [string, (p: ScalePoint) => Row][] = [
    ['floor (ssh2, 5x true)', (p) => p.floor],
    ['havn first run', (p) => p.havn.first],
    ['havn no-change run', (p) => p.havn.second],
  ]
  const lines = rows.map(([label, pick]) => {
    const b = pick(base)
    const l = pick(large)
    const cpu = median(l.runs.flatMap((x) => (x.cpuS === undefined ? [] : [x.cpuS])))
    return [label + flag(b) + flag(l), f2(wall(b)), f2(wall(l)), f2(wall(l) / wall(b)), f2(wall(l) / wall(large.floor)), f1(peakRss([l])), f2(cpu), String(l.runs.length)]
  })
  return [
    `scale: ${base.n} and ${large.n} hosts (havn with default forks), measured side by side`,
    ...table(['', `N=${base.n} s`, `N=${large.n} s`, `${large.n}/${base.n}`, `x floor at ${large.n}`, `peak RSS MB at ${large.n}`, `CPU s at ${large.n}`, 'runs'], lines),
  ].join('\n')
}

/** PASS/MISS of the WAN, scale and copy targets; rows that did not do what their workload requires are MISS too. */
export function casesVerdicts(r: CasesResult): Verdict[] {
  const out: Verdict[] = []
  const judge = (pass: boolean, text: string) => out.push({ pass, text })
  const broken = (where: string, label: string, row: Row) => {
    if (row.problems.length > 0) judge(false, `${where}: ${label} did not do what W5 requires: ${(row.problems[0] ?? '').replace(/\s+/g, ' ').slice(0, 240)}`)
  }
  if (r.wan) {
    const w = r.wan
    const ratio = wall(w.havn) / wall(w.floor)
    judge(ratio <= WAN_TARGET, `WAN (${w.hosts} hosts, ${w.delayMs} ms each way): havn no-change run is ${f2(ratio)}x the floor (target <= ${WAN_TARGET}x); round trips/host: floor ${f0(roundTrips(w.floor).median)}, havn ${f0(roundTrips(w.havn).median)}`)
    if (w.setupProblems.length > 0) judge(false, `WAN: converging the hosts through the proxies failed: ${(w.setupProblems[0] ?? '').slice(0, 240)}`)
    broken('WAN', 'floor', w.floor)
    broken('WAN', 'havn no-change run', w.havn)
  }
  if (r.scale) {
    const { base, large } = r.scale
    const vsFloor = wall(large.havn.second) / wall(large.floor)
    judge(vsFloor <= SCALE_FLOOR_TARGET, `N=${large.n}: havn no-change run is ${f2(vsFloor)}x the floor (target <= ${SCALE_FLOOR_TARGET}x)`)
    const growth = wall(large.havn.second) / wall(base.havn.second)
    judge(growth <= SCALE_GROWTH_TARGET, `N=${large.n}: havn no-change run takes ${f2(growth)}x its time at N=${base.n} (target <= ${SCALE_GROWTH_TARGET}x)`)
    const rss = peakRss([large.havn.first, large.havn.second])
    judge(rss <= SCALE_RSS_TARGET_MB, `N=${large.n}: havn controller peak RSS ${f1(rss)} MB (target <= ${SCALE_RSS_TARGET_MB} MB)`)
    for (const p of [base, large]) {
      broken(`N=${p.n} (scale)`, 'floor', p.floor)
      broken(`N=${p.n} (scale)`, 'havn first run', p.havn.first)
      broken(`N=${p.n} (scale)`, 'havn no-change run', p.havn.second)
    }
  }
  if (r.copy) {
    const c = r.copy
    const trips = copyRoundTrips(c)
    judge(trips <= COPY_ROUND_TRIPS_TARGET, `copy of an unchanged ${c.files}-file tree: ${f0(trips)} round trip(s) per host for the step (target <= ${COPY_ROUND_TRIPS_TARGET}); ${f2(wall(c.copy) - wall(c.baseline))} s more than a run with no step at ${c.hosts} hosts`)
    if (c.setupProblems.length > 0) judge(false, `copy: the first copy failed: ${(c.setupProblems[0] ?? '').slice(0, 240)}`)
    broken('copy', 'havn run with no step', c.baseline)
    broken('copy', 'havn no-change copy', c.copy)
  }
  return out
}

/** The WAN, scale and copy results block: header, tables, PASS/MISS lines. */
export function renderCases(r: CasesResult): string {
  const parts = [
    `havn benchmark: WAN, scale and copy cases (${r.date}; ${r.machine}; medians of ${r.reps} runs)`,
    ...(r.wan ? [wanTable(r.wan)] : []),
    ...(r.scale ? [scaleTable(r.scale)] : []),
    ...(r.copy ? [copyTable(r.copy)] : []),
    ['targets', ...casesVerdicts(r).map((v) => `  ${v.pass === undefined ? 'SKIP' : v.pass ? 'PASS' : 'MISS'}  ${v.text}`)].join('\n'),
  ]
  return `${parts.join('\n\n')}\n`
}
