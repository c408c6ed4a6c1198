import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { secret, sh, shQuote } from '../../src/connection/index.ts'

const tricky = [
  '', 'plain', "it's", "''", `"double" $HOME $(id) \`id\``, 'new\nline\ttab', '\\back\\slash', '*?[a]~', '-n', ' lead and trail ', 'ünïcødé ✓', "a'b'c'",
]

describe('shQuote', () => {
  for (const shell of ['sh', 'dash', 'bash']) {
    it(`round-trips tricky strings through ${shell} -c`, () => {
      for (const s of tricky) {
        const out = execFileSync(shell, ['-c', `printf '%s' ${shQuote(s)}`]).toString()
        expect(out).toBe(s)
      }
    })
  }
})

describe('sh template', () => {
  it('quotes interpolations, expands arrays to words, and masks secrets in display only', () => {
    const pw = secret("p'w $x")
    const cmd = sh`printf '%s|' ${['a b', "c'd"]} ${pw} ${42}`
    expect(cmd.display).toBe(`printf '%s|' 'a b' 'c'\\''d' *** '42'`)
    expect(cmd.display).not.toContain("p'w")
    expect(execFileSync('dash', ['-c', cmd.script]).toString()).toBe("a b|c'd|p'w $x|42|")
    expect(String(pw)).toBe('***')
    expect(JSON.stringify({ pw })).toBe('{"pw":"***"}')
  })

  it('splices nested commands verbatim and rejects undefined', () => {
    const inner = sh`echo ${'x y'}`
    expect(sh`sudo ${inner}`.script).toBe(`sudo echo 'x y'`)
    expect(() => sh`echo ${undefined}`).toThrow(TypeError)
  })
})
