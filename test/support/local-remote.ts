import { spawn } from 'node:child_process'
import type { Executed, Remote, RemoteExecOptions } from '../../src/engine/context.ts'

/**
 * A Remote that runs scripts with the local `/bin/sh` (dash on Debian, as on targets), for testing
 * fact commands and apply scripts for real inside a temporary directory. Never use it for scripts
 * that change the system outside that directory.
 */
export function localRemote(host = 'local'): Remote & { readonly log: string[] } {
  const log: string[] = []
  return {
    host,
    log,
    exec(script: string, opts?: RemoteExecOptions): Promise<Executed> {
      log.push(script)
      return new Promise((resolve, reject) => {
        const child = spawn('/bin/sh', ['-c', script], { stdio: ['pipe', 'pipe', 'pipe'] })
        let stdout = ''
        let stderr = ''
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
        child.on('error', reject)
        child.on('close', (code) => resolve({ code: code ?? 255, stdout, stderr }))
        child.stdin.end(opts?.stdin ?? '')
      })
    },
  }
}
