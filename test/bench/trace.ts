import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { median, measure, REPO } from './measure.ts'

const HOOK = fileURLToPath(new URL('./trace-hook.mjs', import.meta.url))

interface Exec {
  start: number
  open?: number
  end?: number
  writes?: number
}
interface ClientTrace {
  connectAt?: number
  readyAt?: number
  endAt?: number
  execs: Exec[]
}
interface Trace {
  exitAt: number
  clients: ClientTrace[]
  sshG: { start: number; end?: number }[]
}

/** A traced process's timeline, in seconds since its start (spans in ms). */
export interface Breakdown {
  readonly label: string
  readonly wallS: number
  readonly firstSshGS?: number
  readonly lastSshGS?: number
  readonly sshGCount: number
  readonly firstConnectS: number
  readonly lastReadyS: number
  readonly handshakeMedianMs: number
  readonly execsPerHost: number
  /** Exec channels plus the commands written to them (havn's shell takes one write per command). */
  readonly commandsPerHost: number
  readonly execSpanMedianMs: number
  readonly lastExecEndS: number
  readonly exitS: number
}

const sec = (ms: number): number => ms / 1000

/**
 * Runs `node args…` once with the trace hook and reduces its timeline: when `ssh -G`, handshakes and
 * channels happened, and how many channels and commands each host got.
 */
export async function traceRun(label: string, args: readonly string[]): Promise<Breakdown> {
  const dir = mkdtempSync(join(tmpdir(), 'havn-bench-trace-'))
  const file = join(dir, 'trace.json')
  try {
    const m = await measure(process.execPath, ['--import', HOOK, ...args], { rusage: false, env: { HAVN_BENCH_TRACE: file }, timeoutMs: 180_000, cwd: REPO })
    if (m.code !== 0 && m.code !== 2) throw new Error(`${label}: traced run exited ${String(m.code)}: ${m.stderr.slice(-300)}`)
    const t = JSON.parse(readFileSync(file, 'utf8')) as Trace
    const cs = t.clients.filter((c) => c.connectAt !== undefined)
    const execs = cs.flatMap((c) => c.execs)
    const done = execs.filter((e): e is Exec & { end: number; open: number } => e.end !== undefined && e.open !== undefined)
    const spans = cs.flatMap((c) => {
      const first = c.execs[0]?.start
      const last = c.execs.at(-1)?.end
      return first !== undefined && last !== undefined && c.readyAt !== undefined ? [last - c.readyAt] : []
    })
    return {
      label,
      wallS: m.wallS,
      ...(t.sshG.length ? { firstSshGS: sec(Math.min(...t.sshG.map((s) => s.start))), lastSshGS: sec(Math.max(...t.sshG.map((s) => s.end ?? s.start))) } : {}),
      sshGCount: t.sshG.length,
      firstConnectS: sec(Math.min(...cs.map((c) => c.connectAt ?? Infinity))),
      lastReadyS: sec(Math.max(...cs.map((c) => c.readyAt ?? 0))),
      handshakeMedianMs: median(cs.flatMap((c) => (c.readyAt !== undefined && c.connectAt !== undefined ? [c.readyAt - c.connectAt] : []))),
      execsPerHost: median(cs.map((c) => c.execs.length)),
      commandsPerHost: median(cs.map((c) => c.execs.reduce((n, e) => n + 1 + (e.writes ?? 0), 0))),
      execSpanMedianMs: median(spans),
      lastExecEndS: sec(Math.max(...done.map((e) => e.end))),
      exitS: sec(t.exitAt),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The breakdowns as a plain-text table. */
export function breakdownTable(rows: readonly Breakdown[]): string {
  const f = (x: number | undefined, d = 2): string => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d))
  const head = ['', 'wall s', 'ssh -G (n, first..last s)', 'connect..all ready s', 'handshake ms', 'channels/host', 'commands/host', 'ready..last channel ms', 'last channel s', 'exit s']
  const lines = rows.map((r) => [r.label, f(r.wallS), r.sshGCount ? `${r.sshGCount}, ${f(r.firstSshGS)}..${f(r.lastSshGS)}` : '0', `${f(r.firstConnectS)}..${f(r.lastReadyS)}`, f(r.handshakeMedianMs, 0), f(r.execsPerHost, 0), f(r.commandsPerHost, 0), f(r.execSpanMedianMs, 0), f(r.lastExecEndS), f(r.exitS)])
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)))
  const fmt = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[0] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ')
  return ['where the time goes (one traced run each, times since process start; not part of the medians)', fmt(head), ...lines.map(fmt)].join('\n')
}
