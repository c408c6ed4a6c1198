import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The repository root, from which playbooks resolve `havn` by package name. */
export const REPO = fileURLToPath(new URL('../../', import.meta.url))

/** What a finished CLI run printed and returned. */
export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
}

/** Runs the built `havn` binary as a user would, with a hard time limit. */
export function havn(args: readonly string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<CliResult> {
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`${REPO}bin/havn.js`, ...args], {
      cwd: REPO,
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, ms: Date.now() - started })
    })
  })
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test-side view of arbitrary JSON events
export type JsonEvent = { type: string; [k: string]: any }

/** Parses NDJSON output into events; fails loudly on a line that is not JSON. */
export function events(stdout: string): JsonEvent[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as JsonEvent)
}
