import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { factKey } from '../../src/engine/facts.ts'
import { fileState, type FileState } from '../../src/facts/file.ts'
import { osInfo, type OsInfo } from '../../src/facts/os.ts'
import { pendingSources } from '../../src/facts/packages.ts'
import { secret, secretValues } from '../../src/connection/quote.ts'
import { aptRepositoryStep, guardedRefresh, type AptRepositoryArgs } from '../../src/modules/apt-repository.ts'
import { planWith, recorded, type RecordedFacts } from '../support/plan-with.ts'

// os.info of the bed's bookworm hosts, and of a Fedora host (recorded there: there is no dnf host in the bed).
const BOOKWORM: OsInfo = { id: 'debian', idLike: [], versionId: '12', initSystem: 'sysv', packageManager: 'apt', memTotalBytes: 4_110_000_128 }
const FEDORA: OsInfo = { id: 'fedora', idLike: [], versionId: '40', initSystem: 'systemd', packageManager: 'dnf', memTotalBytes: 2_062_000_128 }
const KEY = '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEaxV78hYJKwYBBAHaRw8BAQdA\n=rw5V\n-----END PGP PUBLIC KEY BLOCK-----\n'
const SOURCE = '/etc/apt/sources.list.d/vendor.sources'
const ASC = '/etc/apt/keyrings/vendor.asc'
const GPG = '/etc/apt/keyrings/vendor.gpg'
const NEW: FileState = { kind: 'absent', parentIsDirectory: true, creator: { owner: 'root', group: 'root', umask: 0o022 } }
const file = (content: string, mode = 0o644): FileState => ({
  kind: 'file', mode, owner: 'root', group: 'root', uid: 0, gid: 0, size: Buffer.byteLength(content),
  sha256: createHash('sha256').update(content).digest('hex'), content,
})
const ARGS: AptRepositoryArgs = { name: 'vendor', uris: 'https://apt.example.org/debian', suites: 'bookworm', components: ['main', 'contrib'], architectures: ['amd64'], key: KEY }
const RENDERED = `# Managed by havn: apt repository vendor
Types: deb
URIs: https://apt.example.org/debian
Suites: bookworm
Components: main contrib
Architectures: amd64
Signed-By: ${ASC}
`
/** Scratch space for controller key files and the guard's runs; removed at the end. */
const scratch = mkdtempSync(join(tmpdir(), 'havn-aptrepo-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const apt = (files: Record<string, FileState>, os: OsInfo = BOOKWORM, pending: string[] = []): RecordedFacts => ({
  ...recorded(osInfo, [], os),
  ...recorded(pendingSources, [], pending),
  ...Object.assign({}, ...Object.entries(files).map(([p, s]) => recorded(fileState, [p], s))),
})

describe('aptRepository on apt: planning from recorded facts', () => {
  it('writes the key and the deb822 source, then fetches the index of this source alone, predicting it pending for later installs', async () => {
    const plan = await planWith(aptRepositoryStep(ARGS), apt({ [SOURCE]: NEW, [ASC]: NEW, [GPG]: NEW }, BOOKWORM, ['other']))
    expect(plan.changes.map((c) => `${c.resource} ${c.action} ${c.field}`)).toEqual([
      `file:${ASC} create content`, `file:${ASC} create mode`, `file:${ASC} create owner`, `file:${ASC} create group`,
      `file:${SOURCE} create content`, `file:${SOURCE} create mode`, `file:${SOURCE} create owner`, `file:${SOURCE} create group`,
    ])
    expect(plan.changes.find((c) => c.resource === `file:${SOURCE}` && c.field === 'content')?.after).toBe(RENDERED)
    expect(plan.commands?.map((c) => c.display)).toEqual([`save ${SOURCE}, ${ASC}, ${GPG}`, `write ${ASC}`, `write ${SOURCE}`, 'apt-get update (vendor.sources only)'])
    expect(plan.commands?.[1]?.stdin).toBe(KEY)
    expect(plan.commands?.[2]?.stdin).toBe(RENDERED)
    expect(plan.commands?.[3]?.script).toContain(`apt-get update -q --error-on=any -o Dir::Etc::SourceList='${SOURCE}' -o Dir::Etc::SourceParts=/dev/null -o APT::Get::List-Cleanup=0`)
    const predicted = new Map(plan.predict?.map((p) => [p.key, p.value]))
    expect(predicted.get(factKey(pendingSources, []))).toEqual(['other', 'vendor'])
    expect(predicted.get(factKey(fileState, [SOURCE]))).toMatchObject({ kind: 'file', content: RENDERED, mode: 0o644 })
    expect(predicted.get(factKey(fileState, [ASC]))).toMatchObject({ kind: 'file', content: KEY })
  })

  it('changes nothing, and fetches nothing, when both files are as wanted', async () => {
    expect(await planWith(aptRepositoryStep(ARGS), apt({ [SOURCE]: file(RENDERED), [ASC]: file(KEY), [GPG]: NEW }))).toEqual({ changes: [] })
  })

  it('fetches again when only the key changed', async () => {
    const plan = await planWith(aptRepositoryStep(ARGS), apt({ [SOURCE]: file(RENDERED), [ASC]: file(KEY.replace('rw5V', 'xxxx')), [GPG]: NEW }))
    expect(plan.changes.map((c) => `${c.resource} ${c.field}`)).toEqual([`file:${ASC} content`])
    expect(plan.commands?.map((c) => c.display)).toEqual([`save ${SOURCE}, ${ASC}, ${GPG}`, `write ${ASC}`, 'apt-get update (vendor.sources only)'])
  })

  it('fixes a mode in place without fetching', async () => {
    const plan = await planWith(aptRepositoryStep(ARGS), apt({ [SOURCE]: file(RENDERED, 0o600), [ASC]: file(KEY), [GPG]: NEW }))
    expect(plan.changes).toEqual([{ resource: `file:${SOURCE}`, action: 'update', field: 'mode', before: '0600', after: '0644' }])
    expect(plan.commands?.map((c) => c.display)).toEqual([`set mode 0644 on ${SOURCE}`])
    expect(plan.predict?.map((p) => p.key)).not.toContain(factKey(pendingSources, []))
  })

  it('writes a disabled source without fetching, and a flat repository without components or key', async () => {
    const disabled = await planWith(aptRepositoryStep({ ...ARGS, enabled: false }), apt({ [SOURCE]: file(RENDERED), [ASC]: file(KEY), [GPG]: NEW }))
    expect(disabled.changes.map((c) => c.after)).toEqual([RENDERED.replace('Signed-By', 'Enabled: no\nSigned-By')])
    expect(disabled.commands?.map((c) => c.display)).toEqual([`write ${SOURCE}`])
    const flat = await planWith(aptRepositoryStep({ name: 'vendor', uris: 'file:/srv/repo', suites: './' }), apt({ [SOURCE]: NEW, [ASC]: NEW, [GPG]: NEW }))
    expect(flat.changes[0]?.after).toBe('# Managed by havn: apt repository vendor\nTypes: deb\nURIs: file:/srv/repo\nSuites: ./\n')
  })

  it('takes a binary key file from the controller as .gpg, streamed, and removes the .asc it replaces', async () => {
    const dir = mkdtempSync(join(scratch, 'k-'))
    const bytes = Buffer.from([0x98, 0x33, 0x04, 0x6b, 0x15, 0x7b, 0xf2, 0x16, 0x09, 0x2b])
    writeFileSync(join(dir, 'vendor.gpg'), bytes)
    const { key: _key, ...rest } = ARGS
    const plan = await planWith(aptRepositoryStep({ ...rest, keyFile: join(dir, 'vendor.gpg') }), apt({ [SOURCE]: file(RENDERED), [ASC]: file(KEY), [GPG]: NEW }))
    expect(plan.changes.map((c) => `${c.resource} ${c.action} ${c.field ?? '-'}`)).toEqual([
      `file:${GPG} create content`, `file:${GPG} create mode`, `file:${GPG} create owner`, `file:${GPG} create group`,
      `file:${ASC} delete -`,
      `file:${SOURCE} update content`,
    ])
    expect(plan.commands?.[1]).toMatchObject({ display: `write ${GPG}`, stdinFile: join(dir, 'vendor.gpg') })
    expect(plan.changes.at(-1)?.after).toContain(`Signed-By: ${GPG}\n`)
    expect(plan.commands?.at(-1)?.display).toBe('apt-get update (vendor.sources only)')
  })

  it('absent removes the source and its keys, without fetching; nothing when they are gone', async () => {
    const plan = await planWith(aptRepositoryStep({ name: 'vendor', state: 'absent' }), apt({ [SOURCE]: file(RENDERED), [ASC]: file(KEY), [GPG]: NEW }))
    expect(plan.changes.map((c) => `${c.resource} ${c.action}`)).toEqual([`file:${SOURCE} delete`, `file:${ASC} delete`])
    expect(plan.commands?.map((c) => c.display)).toEqual([`remove ${SOURCE}`, `remove ${ASC}`])
    expect(await planWith(aptRepositoryStep({ name: 'vendor', state: 'absent' }), apt({ [SOURCE]: NEW, [ASC]: NEW, [GPG]: NEW }))).toEqual({ changes: [] })
  })

  it('keeps credentials in URIs out of diffs, output and errors: a password in the URI, or a secret() URI', async () => {
    const canary = 'c4nary-Pw%21'
    for (const uris of [`https://deploy:${canary}@apt.example.org/debian`, secret('https://token@apt.example.org/debian')]) {
      const plan = await planWith(aptRepositoryStep({ ...ARGS, uris }), apt({ [SOURCE]: NEW, [ASC]: file(KEY), [GPG]: NEW }))
      const content = plan.changes.find((c) => c.resource === `file:${SOURCE}` && c.field === 'content')
      expect(content).toEqual({ resource: `file:${SOURCE}`, action: 'create', field: 'content', sensitive: true })
      const write = plan.commands?.find((c) => c.display === `write ${SOURCE}`)
      expect(write?.sensitiveStdin).toBe(true)
      expect(String(write?.stdin)).toMatch(/URIs: https:\/\/(deploy:c4nary-Pw%21|token)@apt\.example\.org\/debian/)
      expect(JSON.stringify(plan.changes)).not.toMatch(/c4nary|token/)
    }
    // Registered, so the run's last line of defence scrubs it from anything apt prints, as given and decoded.
    expect(secretValues()).toEqual(expect.arrayContaining([canary, 'c4nary-Pw!']))
    await expect(planWith(aptRepositoryStep({ ...ARGS, uris: ['https://a', `https://u:${canary}@a b`] }), apt({}))).rejects.toThrow('aptRepository vendor: uri "https://***@a b" must be one word')
    await expect(planWith(aptRepositoryStep({ ...ARGS, uris: secret(`https://${canary} x`) }), apt({}))).rejects.toThrow('aptRepository vendor: uri *** must be one word')
  })

  it('refuses bad arguments, naming the repository', async () => {
    const os = apt({})
    await expect(planWith(aptRepositoryStep({ ...ARGS, name: 'a b' }), os)).rejects.toThrow(/aptRepository name must be/)
    await expect(planWith(aptRepositoryStep({ ...ARGS, components: undefined }), os)).rejects.toThrow('aptRepository vendor: components are required unless the suite ends with /')
    await expect(planWith(aptRepositoryStep({ ...ARGS, suites: './' }), os)).rejects.toThrow(/flat repository .* takes no components/)
    await expect(planWith(aptRepositoryStep({ ...ARGS, uris: 'https://x y' }), os)).rejects.toThrow(/uri "https:\/\/x y" must be one word/)
    await expect(planWith(aptRepositoryStep({ ...ARGS, key: 'mDMEaxV78hYJ' }), apt({ [SOURCE]: NEW }))).rejects.toThrow(/key must be an armored public key/)
    await expect(planWith(aptRepositoryStep({ ...ARGS, keyFile: '/nonexistent/k.gpg' }), apt({ [SOURCE]: NEW }))).rejects.toThrow(/give key or keyFile, not both/)
    await expect(planWith(aptRepositoryStep({ ...ARGS, key: undefined, keyFile: '/nonexistent/k.gpg' }), apt({ [SOURCE]: NEW }))).rejects.toThrow('aptRepository vendor: cannot read keyFile /nonexistent/k.gpg on the controller: no such file')
  })
})

describe('aptRepository on dnf: planning from recorded facts', () => {
  const REPO = '/etc/yum.repos.d/vendor.repo'
  const RPMKEY = '/etc/pki/rpm-gpg/RPM-GPG-KEY-vendor'

  it('writes a .repo with gpgkey and the key, then makes the cache of this repository alone', async () => {
    const plan = await planWith(aptRepositoryStep({ name: 'vendor', uris: 'https://rpm.example.org/el9/$basearch', description: 'Vendor packages', key: KEY }), apt({ [REPO]: NEW, [RPMKEY]: NEW }, FEDORA))
    expect(plan.changes.find((c) => c.resource === `file:${REPO}` && c.field === 'content')?.after).toBe(
      `# Managed by havn: repository vendor\n[vendor]\nname=Vendor packages\nbaseurl=https://rpm.example.org/el9/$basearch\nenabled=1\ngpgcheck=1\ngpgkey=file://${RPMKEY}\n`,
    )
    expect(plan.commands?.map((c) => c.display)).toEqual([`save ${REPO}, ${RPMKEY}`, `write ${RPMKEY}`, `write ${REPO}`, 'dnf makecache --repo vendor'])
    expect(plan.commands?.at(-1)?.script).toContain("dnf -q -y makecache --repo 'vendor'")
    expect(new Map(plan.predict?.map((p) => [p.key, p.value])).get(factKey(pendingSources, []))).toEqual(['vendor'])
  })

  it('without a key turns gpgcheck off; absent removes both files; a binary key is refused', async () => {
    const plain = await planWith(aptRepositoryStep({ name: 'vendor', uris: ['https://a/el9', 'https://b/el9'], enabled: false }), apt({ [REPO]: NEW, [RPMKEY]: NEW }, FEDORA))
    expect(plain.changes[0]?.after).toBe('# Managed by havn: repository vendor\n[vendor]\nname=vendor\nbaseurl=https://a/el9 https://b/el9\nenabled=0\ngpgcheck=0\n')
    expect(plain.commands?.map((c) => c.display)).toEqual([`write ${REPO}`])
    const gone = await planWith(aptRepositoryStep({ name: 'vendor', state: 'absent' }), apt({ [REPO]: file('x'), [RPMKEY]: file(KEY) }, FEDORA))
    expect(gone.commands?.map((c) => c.display)).toEqual([`remove ${REPO}`, `remove ${RPMKEY}`])
    const dir = mkdtempSync(join(scratch, 'k-'))
    writeFileSync(join(dir, 'k.gpg'), Buffer.from([0x98, 0x33, 0x04]))
    await expect(planWith(aptRepositoryStep({ name: 'vendor', uris: 'https://a', keyFile: join(dir, 'k.gpg') }), apt({}, FEDORA))).rejects.toThrow(/dnf needs an armored key/)
  })
})

describe('aptRepository: the guarded index fetch (run by sh)', () => {
  /** Runs save, a change of the files, and the fetch (`refresh`) in a scratch directory; returns the exit code and stderr. */
  const scenario = (refresh: string, before: Record<string, string>) => {
    const dir = mkdtempSync(join(scratch, 'guard-'))
    const paths = ['x.sources', 'x.asc', 'x.gpg'].map((n) => join(dir, n))
    for (const [n, text] of Object.entries(before)) writeFileSync(join(dir, n), text)
    const guard = guardedRefresh('x', paths, { script: refresh, display: 'fetch' })
    execFileSync('sh', ['-c', guard.save.script])
    writeFileSync(paths[0]!, 'new source\n')
    writeFileSync(paths[1]!, 'new key\n')
    let code = 0
    let stderr = ''
    try {
      execFileSync('sh', ['-c', guard.refresh.script], { stdio: ['ignore', 'ignore', 'pipe'] })
    } catch (err) {
      code = (err as { status: number }).status
      stderr = String((err as { stderr: Buffer }).stderr)
    }
    const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : '(absent)')
    return { code, stderr, files: paths.map(read), saved: /b='([^']+)'/.exec(guard.save.script)![1]! }
  }

  it('puts the previous files back when the fetch fails, and says which repository failed', () => {
    const r = scenario('echo "E: NO_PUBKEY 287B7DF5EAAB22B6" >&2; exit 100', { 'x.sources': 'old source\n', 'x.gpg': 'old key\n' })
    expect(r.code).toBe(100)
    expect(r.stderr).toMatch(/NO_PUBKEY[\s\S]*havn: fetching the index of repository x \(.*x\.sources\) failed; its previous files were put back/)
    expect(r.files).toEqual(['old source\n', '(absent)', 'old key\n'])
    expect(existsSync(r.saved)).toBe(false)
  })

  it("removes a saved copy that a run which died before its fetch left behind, and no other repository's", () => {
    const stale = '/tmp/.havn-repo-x-0123456789ab'
    const other = '/tmp/.havn-repo-x-y-0123456789ab'
    for (const d of [stale, other]) mkdirSync(d, { recursive: true })
    try {
      const r = scenario('true', {})
      expect(r.code).toBe(0)
      expect(existsSync(stale)).toBe(false)
      expect(existsSync(other)).toBe(true)
    } finally {
      for (const d of [stale, other]) rmSync(d, { recursive: true, force: true })
    }
  })

  it('keeps the new files when the fetch succeeds', () => {
    const r = scenario('true', {})
    expect(r.code).toBe(0)
    expect(r.files).toEqual(['new source\n', 'new key\n', '(absent)'])
    expect(existsSync(r.saved)).toBe(false)
  })
})
