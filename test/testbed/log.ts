/** Writes one `testbed: …` progress line to stderr; stdout stays free for machine-readable output. */
export function log(message: string): void {
  process.stderr.write(`testbed: ${message}\n`)
}

/** Runs `work`, then logs `label` with the elapsed wall-clock seconds; rethrows failures untouched. */
export async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now()
  const result = await work()
  log(`${label} (${((performance.now() - started) / 1000).toFixed(1)} s)`)
  return result
}
