import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { shlexSplit } from '../../src/inventory/ini/shlex.ts'

// Recorded from Python 3.11's shlex.split(line, comments=True), which Ansible's INI plugin applies to host lines.
const PYTHON = JSON.parse(readFileSync(new URL('../fixtures/ansible/shlex-splits.json', import.meta.url), 'utf8')) as Record<string, { tokens?: string[]; error?: string }>

describe('INI host lines split into words, as Ansible splits them', () => {
  it('gives the same words, and the same errors, as Python for every recorded line', () => {
    expect(Object.keys(PYTHON).length).toBeGreaterThanOrEqual(14)
    for (const [line, want] of Object.entries(PYTHON)) {
      if (want.error) expect(() => shlexSplit(line), line).toThrow(want.error)
      else expect(shlexSplit(line), line).toEqual(want.tokens)
    }
  })
})
