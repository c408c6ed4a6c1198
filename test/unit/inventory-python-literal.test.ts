import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parsePythonLiteral } from '../../src/inventory/ini/python-literal.ts'

// Recorded with Python 3.11's ast.literal_eval (Debian 12), which Ansible's INI plugin applies to values:
// `value` is what it returned (tuples as lists, keys as strings), `text` that it refused (the value stays the text).
const PYTHON = JSON.parse(readFileSync(new URL('../fixtures/ansible/python-literals.json', import.meta.url), 'utf8')) as Record<string, { value?: unknown; text?: true }>

describe('Python literals, as Ansible reads INI values', () => {
  it('reads every recorded value as Python does, and leaves the text where Python refuses', () => {
    expect(Object.keys(PYTHON).length).toBeGreaterThan(40)
    for (const [text, want] of Object.entries(PYTHON)) {
      const got = parsePythonLiteral(text)
      if (want.text) expect(got, text).toBe(text)
      else if (typeof want.value === 'object' && want.value !== null && '__not_literal__' in want.value) expect(got, `${text}: a set is no inventory value`).toBe(text)
      else if (typeof want.value === 'number' && !Number.isSafeInteger(want.value) && Number.isInteger(want.value)) expect(got, `${text}: too large to hold exactly`).toBe(text.trim())
      else expect(got, text).toEqual(want.value)
    }
  })
})
