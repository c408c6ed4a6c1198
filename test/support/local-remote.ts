import { spawn } from 'node:child_process'
import { chmod, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { sendStdin } from '../../src/connection/stdin.ts'
import type { Executed, Remote, RemoteExecOptions } from '../../src/engine/context.ts'

/**
 * A Remote that runs scripts with the local `/bin/sh` (dash on Debian, as on targets), for testing
 * fact commands and apply scripts for real inside a temporary directory. `prefix` wraps each run,
 * e.g. `['nsenter', '-t', pid, '-n']` to run inside a namespace the test made. Never use it for
 * scripts that change the system outside what the test created.
 */
export function localRemote(host = 'local', prefix: readonly string[] = []): Remote & { readonly log: string[] } {
  const log: string[] = []
  return {
    host,
    log,
    exec(script: string, opts?: RemoteExecOptions): Promise<Executed> {
      log.push(script)
      return new Promise((resolve, reject) => {
        const argv = [...prefix, '/bin/sh', '-c', script]
        const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] })
        // Decoded whole at the end, as the SSH connection does: a chunk may end inside a character.
        const stdout: Buffer[] = []
        const stderr: Buffer[] = []
        child.stdout.on('data', (d: Buffer) => stdout.push(d))
        child.stderr.on('data', (d: Buffer) => stderr.push(d))
        // A script may exit without reading its stdin; the resulting EPIPE is not the test's concern.
        child.stdin.on('error', () => {})
        child.on('error', reject)
        child.on('close', (code) => resolve({ code: code ?? 255, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') }))
        sendStdin(opts?.stdin ?? '', child.stdin, reject)
      })
    },
  }
}

/** Writes one shell script into `dir` under each of `names`, executable, to stand in for real commands. */
export async function installFakeCommands(dir: string, names: readonly string[], script: string): Promise<void> {
  for (const name of names) {
    await writeFile(join(dir, name), script)
    await chmod(join(dir, name), 0o755)
  }
}

/** A local Remote whose PATH finds the commands in `dir` before the real ones. */
export function remoteWithFakes(dir: string, host = 'h1'): Remote {
  const local = localRemote(host)
  return { host, exec: (s, o) => local.exec(`PATH=${dir}:$PATH\n${s}`, o) }
}
