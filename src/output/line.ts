import type { RunEvent } from '../engine/events.ts'
import { changeLines, palette, recapLine, statusLabel, type Palette } from './format.ts'
import type { Reporter, Write } from './reporter.ts'

/**
 * Plain lines for CI and logs: every line starts with its host, and each step's lines are written
 * in one block when the step ends, so parallel hosts never interleave inside a block.
 */
export class LineReporter implements Reporter {
  private readonly write: Write
  private readonly p: Palette
  private width = 0

  private readonly diff: boolean

  constructor(write: Write, opts: { color: boolean; diff: boolean }) {
    this.write = write
    this.p = palette(opts.color)
    this.diff = opts.diff
  }

  onEvent(e: RunEvent): void {
    switch (e.type) {
      case 'run:start':
        this.width = Math.max(4, ...e.hosts.map((h) => h.length))
        this.write(this.p.bold(`${e.mode === 'check' ? 'CHECK' : 'RUN'} ${e.playbook} on ${e.hosts.length} host(s)\n`))
        break
      case 'play:start':
        this.write(this.p.bold(`PLAY ${e.play} [${e.hosts.length} host(s)]\n`))
        break
      case 'batch:start':
        this.write(this.p.bold(`BATCH ${e.batch}/${e.of} of ${e.play}: ${e.hosts.join(', ')}\n`))
        break
      case 'run:stopped':
        this.write(this.p.red(`STOPPED ${e.reason}\n`))
        break
      case 'step:end': {
        const title = `${e.role ? `${e.role} › ${e.step}` : e.step}${e.tries ? ` (${e.tries} tries)` : ''}`
        const body: string[] = []
        // A command's own run is already told by the status; its output follows instead.
        for (const c of e.changes) if (c.action !== 'run') body.push(...changeLines(c, { diff: this.diff }))
        if (e.reason) body.push(`reason: ${e.reason}`)
        if (e.stdout) body.push(...trimEnd(e.stdout).split('\n'))
        if (e.error) {
          body.push(this.p.red(e.error.message))
          if (e.error.stderrTail) body.push(...e.error.stderrTail.split('\n').map((l) => `stderr: ${l}`))
        } else if (e.stderr && e.stderr.trim()) {
          body.push(...trimEnd(e.stderr).split('\n').map((l) => `stderr: ${l}`))
        }
        this.block(e.host, `${statusLabel(e.status, this.p)}${title}`, body)
        break
      }
      case 'host:unreachable':
        this.block(e.host, `${this.p.red('UNREACHABLE'.padEnd(13))}${e.error.message}`, [])
        break
      case 'recap': {
        const names = Object.keys(e.hosts)
        const width = Math.max(4, ...names.map((n) => n.length))
        const lines = [this.p.bold(`RECAP (${e.mode}, ${(e.durationMs / 1000).toFixed(1)}s)`)]
        if (e.stopped) lines.push(this.p.red(`stopped early: ${e.stopped}`))
        for (const n of names) {
          const r = e.hosts[n]
          if (r) lines.push(recapLine(n, r, width, this.p))
        }
        this.write(`${lines.join('\n')}\n`)
        break
      }
      default:
        break
    }
  }

  async close(): Promise<void> {}

  private block(host: string, head: string, body: string[]): void {
    const prefix = `${host.padEnd(this.width)} | `
    const lines = [prefix + head, ...body.map((l) => `${prefix}  ${l}`)]
    this.write(`${lines.join('\n')}\n`)
  }
}

function trimEnd(s: string): string {
  return s.replace(/\s+$/, '')
}
