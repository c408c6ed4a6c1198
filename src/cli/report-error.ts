import { InputError } from '../engine/errors.ts'

/** Prints an InputError as a list of located problems; returns false for any other error. */
export function reportInputError(err: unknown): boolean {
  if (!(err instanceof InputError)) return false
  const lines = err.message.split('\n')
  process.stderr.write(`havn: invalid input (nothing was contacted):\n${lines.map((l) => `  ${l}`).join('\n')}\n`)
  return true
}
