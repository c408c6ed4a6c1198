import { predict, type Prediction } from '../engine/facts.ts'
import type { Handler } from '../engine/handlers.ts'
import { runStep, type StepResult } from '../engine/step.ts'
import { commandSucceeds, pathExists } from '../facts/command.ts'
import type { RetryKeywords } from '../engine/retry.ts'

/** A shell command, either plain text or built by `sh```, whose `display` masks secrets. */
export type CommandText = string | { readonly script: string; readonly display: string }

/** Options of `command`: guards make it idempotent; without one it runs every time. */
export interface CommandOptions extends RetryKeywords {
  /** Skip when this path exists on the host (the command is assumed to create it). */
  readonly creates?: string
  /** Skip when this read-only shell command exits 0. */
  readonly unless?: CommandText
  /** Name shown in output; defaults to the (masked) command. */
  readonly name?: string
  /** Exit codes counted as success; default `[0]`. */
  readonly okCodes?: readonly number[]
  /** Handlers to run at the end of the play when the command runs. */
  readonly notify?: readonly Handler[]
}

function text(cmd: CommandText): { script: string; display: string } {
  return typeof cmd === 'string' ? { script: cmd, display: cmd } : cmd
}

/**
 * Runs a shell command through `sh` on the current host. Without a guard it runs, and is reported
 * as a change, every time (it is not idempotent); with `creates` or `unless` it is skipped once the
 * guard holds. In check mode a guarded command is predicted to satisfy its `creates` path.
 */
export function command(cmd: CommandText, opts: CommandOptions = {}): Promise<StepResult> {
  const { script, display } = text(cmd)
  const okCodes = opts.okCodes ?? [0]
  return runStep({
    name: opts.name ?? display,
    notify: opts.notify,
    async plan(ctx) {
      if (opts.creates !== undefined && (await ctx.fact(pathExists, opts.creates))) return { changes: [] }
      if (opts.unless !== undefined && (await ctx.fact(commandSucceeds, text(opts.unless).script))) return { changes: [] }
      const predictions: Prediction[] = opts.creates !== undefined ? [predict(pathExists, [opts.creates], true)] : []
      return {
        changes: [{ resource: `command:${display}`, action: 'run' }],
        predict: predictions,
        commands: [{ script, display, okCodes, reportOutput: true }],
      }
    },
  }, opts)
}
