import type { Change, HostRecap, StepStatus } from '../engine/events.ts'
import { diffStat, isTextChange, unifiedDiff } from './diff.ts'

/** Minimal ANSI styling that becomes a no-op when colour is off. */
export function palette(color: boolean) {
  const wrap = (code: string) => (s: string) => (color ? `\u001b[${code}m${s}\u001b[0m` : s)
  return { green: wrap('32'), yellow: wrap('33'), red: wrap('31'), cyan: wrap('36'), magenta: wrap('35'), dim: wrap('2'), bold: wrap('1') }
}

/** Colour style for each step status. */
export type Palette = ReturnType<typeof palette>

/** The word shown for a status, padded so columns line up. */
export function statusLabel(status: StepStatus, p: Palette): string {
  const text = status.padEnd(13)
  switch (status) {
    case 'ok':
      return p.green(text)
    case 'changed':
    case 'would-change':
      return p.yellow(text)
    case 'uncertain':
      return p.magenta(text)
    case 'failed':
      return p.red(text)
    default:
      return p.dim(text)
  }
}

/**
 * The lines that show one change: `~ resource field: before -> after` for scalars; for text, a
 * unified diff when `diff` is on, else a `+N -M lines` summary. Sensitive values are never shown.
 */
export function changeLines(change: Change, opts: { diff: boolean }): string[] {
  const sigil = change.action === 'create' ? '+' : change.action === 'delete' ? '-' : change.action === 'run' ? '>' : '~'
  const head = `${sigil} ${change.resource}${change.field ? ` ${change.field}` : ''}`
  if (change.sensitive) return [`${head}: (sensitive, changed)`]
  if (change.before === undefined && change.after === undefined) return [head]
  if (isTextChange(change)) return opts.diff ? [`${head}:`, ...unifiedDiff(change).map((l) => `  ${l}`)] : [`${head}: changed (${diffStat(change)})`]
  return [`${head}: ${change.before ?? '(none)'} -> ${change.after ?? '(none)'}`]
}

/** `host : ok=1 changed=0 …` for the recap, with names padded to `width`. */
export function recapLine(host: string, r: HostRecap, width: number, p: Palette): string {
  const cells = [
    `ok=${r.ok}`,
    r.changed ? p.yellow(`changed=${r.changed}`) : `changed=${r.changed}`,
    r.wouldChange ? p.yellow(`would-change=${r.wouldChange}`) : `would-change=${r.wouldChange}`,
    r.uncertain ? p.magenta(`uncertain=${r.uncertain}`) : `uncertain=${r.uncertain}`,
    r.failed ? p.red(`failed=${r.failed}`) : `failed=${r.failed}`,
    r.unreachable ? p.red('unreachable=yes') : 'unreachable=no',
  ]
  if (r.notRun) cells.push(p.dim('not-run'))
  cells.push(p.dim(`${(r.durationMs / 1000).toFixed(1)}s`))
  return `${host.padEnd(width)} : ${cells.join('  ')}`
}
