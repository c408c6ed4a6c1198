import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CommandFailedError, connect, type Connection, type ExecOptions } from '../../src/connection/index.ts'
import type { Remote, RemoteExecOptions } from '../../src/engine/context.ts'
import { executeCommands, type PlannedCommand } from '../../src/engine/step.ts'
import { type LocalSshd, makeClientKey, startSshd } from '../support/local-sshd.ts'
import { localRemote } from '../support/local-remote.ts'

let dir: string
let sshd: LocalSshd
let conn: Connection

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'havn-exec-cmds-'))
  const key = makeClientKey(dir)
  sshd = await startSshd({ authorizedKeys: [key.pub] })
  const knownHosts = join(dir, 'known_hosts')
  writeFileSync(knownHosts, `${sshd.knownHostsLine()}\n`)
  conn = await connect({ name: 'h1', address: '127.0.0.1', port: sshd.port, user: 'root' }, { knownHostsFile: knownHosts, sshConfigFile: '/dev/null', identityFile: key.path, agent: false })
}, 20_000)

afterAll(async () => {
  await conn?.close()
  await sshd?.stop()
  rmSync(dir, { recursive: true, force: true })
})

/** The engine's view of the SSH connection (chains the commands) and of a local shell (one by one). */
const remotes = (): [string, Remote][] => {
  const options = (o: RemoteExecOptions | undefined): ExecOptions => ({ stdin: o?.stdin, display: o?.display })
  const ssh: Remote = {
    host: 'h1',
    exec: (script, o) => conn.exec(script, options(o)),
    execChain: (commands) => conn.execChain!(commands.map((c) => ({ command: c.script, opts: options(c.opts), okCodes: c.okCodes ?? [0] }))),
  }
  return [['ssh, chained', ssh], ['local, one by one', localRemote('h1')]]
}

describe('executeCommands', () => {
  for (const [name, remote] of remotes()) {
    it(`stops at the first command that fails and names it, with its exit code and stderr; nothing after it runs (${name})`, async () => {
      const f = join(dir, `steps-${name.replace(/\W+/g, '-')}`)
      const commands: PlannedCommand[] = [
        { script: `printf 'one\\n' > ${f}`, display: 'first' },
        { script: `cat >> ${f}; echo 'no room for the canary-pw' >&2; exit 5`, display: 'second', stdin: 'canary-pw\n', sensitiveStdin: true },
        { script: `printf 'three\\n' >> ${f}`, display: 'third' },
      ]
      const err = await executeCommands(remote, commands).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(CommandFailedError)
      const message = (err as Error).message
      expect(message).toMatch(/second/)
      expect(message).toMatch(/5/)
      expect(message).toMatch(/no room for the/)
      // The secret stdin is scrubbed from the error.
      expect(message).not.toMatch(/canary-pw/)
      expect(readFileSync(f, 'utf8')).toBe('one\ncanary-pw\n')
    })

    it(`goes on after an exit code the command allows, and returns the output of commands that report it (${name})`, async () => {
      const f = join(dir, `ok-${name.replace(/\W+/g, '-')}`)
      const out = await executeCommands(remote, [
        { script: `touch ${f}; exit 3`, display: 'allowed', okCodes: [0, 3] },
        { script: `echo reported; echo warned >&2`, display: 'reported', reportOutput: true },
        { script: `rm ${f}`, display: 'last' },
      ])
      expect(out).toEqual({ stdout: 'reported\n', stderr: 'warned\n' })
      expect(existsSync(f)).toBe(false)
    })
  }
})
