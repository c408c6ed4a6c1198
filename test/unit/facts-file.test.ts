import { localRemote } from '../support/local-remote.ts'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import type { Remote } from '../../src/engine/context.ts'
import { FactCache } from '../../src/engine/facts.ts'
import { fileState, MAX_PLAIN_BYTES, parseFileState } from '../../src/facts/file.ts'


// Outputs captured on Debian 12 (coreutils 9.1, dash) by running fileStateCommand() with /bin/sh
// against real files: a 12-byte text file (plain, and encoded), a 9-byte file with a backslash, a
// CR and no final newline, a binary file (plain, where dash drops its NUL, and encoded), a 2750
// directory, a symlink, a fifo, a missing path, a path whose parent is missing, a 4755 empty file
// owned by nobody:nogroup, and a 300000-byte file (too large to fetch).
const captured = {
  plain: 'file 644 0 0 12 root root\ntext\nhello\nworld\n\n',
  plainOdd: 'file 644 0 0 9 root root\ntext\na\\b  \r\n c\n',
  plainBinary: 'file 644 0 0 6 root root\ntext\n\xff\xfebin\n',
  text: 'file 644 0 0 12 root root\ncontent\naGVsbG8Kd29ybGQK\n',
  binary: 'file 644 0 0 6 root root\ncontent\n//4AYmlu\n',
  dir: 'directory 2750 0 0 4096 root root\n',
  link: 'symlink\na.txt\n',
  fifo: 'other\n',
  absent: 'absent 1 root root 0022\n',
  noParent: 'absent 0 root root 0022\n',
  owned: 'file 4755 65534 65534 0 nobody nogroup\ncontent\n',
  big: 'file 644 0 0 300000 root root\n12e1b9b179b29a4f7e5889b185d7ac71bff0ad1f49a7b391d0911b737a0f5381  -\n',
}
const ok = (stdout: string) => ({ code: 0, stdout, stderr: '' })

describe('parseFileState (recorded outputs)', () => {
  it('takes a small file read as plain text byte for byte', () => {
    expect(parseFileState(ok(captured.plain), '/tmp/fx/a.txt')).toEqual({
      kind: 'file', mode: 0o644, uid: 0, gid: 0, owner: 'root', group: 'root', size: 12,
      sha256: '4a1e67f2fe1d1cc7b31d0ca2ec441da4778203a036a77da10344c85e24ff0f92', content: 'hello\nworld\n',
    })
    expect(parseFileState(ok(captured.plainOdd), '/tmp/fx/odd')).toMatchObject({ size: 9, content: 'a\\b  \r\n c' })
    expect(fileState.reread?.(ok(captured.plain), '/tmp/fx/a.txt')).toBeUndefined()
  })
  it('asks again, encoded, when the plain text cannot be the bytes (a NUL dropped, invalid UTF-8, a changed size)', () => {
    // The controller decodes the bytes 0xff 0xfe as two U+FFFD.
    const binary = Buffer.from(captured.plainBinary, 'latin1').toString('utf8')
    const grown = captured.plain.replace('world', 'world!')
    for (const stdout of [binary, grown]) {
      expect(() => parseFileState(ok(stdout), '/tmp/fx/bin')).toThrow(/cannot read the state of \/tmp\/fx\/bin: its plain text is not its exact bytes/)
      const again = fileState.reread?.(ok(stdout), '/tmp/fx/bin')
      expect(again).toContain('base64')
      expect(again).not.toContain('read -r l')
    }
  })
  it('decodes a small text file with its content', () => {
    expect(parseFileState(ok(captured.text), '/tmp/fx/a.txt')).toEqual({
      kind: 'file', mode: 0o644, uid: 0, gid: 0, owner: 'root', group: 'root', size: 12,
      sha256: '4a1e67f2fe1d1cc7b31d0ca2ec441da4778203a036a77da10344c85e24ff0f92', content: 'hello\nworld\n',
    })
  })
  it('keeps binary files without content', () => {
    const s = parseFileState(ok(captured.binary), '/tmp/fx/bin')
    expect(s).toMatchObject({ kind: 'file', size: 6, sha256: 'f525e4bb4f90cc8f9872921265dce151b9624664d02c85a5e3363897b88b52be' })
    expect(s).not.toHaveProperty('content')
  })
  it('keeps large files without content', () => {
    const s = parseFileState(ok(captured.big), '/tmp/fx/big')
    expect(s).toMatchObject({ kind: 'file', size: 300000, sha256: '12e1b9b179b29a4f7e5889b185d7ac71bff0ad1f49a7b391d0911b737a0f5381' })
    expect(s).not.toHaveProperty('content')
  })
  it('reads special mode bits, ids and names, and an empty content', () => {
    expect(parseFileState(ok(captured.owned), '/tmp/fx/owned')).toMatchObject({ mode: 0o4755, uid: 65534, gid: 65534, owner: 'nobody', group: 'nogroup', size: 0, content: '' })
  })
  it('reads directories, symlinks, other files and absent paths', () => {
    expect(parseFileState(ok(captured.dir), '/d')).toEqual({ kind: 'directory', mode: 0o2750, uid: 0, gid: 0, owner: 'root', group: 'root' })
    expect(parseFileState(ok(captured.link), '/l')).toEqual({ kind: 'symlink', target: 'a.txt' })
    expect(parseFileState(ok(captured.fifo), '/f')).toEqual({ kind: 'other' })
    expect(parseFileState(ok(captured.absent), '/x')).toEqual({ kind: 'absent', parentIsDirectory: true, creator: { owner: 'root', group: 'root', umask: 0o022 } })
    expect(parseFileState(ok(captured.noParent), '/x/y')).toMatchObject({ kind: 'absent', parentIsDirectory: false })
  })
  it('describes the bytes read when the file changed after stat', () => {
    const shorter = captured.text.replace('aGVsbG8Kd29ybGQK', 'aGVsbG8K')
    expect(parseFileState(ok(shorter), '/a')).toMatchObject({ size: 6, content: 'hello\n', sha256: createHash('sha256').update('hello\n').digest('hex') })
  })
  it('fails with path, exit code and stderr when the host could not be read', () => {
    expect(() => parseFileState({ code: 2, stdout: '', stderr: 'sha256sum: -: Permission denied\n' }, '/etc/shadow')).toThrow(
      /cannot read the state of \/etc\/shadow.*exit 2.*Permission denied/,
    )
  })
})

describe('fileState command (run with the local /bin/sh)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'havn-fact-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const remote = localRemote()
  const read = (p: string) => new FactCache(remote).read(fileState, [p])

  it('reads every kind of path, including awkward names', async () => {
    const odd = join(dir, "it's a $(file) `x`")
    writeFileSync(odd, 'ünïcode\n', { mode: 0o640 })
    mkdirSync(join(dir, 'sub'), { mode: 0o750 })
    symlinkSync('nowhere', join(dir, 'dangling'))
    execFileSync('mkfifo', [join(dir, 'fifo')])
    expect(await read(odd)).toMatchObject({ kind: 'file', mode: 0o640, content: 'ünïcode\n', size: 10 })
    expect(await read(join(dir, 'sub'))).toMatchObject({ kind: 'directory', mode: 0o750 })
    expect(await read(join(dir, 'dangling'))).toEqual({ kind: 'symlink', target: 'nowhere' })
    expect(await read(join(dir, 'fifo'))).toEqual({ kind: 'other' })
    writeFileSync(join(dir, 'empty'), '', { mode: 0o600 })
    expect(await read(join(dir, 'empty'))).toMatchObject({ kind: 'file', mode: 0o600, size: 0, content: '', sha256: createHash('sha256').digest('hex') })
    expect(await read(join(dir, 'none'))).toMatchObject({ kind: 'absent', parentIsDirectory: true })
    expect(await read(join(dir, 'none', 'deeper'))).toMatchObject({ kind: 'absent', parentIsDirectory: false })
  })
  it('names who would create an absent file: a named user, a named user with a named group, and ids without names', async () => {
    const as = (uid: number, gid: number) => async (p: string) =>
      fileState.parse(await localRemote('local', ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups']).exec(fileState.command(p)), p)
    const none = join(dir, 'nobody-would-create')
    expect(await read(none)).toMatchObject({ kind: 'absent', creator: { owner: 'root', group: 'root' } })
    expect(await as(65534, 65534)(none)).toMatchObject({ creator: { owner: 'nobody', group: 'nogroup' } })
    expect(await as(65534, 0)(none)).toMatchObject({ creator: { owner: 'nobody', group: 'root' } })
    // No passwd or group entry, so NSS is asked through `id`, which can only give the numbers.
    expect(await as(23456, 23457)(none)).toMatchObject({ creator: { owner: '23456', group: '23457' } })
  })
  it('reads small files as plain text in one command, and binary ones again encoded, byte for byte', async () => {
    // [file, bytes, whether they are UTF-8 text, whether the plain read is exact]
    const cases: [string, Buffer, boolean, boolean][] = [
      ['no-newline', Buffer.from('a\\b  \r\n  c\\'), true, true],
      ['blank-lines', Buffer.from('\n\n%s %d $x `y`\n\n'), true, true],
      ['nul', Buffer.from([0x61, 0x00, 0x62, 0x0a]), true, false],
      ['latin1', Buffer.from('caf\xe9\n', 'latin1'), false, false],
      ['truncated', Buffer.from([0xf0, 0x9f, 0x98, 0x41]), false, false],
      ['at-limit', Buffer.from('y'.repeat(MAX_PLAIN_BYTES - 1) + '\n'), true, true],
      ['over-limit', Buffer.from('y'.repeat(MAX_PLAIN_BYTES) + '\n'), true, true],
    ]
    // bash stands in for /bin/sh on RHEL and Fedora; its `read` buffers differently from dash's.
    const bash: Remote = { host: 'bash', exec: async (script) => ({ code: 0, stdout: execFileSync('bash', ['--posix', '-c', script]).toString('utf8'), stderr: '' }) }
    for (const [name, bytes, text, plain] of cases) {
      writeFileSync(join(dir, name), bytes)
      const before = remote.log.length
      const s = await read(join(dir, name))
      expect(s, name).toMatchObject({ kind: 'file', size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') })
      if (text) expect(s, name).toHaveProperty('content', bytes.toString('utf8'))
      else expect(s, name).not.toHaveProperty('content')
      expect(remote.log.length - before, name).toBe(plain ? 1 : 2)
      expect(await new FactCache(bash).read(fileState, [join(dir, name)]), `${name} (bash)`).toEqual(s)
    }
  })
  it('fetches content up to 256 KiB exactly, and not beyond', async () => {
    writeFileSync(join(dir, 'edge'), 'x'.repeat(256 * 1024))
    writeFileSync(join(dir, 'over'), 'x'.repeat(256 * 1024 + 1))
    expect((await read(join(dir, 'edge'))) ).toHaveProperty('content', 'x'.repeat(256 * 1024))
    expect(await read(join(dir, 'over'))).not.toHaveProperty('content')
  })
})
