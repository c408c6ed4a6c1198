import { describe, expect, it } from 'vitest'
import { classifyError } from '../../src/cli/classify.ts'
import { CommandFailedError } from '../../src/connection/errors.ts'
import { DriftError, MissingResourceError } from '../../src/engine/step.ts'

describe('error kinds', () => {
  it('tells a refusal on purpose from a bug, and keeps the kinds the engine raises', () => {
    expect(classifyError(new Error('systemdUnit x.service is masked on h1'))).toEqual({ kind: 'refused', message: 'systemdUnit x.service is masked on h1' })
    expect(classifyError(new TypeError("Cannot read properties of undefined (reading 'x')"))).toMatchObject({ kind: 'internal', message: "TypeError: Cannot read properties of undefined (reading 'x')" })
    expect(classifyError(new MissingResourceError('service haproxy is not installed')).kind).toBe('missing')
    expect(classifyError(new DriftError(['h1: a: differs'])).kind).toBe('drift')
    expect(classifyError(new CommandFailedError('h1', 'apt-get install x', 100, 'E: nope'))).toMatchObject({ kind: 'command', exitCode: 100, command: 'apt-get install x' })
  })
})
