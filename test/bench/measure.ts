import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root. */
export const REPO = fileURLToPath(new URL('../../', import.meta.url))

const HOOK = fileURLToPath(new URL('./rusage-hook.mjs', import.meta.url))

/** One measured process: wall time around the whole process, and what it used. */
export interface Measured {
  readonly code: number | null
  readonly wallS: number
  readonly stdout: string
  readonly stderr: string
  /** Peak RSS of the process itself, MB (1 MB = 1024 KiB); undefined when it died before writing it. */
  readonly maxRssMB?: number
  /** User + system CPU seconds of the process itself. */
  readonly cpuS?: number
  /** CPU seconds of the children it reaped (havn's `ssh -G` calls). */
  readonly childCpuS?: number
}

/**
 * Spawns `node [--import rusage-hook] ...args` (or any command with `rusage: false`), times it from
 * spawn to close, and reads the resource usage the hook wrote. Kills the child by its own handle
 * after `timeoutMs`.
 */
export function measure(cmd: string, args: readonly string[], opts: { rusage?: boolean; env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {}): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), 'havn-bench-rusage-'))
  const rusageFile = join(dir, 'rusage.json')
  const withHook = opts.rusage !== false
  const argv = withHook ? ['--import', HOOK, ...args] : [...args]
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(cmd, argv, {
      cwd: opts.cwd ?? REPO,
      env: { ...process.env, NO_COLOR: '1', ...opts.env, ...(withHook ? { HAVN_BENCH_RUSAGE: rusageFile } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000)
    child.once('error', (e) => {
      clearTimeout(timer)
      rmSync(dir, { recursive: true, force: true })
      reject(e)
    })
    child.once('close', (code) => {
      const wallS = (performance.now() - started) / 1000
      clearTimeout(timer)
      let usage: { maxRssKiB: number; cpuS: number; childCpuS: number } | undefined
      try {
        usage = withHook ? (JSON.parse(readFileSync(rusageFile, 'utf8')) as typeof usage) : undefined
      } catch {
        usage = undefined
      }
      rmSync(dir, { recursive: true, force: true })
      resolve({
        code,
        wallS,
        stdout,
        stderr,
        ...(usage ? { maxRssMB: usage.maxRssKiB / 1024, cpuS: usage.cpuS, childCpuS: usage.childCpuS } : {}),
      })
    })
  })
}

/** The median of a non-empty list (mean of the middle two for even lengths). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

/** The largest value, or NaN for an empty list. */
export function max(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : Math.max(...values)
}
