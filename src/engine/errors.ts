/** Where a piece of user input lives, so an error can point at it. */
export interface InputLocation {
  readonly file?: string
  readonly line?: number
  readonly column?: number
  readonly host?: string
  readonly role?: string
  /** JSON pointer into the value that was rejected, e.g. `/listenPort`. */
  readonly pointer?: string
}

/** Renders a location as `file:line:col host=… role=… at /pointer`, skipping what is unknown. */
export function formatLocation(loc: InputLocation): string {
  const parts: string[] = []
  if (loc.file) parts.push([loc.file, loc.line, loc.line !== undefined ? loc.column : undefined].filter((p) => p !== undefined).join(':'))
  if (loc.host) parts.push(`host ${loc.host}`)
  if (loc.role) parts.push(`role ${loc.role}`)
  if (loc.pointer !== undefined) parts.push(`at ${loc.pointer || '/'}`)
  return parts.join(', ')
}

/**
 * Invalid inventory, playbook, vars or command-line input. Raised before any host is contacted;
 * the CLI maps it to exit code 4 and prints every problem with its location.
 */
export class InputError extends Error {
  override readonly name = 'InputError'
  readonly problems: readonly { readonly message: string; readonly at: InputLocation }[]

  constructor(problems: readonly { readonly message: string; readonly at: InputLocation }[]) {
    super(problems.map((p) => {
      const where = formatLocation(p.at)
      return where ? `${where}: ${p.message}` : p.message
    }).join('\n'))
    this.problems = problems
  }

  /** One problem at one place. */
  static at(at: InputLocation, message: string): InputError {
    return new InputError([{ message, at }])
  }
}
