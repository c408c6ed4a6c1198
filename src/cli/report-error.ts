import { formatLocation, InputError, type InputLocation } from '../engine/errors.ts'

/** Prints an InputError as a list of located problems; returns false for any other error. */
export function reportInputError(err: unknown): boolean {
  if (!(err instanceof InputError)) return false
  const lines = err.message.split('\n')
  process.stderr.write(`havn: invalid input (nothing was contacted):\n${lines.map((l) => `  ${l}`).join('\n')}\n`)
  return true
}

/** Prints inventory warnings (things Ansible accepts silently) to stderr, one per line, with their place. */
export function reportInventoryWarnings(warnings: readonly { readonly message: string; readonly at: InputLocation }[]): void {
  for (const w of warnings) process.stderr.write(`havn: warning: ${formatLocation(w.at)}: ${w.message}\n`)
}
