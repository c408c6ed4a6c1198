import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { maskUrl, secret } from '../../src/connection/quote.ts'
import { commandsFound } from '../../src/facts/command.ts'
import { fileState, UNKNOWN_SIZE, type FileState } from '../../src/facts/file.ts'
import { pendingInstalls } from '../../src/facts/packages.ts'
import { downloadStep, type DownloadArgs } from '../../src/modules/download.ts'
import { localRemote } from '../support/local-remote.ts'
import { applyPlan, planOn, planWith, recorded } from '../support/plan-with.ts'

const BODY = 'restic 0.16.4 release notes\n'
const SUM = createHash('sha256').update(BODY).digest('hex')
const OTHER = createHash('sha256').update('something else').digest('hex')
const DEST = '/opt/restic/NOTES'
const ABSENT: FileState = { kind: 'absent', parentIsDirectory: true, creator: { owner: 'root', group: 'root', umask: 0o022 } }
const THERE: FileState = { kind: 'file', mode: 0o644, owner: 'root', group: 'root', uid: 0, gid: 0, size: BODY.length, sha256: SUM, content: BODY }
const withCurl = { ...recorded(commandsFound, [['curl', 'wget']], ['curl']), ...recorded(pendingInstalls, [], []) }
const bare = { ...recorded(commandsFound, [['curl', 'wget']], []), ...recorded(pendingInstalls, [], []) }

describe('download: planned on recorded facts', () => {
  const args: DownloadArgs = { url: 'https://deploy:hunter22@files.example/restic/NOTES', dest: DEST, sha256: SUM.toUpperCase(), mode: '0644' }

  it('a file that has the sum already is left alone, without asking which fetch program the host has', async () => {
    const plan = await planWith(downloadStep(args), recorded(fileState, [DEST], THERE))
    expect(plan.changes).toEqual([])
  })

  it('only fixes attributes in place when the sum matches but the mode differs (no fetch)', async () => {
    const plan = await planWith(downloadStep(args), recorded(fileState, [DEST], { ...THERE, mode: 0o600 }))
    expect(plan.changes).toEqual([{ resource: `file:${DEST}`, action: 'update', field: 'mode', before: '0600', after: '0644' }])
    expect(plan.commands?.map((c) => c.display)).toEqual([`set mode 0644 on ${DEST}`])
  })

  it('fetches with curl on the host: URL and credentials on stdin only, masked in the display, the file predicted with its sum', async () => {
    const plan = await planWith(downloadStep(args), { ...recorded(fileState, [DEST], ABSENT), ...withCurl })
    expect(plan.changes).toEqual([
      { resource: `file:${DEST}`, action: 'create', field: 'content', after: `sha256:${SUM.slice(0, 12)}… (size unknown)` },
      { resource: `file:${DEST}`, action: 'create', field: 'mode', after: '0644' },
    ])
    const [cmd] = plan.commands ?? []
    expect(cmd?.display).toBe(`download https://***@files.example/restic/NOTES to ${DEST} (curl on the host)`)
    expect(cmd?.script).not.toContain('hunter22')
    expect(cmd?.script).toContain('curl -q -K - -fsSL -o "$t"')
    expect(cmd?.stdin).toBe('url = "https://deploy:hunter22@files.example/restic/NOTES"\n')
    expect(cmd?.sensitiveStdin).toBe(true)
    expect(plan.predict).toEqual([{ key: `file.state ${JSON.stringify([DEST])}`, value: { kind: 'file', mode: 0o644, owner: 'root', group: 'root', size: UNKNOWN_SIZE, sha256: SUM } }])
  })

  it('replaces a file with another sum, keeping its owner by id', async () => {
    const old: FileState = { ...THERE, sha256: OTHER, content: 'something else', uid: 1000, gid: 1000, owner: 'deploy', group: 'deploy' }
    const plan = await planWith(downloadStep({ ...args, mode: undefined }), { ...recorded(fileState, [DEST], old), ...withCurl })
    expect(plan.changes).toEqual([{ resource: `file:${DEST}`, action: 'update', field: 'content', before: 'something else', after: `sha256:${SUM.slice(0, 12)}… (size unknown)` }])
    expect(plan.commands?.[0]?.script).toContain(`chown -- '1000' "$t"`)
  })

  it('uses wget when the host has only wget, headers on stdin as wgetrc lines, secret ones never in script or display', async () => {
    const facts = { ...recorded(fileState, [DEST], ABSENT), ...recorded(commandsFound, [['curl', 'wget']], ['wget']) }
    const plan = await planWith(downloadStep({ url: 'https://files.example/NOTES', dest: DEST, sha256: SUM, headers: { Authorization: secret('Bearer tok-123456'), Accept: 'text/plain' }, timeout: 30 }), facts)
    const [cmd] = plan.commands ?? []
    expect(cmd?.display).toBe(`download https://files.example/NOTES to ${DEST} (wget on the host)`)
    expect(cmd?.stdin).toBe('header = Authorization: Bearer tok-123456\nheader = Accept: text/plain\n')
    expect(cmd?.script).toContain(`timeout 30 wget -nv --tries=1 --config="$h" -O "$t" 'https://files.example/NOTES'`)
    expect(cmd?.script).not.toContain('tok-123456')
    expect(cmd?.sensitiveStdin).toBe(true)
  })

  it('in a check run, a host without curl plans the host fetch when an earlier step installs curl', async () => {
    const facts = { ...recorded(fileState, [DEST], ABSENT), ...recorded(commandsFound, [['curl', 'wget']], []), ...recorded(pendingInstalls, [], ['curl']) }
    const plan = await planWith(downloadStep(args), facts)
    expect(plan.commands?.[0]?.display).toContain('(curl on the host)')
  })

  it('via host without curl or wget fails naming the host and what to do', async () => {
    await expect(planWith(downloadStep({ ...args, via: 'host' }), { ...recorded(fileState, [DEST], ABSENT), ...bare })).rejects.toThrow(
      `download ${DEST}: host h1 has neither curl nor wget; install one first (packages({ names: ['curl'] })) or set via: 'controller'`,
    )
  })

  it('rejects a bad sum, a bad URL and a header value with a line break, before reading the host', async () => {
    await expect(planWith(downloadStep({ ...args, sha256: 'abc' }), {})).rejects.toThrow(`download ${DEST}: sha256 must be 64 hexadecimal digits, got "abc"`)
    await expect(planWith(downloadStep({ ...args, url: 'file:///etc/passwd' }), {})).rejects.toThrow('url must be an http, https or ftp URL')
    await expect(planWith(downloadStep({ ...args, headers: { 'X-Token': secret('a\nb') } }), {})).rejects.toThrow('the value of header X-Token holds a line break')
  })

  it('an ftp URL cannot be fetched by the controller', async () => {
    await expect(planWith(downloadStep({ ...args, url: 'FTP://files.example/NOTES' }), { ...recorded(fileState, [DEST], ABSENT), ...bare })).rejects.toThrow(
      `download ${DEST}: the controller fetches only http and https URLs; install curl or wget on host h1`,
    )
  })

  it('a directory at dest fails without fetching', async () => {
    await expect(planWith(downloadStep(args), recorded(fileState, [DEST], { kind: 'directory', mode: 0o755, owner: 'root', group: 'root' }))).rejects.toThrow(`${DEST} is a directory, not a file`)
  })

  it('masks user and password of a URL', () => {
    expect(maskUrl('ftp://u:p@h.example/x')).toBe('ftp://***@h.example/x')
    expect(maskUrl('https://h.example/x?y=1')).toBe('https://h.example/x?y=1')
    expect(maskUrl('ssh://git:pw@h.example/srv/r.git')).toBe('ssh://git:***@h.example/srv/r.git')
    expect(maskUrl('git@h.example:srv/r.git')).toBe('git@h.example:srv/r.git')
  })
})

describe('download: applied for real against a loopback server', () => {
  const big = Buffer.alloc(3 << 20, 7)
  const bigSum = createHash('sha256').update(big).digest('hex')
  const seen: { url: string; headers: IncomingHttpHeaders }[] = []
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers })
    if (req.url === '/notes') res.end(BODY)
    else if (req.url === '/big') res.end(big)
    else {
      res.statusCode = 404
      res.end('no such file\n')
    }
  })
  let base = ''
  const root = mkdtempSync(join(tmpdir(), 'havn-download-'))
  const noCurl = join(root, 'no-curl-bin')
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const addr = server.address()
    if (addr === null || typeof addr === 'string') throw new Error('no port')
    base = `http://127.0.0.1:${addr.port}`
    mkdirSync(noCurl)
    for (const name of readdirSync('/usr/bin')) if (name !== 'curl') symlinkSync(join('/usr/bin', name), join(noCurl, name))
  })
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()))
    rmSync(root, { recursive: true, force: true })
  })

  for (const via of ['curl', 'wget', 'controller'] as const) {
    it(`${via}: fetches, verifies and renames into place; a second plan changes nothing and fetches nothing; a wrong sum leaves no file and no temp`, async () => {
      const dir = mkdtempSync(join(root, `${via}-`))
      const dest = join(dir, 'big.bin')
      const remote = localRemote()
      const exec = remote.exec.bind(remote)
      // The host picks curl before wget: the wget case runs with a PATH that lacks curl.
      const onlyWget = { ...remote, exec: (script: string, opts?: Parameters<typeof exec>[1]) => exec(`PATH=${noCurl}\n${script}`, opts) }
      const host = via === 'wget' ? onlyWget : remote
      const withUser = `http://user:pw-secret@${base.slice('http://'.length)}/big`
      const args: DownloadArgs = { url: withUser, dest, sha256: bigSum, mode: 0o640, headers: { 'X-Token': secret('tok-987654') }, ...(via === 'controller' ? { via: 'controller' } : {}) }
      const before = seen.length
      const plan = await planOn(downloadStep(args), host)
      expect(plan.commands?.[0]?.display).toBe(via === 'controller' ? `write ${dest}` : `download http://***@${base.slice('http://'.length)}/big to ${dest} (${via} on the host)`)
      await applyPlan(plan, host)
      expect(createHash('sha256').update(readFileSync(dest)).digest('hex')).toBe(bigSum)
      expect(statSync(dest).mode & 0o777).toBe(0o640)
      expect(seen.length).toBe(before + 1)
      expect(seen.at(-1)?.headers['x-token']).toBe('tok-987654')
      expect(seen.at(-1)?.headers.authorization).toBe(`Basic ${Buffer.from('user:pw-secret').toString('base64')}`)
      expect((await planOn(downloadStep(args), host)).changes).toEqual([])
      expect(seen.length).toBe(before + 1)

      const wrong = join(dir, 'notes.txt')
      const bad = { ...args, url: `${base}/notes`, dest: wrong, sha256: OTHER }
      const failure = planOn(downloadStep(bad), host).then((p) => applyPlan(p, host))
      await expect(failure).rejects.toThrow(`sha256 mismatch for ${base}/notes`)
      await expect(failure).rejects.toThrow(`expected ${OTHER}, got ${SUM}`)
      expect(readdirSync(dir)).toEqual(['big.bin'])
    })
  }

  it('curl: an HTTP error fails naming the masked URL and leaves no temp file', async () => {
    const dir = mkdtempSync(join(root, 'missing-'))
    writeFileSync(join(dir, 'keep'), 'x')
    const remote = localRemote()
    const args: DownloadArgs = { url: `http://a:b@${base.slice('http://'.length)}/nothing`, dest: join(dir, 'f'), sha256: SUM, via: 'host' }
    const failure = planOn(downloadStep(args), remote).then((p) => applyPlan(p, remote))
    await expect(failure).rejects.toThrow(`fetching http://***@${base.slice('http://'.length)}/nothing failed (curl exit 22)`)
    expect(readdirSync(dir)).toEqual(['keep'])
  })
})
