import { AuthError, BecomeError, CommandFailedError, CommandTimeoutError, exitText, HostKeyError, UnreachableError } from '../connection/errors.ts'
import { InputError } from '../engine/errors.ts'
import { HostLockedError } from '../engine/lock.ts'
import { DriftError, MissingResourceError } from '../engine/step.ts'
import { UnsupportedPlatformError } from '../engine/platforms.ts'
import { UntilNotMetError } from '../engine/retry.ts'
import type { ErrorInfo } from '../engine/events.ts'

/** Maps any error from connecting or from a step to the kind and details the reporters show. */
export function classifyError(err: unknown): ErrorInfo {
  if (err instanceof UnreachableError) return { kind: 'unreachable', message: err.message }
  if (err instanceof AuthError) return { kind: 'auth', message: err.message }
  if (err instanceof HostKeyError) return { kind: 'host-key', message: err.message }
  if (err instanceof CommandTimeoutError) return { kind: 'timeout', message: err.message, command: err.display }
  if (err instanceof BecomeError) return { kind: 'become', message: err.message }
  if (err instanceof CommandFailedError) {
    return { kind: 'command', message: `command failed (${exitText(err.code)}): ${err.display}`, command: err.display, exitCode: err.code, stderrTail: err.stderrTail }
  }
  if (err instanceof InputError) return { kind: 'input', message: err.message }
  if (err instanceof HostLockedError) return { kind: 'locked', message: err.message }
  if (err instanceof MissingResourceError) return { kind: 'missing', message: err.message }
  if (err instanceof DriftError) return { kind: 'drift', message: err.message }
  if (err instanceof UntilNotMetError) return { kind: 'until', message: err.message }
  if (err instanceof UnsupportedPlatformError) return { kind: 'unsupported', message: err.message }
  // A plain Error is what planners and roles throw on purpose (a masked unit, a datadir that
  // rejects O_DIRECT); TypeError and friends are bugs.
  if (err instanceof Error && Object.getPrototypeOf(err) === Error.prototype) return { kind: 'refused', message: err.message }
  return { kind: 'internal', message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }
}
