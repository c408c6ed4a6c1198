import type { RunEvent } from '../engine/events.ts'
import { JsonReporter } from './json.ts'
import { LineReporter } from './line.ts'

/** Draws engine events somewhere; `close` flushes whatever is buffered. */
export interface Reporter {
  onEvent(event: RunEvent): void
  close(): Promise<void>
}

/** Output formats the CLI offers. */
export type OutputFormat = 'human' | 'line' | 'json'

/** A sink for finished text; reporters never write to the process streams themselves. */
export type Write = (text: string) => void

/**
 * Builds the reporter for a format; `human` is the live view on a terminal and `line` elsewhere.
 * Only the live view (listr2) is loaded on demand; the plain ones are small and load with the CLI.
 */
export async function createReporter(format: OutputFormat, write: Write, opts: { tty: boolean; color: boolean; diff: boolean }): Promise<Reporter> {
  if (format === 'json') return new JsonReporter(write)
  if (format === 'human' && opts.tty) return new (await import('./human.ts')).HumanReporter(write, { color: opts.color, diff: opts.diff })
  return new LineReporter(write, { color: opts.color && (format === 'human' ? opts.tty : false), diff: opts.diff })
}
