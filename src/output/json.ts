import type { RunEvent } from '../engine/events.ts'
import type { Reporter, Write } from './reporter.ts'

/** NDJSON: one event per line, ending with the recap event. */
export class JsonReporter implements Reporter {
  private readonly write: Write
  constructor(write: Write) {
    this.write = write
  }

  onEvent(event: RunEvent): void {
    this.write(`${JSON.stringify(event)}\n`)
  }

  async close(): Promise<void> {}
}
