import { spawn } from 'node:child_process'
import { log } from './log.ts'

/**
 * Holds an exclusive flock(1) on `path` while `work` runs, so concurrent builders (vitest and a
 * CLI) serialise. The kernel drops the lock when the holder dies, so no stale lock survives a
 * crash. Waits at most `timeoutMs`, then throws.
 */
export async function withLock<T>(path: string, work: () => Promise<T>, timeoutMs = 30 * 60_000): Promise<T> {
  // The helper keeps the lock until its stdin closes: on release, or when this process dies.
  const holder = spawn('flock', ['-x', '-w', String(Math.ceil(timeoutMs / 1000)), path, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const waiting = setTimeout(() => log(`waiting for lock ${path} (another build is running)`), 2000)
  try {
    await new Promise<void>((resolve, reject) => {
      let stderr = ''
      holder.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
      holder.stdout.once('data', () => resolve())
      holder.once('error', reject)
      holder.once('exit', (code) => reject(new Error(`testbed: could not lock ${path} (flock exit ${code}): ${stderr.trim()}`)))
    })
  } finally {
    clearTimeout(waiting)
  }
  try {
    return await work()
  } finally {
    holder.stdin.end()
  }
}
