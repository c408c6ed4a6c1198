import { spawn } from 'node:child_process'
import { BecomeError, CommandTimeoutError } from './errors.ts'
import { shQuote } from './quote.ts'
import { sendStdin } from './stdin.ts'
import type { Connection, ExecOptions, ExecResult } from './types.ts'

/**
 * A Connection to the controller itself (`ansible_connection: local`): each command runs in a fresh
 * `/bin/sh -c` as the user running havn. Become needs no sudo when that user is root and the target
 * is root; otherwise `sudo -n` runs it, so a sudo that would ask for a password fails with its
 * message instead of waiting. Commands run one after another, in the order given. Scripts given to
 * atClose run at close().
 */
export function localConnection(host: string, opts: { commandTimeoutMs?: number } = {}): Connection {
  const atClose: string[] = []
  let closed = false
  const run = (command: string, o: ExecOptions = {}): Promise<ExecResult> => {
    const user = o.become ? (typeof o.become === 'object' && o.become.user) || 'root' : undefined
    const asRoot = process.getuid?.() === 0
    const script = user && !(asRoot && user === 'root') ? `sudo -n -H -u ${shQuote(user)} -- /bin/sh -c ${shQuote(command)}` : command
    const timeoutMs = o.timeoutMs ?? opts.commandTimeoutMs ?? 0
    return new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', script], { stdio: [o.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] })
      // Decoded whole at the end: a chunk may end inside a character.
      const out: Buffer[] = []
      const err: Buffer[] = []
      child.stdout?.on('data', (d: Buffer) => out.push(d))
      child.stderr?.on('data', (d: Buffer) => err.push(d))
      const timer = timeoutMs > 0 ? setTimeout(() => {
        child.kill('SIGKILL')
        reject(new CommandTimeoutError(host, o.display ?? command, timeoutMs))
      }, timeoutMs) : undefined
      child.on('error', (e) => {
        clearTimeout(timer)
        reject(e)
      })
      child.on('close', (code, signal) => {
        clearTimeout(timer)
        const stdout = Buffer.concat(out).toString('utf8')
        const stderr = Buffer.concat(err).toString('utf8')
        if (user && script !== command && code === 1 && /^sudo: /m.test(stderr)) {
          reject(new BecomeError(host, `host ${host}: sudo on the controller failed: ${stderr.trim().split('\n').at(-1) ?? ''}`))
          return
        }
        resolve({ code: code ?? 128, ...(signal ? { signal } : {}), stdout, stderr })
      })
      if (child.stdin) {
        // A command that exits without reading its input is not an error of ours.
        child.stdin.on('error', () => undefined)
        sendStdin(o.stdin, child.stdin, reject)
      }
    })
  }
  // One after another, as the commands of an SSH connection run: a change is never overtaken by the next read.
  let previous: Promise<unknown> = Promise.resolve()
  return {
    host,
    exec: (command, o) => {
      const result = previous.then(() => run(command, o))
      previous = result.catch(() => undefined)
      return result
    },
    async atClose(script) {
      atClose.push(script)
    },
    async close() {
      if (closed) return
      closed = true
      for (const script of atClose) await run(script).catch(() => undefined)
    },
  }
}
