import type { RunEvent } from '../engine/events.ts'

/** Draws engine events somewhere; `close` flushes whatever is buffered. */
export interface Reporter {
  onEvent(event: RunEvent): void
  close(): Promise<void>
}

/** Output formats the CLI offers. */
export type OutputFormat = 'human' | 'line' | 'json'

/** A sink for finished text; reporters never write to the process streams themselves. */
export type Write = (text: string) => void

/** Builds the reporter for a format; `human` is the live view on a terminal and `line` elsewhere. */
export async function createReporter(format: OutputFormat, write: Write, opts: { tty: boolean; color: boolean; diff: boolean }): Promise<Reporter> {
  if (format === 'json') return new (await import('./json.ts')).JsonReporter(write)
  if (format === 'human' && opts.tty) return new (await import('./human.ts')).HumanReporter(write, { color: opts.color, diff: opts.diff })
  const { LineReporter } = await import('./line.ts')
  return new LineReporter(write, { color: opts.color && (format === 'human' ? opts.tty : false), diff: opts.diff })
}
