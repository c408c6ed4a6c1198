import { Listr, type ListrTaskWrapper } from 'listr2'
import type { HostRecap, RunEvent } from '../engine/events.ts'
import { LineReporter } from './line.ts'
import type { Reporter, Write } from './reporter.ts'

type HostTask = ListrTaskWrapper<unknown, typeof import('listr2').DefaultRenderer, typeof import('listr2').SimpleRenderer>

interface Row {
  task?: HostTask
  done?: (failure?: Error) => void
  /** Set when the host finished before listr started its row. */
  outcome?: { failure?: Error }
  step?: string
  counts: { ok: number; changed: number; failed: number }
}

/**
 * The terminal view: one live row per host with its current role and step and its counts. Step
 * details (changes, diffs, output, errors) are written as whole blocks through the line reporter;
 * listr2 holds them while the live view runs and prints them after it, so no block is split.
 */
export class HumanReporter implements Reporter {
  private readonly rows = new Map<string, Row>()
  private readonly details: LineReporter
  private listr?: Promise<unknown>
  private readonly pendingRecap: RunEvent[] = []

  constructor(write: Write, opts: { color: boolean; diff: boolean }) {
    this.details = new LineReporter(write, opts)
  }

  onEvent(e: RunEvent): void {
    switch (e.type) {
      case 'run:start':
        this.details.onEvent(e)
        for (const h of e.hosts) this.rows.set(h, { counts: { ok: 0, changed: 0, failed: 0 } })
        this.start(e.hosts)
        return
      case 'step:start':
        this.update(e.host, (r) => (r.step = e.role ? `${e.role} › ${e.step}` : e.step))
        return
      case 'step:end':
        this.update(e.host, (r) => {
          if (e.status === 'failed') r.counts.failed++
          else if (e.status === 'ok') r.counts.ok++
          else if (e.status !== 'skipped') r.counts.changed++
          r.step = undefined
        })
        // Only steps with something to show get a block: a quiet ok needs no line.
        if (e.status !== 'ok' || e.stdout) this.details.onEvent(e)
        return
      case 'host:unreachable':
        this.finish(e.host, new Error(`unreachable: ${e.error.message}`))
        this.details.onEvent(e)
        return
      case 'recap':
        for (const [host, r] of Object.entries(e.hosts)) this.finish(host, failureOf(r))
        this.pendingRecap.push(e)
        return
      default:
        this.details.onEvent(e)
    }
  }

  async close(): Promise<void> {
    await this.listr
    for (const e of this.pendingRecap) this.details.onEvent(e)
  }

  private start(hosts: readonly string[]): void {
    const list = new Listr(
      hosts.map((host) => ({
        title: host,
        task: (_ctx: unknown, task: HostTask) =>
          new Promise<void>((resolve, reject) => {
            const row = this.rows.get(host)!
            row.task = task
            row.done = (failure) => (failure ? reject(failure) : resolve())
            this.render(host)
            if (row.outcome) this.finish(host, row.outcome.failure)
          }),
      })),
      { concurrent: true, exitOnError: false, registerSignalListeners: false, rendererOptions: { collapseErrors: false } },
    )
    this.listr = list.run().catch(() => undefined)
  }

  private update(host: string, fn: (r: Row) => void): void {
    const row = this.rows.get(host)
    if (!row) return
    fn(row)
    this.render(host)
  }

  private render(host: string): void {
    const row = this.rows.get(host)
    if (!row?.task) return
    const { ok, changed, failed } = row.counts
    const counts = `ok ${ok}  changed ${changed}${failed ? `  failed ${failed}` : ''}`
    row.task.title = `${host.padEnd(this.width())}  ${counts}${row.step ? `  ${row.step}` : ''}`
  }

  private finish(host: string, failure?: Error): void {
    const row = this.rows.get(host)
    if (!row) return
    if (!row.done) {
      row.outcome ??= { failure }
      return
    }
    row.step = undefined
    this.render(host)
    const done = row.done
    row.done = undefined
    done(failure)
  }

  private width(): number {
    return Math.max(4, ...[...this.rows.keys()].map((h) => h.length))
  }
}

function failureOf(r: HostRecap): Error | undefined {
  if (r.unreachable) return new Error('unreachable')
  if (r.failed > 0) return new Error(`${r.failed} step(s) failed`)
  return undefined
}
