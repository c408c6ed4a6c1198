import { spawn } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { READ_ON } from '../../src/connection/shell.ts'

/**
 * Runs `shell -c 'trap …; READ_ON'` with stdin a pipe as sshd gives it (or, with `socket`, node's
 * own socket), writes one command at a time and waits for each one's output before writing the
 * next, as the controller does, then ends stdin. Bounded: 3 s per answer.
 */
async function session(shell: string, socket = false): Promise<string> {
  const script = `trap 'echo exit-trap' EXIT\n${READ_ON}`
  const child = socket
    ? spawn(shell, ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] })
    : spawn('/bin/sh', ['-c', 'cat | "$0" -c "$1"', shell, script], { stdio: ['pipe', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  const answered = async (text: string) => {
    for (let i = 0; i < 60 && !out.includes(text); i++) await new Promise((r) => setTimeout(r, 50))
    if (!out.includes(text)) {
      child.kill('SIGKILL')
      throw new Error(`${shell}: no '${text}' while stdin stays open; got ${JSON.stringify(out)}`)
    }
  }
  child.stdin.write('echo one\n')
  await answered('one')
  child.stdin.write('echo two\n')
  await answered('two')
  child.stdin.end()
  await new Promise((r) => child.on('close', r))
  return out
}

describe('a session shell reading on from stdin', () => {
  it('dash runs each command as it arrives, in the same process, and keeps its exit trap', async () => {
    expect(await session('dash')).toBe('one\ntwo\nexit-trap\n')
  })

  it('bash, which would read a sourced stdin whole before running it, is replaced by sh and runs each command as it arrives', async () => {
    expect(await session('bash')).toBe('one\ntwo\n')
  })

  it('a stdin that cannot be opened again (a socket) has dash replaced by sh too', async () => {
    expect(await session('dash', true)).toBe('one\ntwo\n')
  })
})
