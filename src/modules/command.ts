import { runStep, type StepResult } from '../engine/step.ts'
import { shQuote } from '../connection/quote.ts'
import type { Remote } from '../engine/context.ts'
import { CommandFailedError } from '../connection/errors.ts'

/** A shell command, either plain text or built by `sh```, whose `display` masks secrets. */
export type CommandText = string | { readonly script: string; readonly display: string }

/** Options of `command`: guards make it idempotent; without one it runs every time. */
export interface CommandOptions {
  /** Skip when this path exists on the host (the command is assumed to create it). */
  readonly creates?: string
  /** Skip when this shell command exits 0. */
  readonly unless?: CommandText
  /** Name shown in output; defaults to the (masked) command. */
  readonly name?: string
  /** Exit codes counted as success; default `[0]`. */
  readonly okCodes?: readonly number[]
}

/**
 * Runs a shell command through `sh` on the current host. Reported as a change each time it runs;
 * with `creates` or `unless` it is skipped once the guard holds, which makes it idempotent.
 */
export function command(cmd: CommandText, opts: CommandOptions = {}): Promise<StepResult> {
  const { script, display } = typeof cmd === 'string' ? { script: cmd, display: cmd } : cmd
  const okCodes = opts.okCodes ?? [0]
  return runStep({
    name: opts.name ?? display,
    async plan(remote) {
      if (await guardHolds(remote, opts)) return { changes: [] }
      return {
        changes: [{ resource: `command:${display}`, action: 'run' }],
        async apply(r) {
          const res = await r.exec(script, { display })
          if (!okCodes.includes(res.code)) throw new CommandFailedError(r.host, display, res.code, res.stderr)
          return { stdout: res.stdout, stderr: res.stderr }
        },
      }
    },
  })
}

async function guardHolds(remote: Remote, opts: CommandOptions): Promise<boolean> {
  if (opts.creates !== undefined) {
    const res = await remote.exec(`test -e ${shQuote(opts.creates)}`)
    if (res.code === 0) return true
  }
  if (opts.unless !== undefined) {
    const { script, display } = typeof opts.unless === 'string' ? { script: opts.unless, display: opts.unless } : opts.unless
    const res = await remote.exec(script, { display })
    if (res.code === 0) return true
  }
  return false
}
