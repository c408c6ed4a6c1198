import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { findMirror, parseDeb822, parseOneLine, pickMirror } from '../testbed/apt-sources.ts'

const DEB822 = `Types: deb
# a comment line
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm
`

describe('parseDeb822', () => {
  it('returns binary stanzas with their suites and skips deb-src', () => {
    expect(parseDeb822(DEB822)).toEqual([
      { uri: 'http://mirror.example/debian', suites: ['bookworm', 'bookworm-updates'] },
      { uri: 'http://mirror.example/debian-security', suites: ['bookworm-security'] },
    ])
  })
  it('honours Enabled: no and folded continuation lines', () => {
    const text = 'Types: deb\nURIs: http://a.example/d\nSuites: bookworm\nEnabled: no\n\nTypes: deb\nURIs: http://b.example/d\nSuites:\n bookworm\n'
    expect(parseDeb822(text)).toEqual([{ uri: 'http://b.example/d', suites: ['bookworm'] }])
  })
})

describe('parseOneLine', () => {
  it('reads deb lines, skipping options, comments and deb-src', () => {
    const text = '# deb http://x.example/old bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://y.example/debian bookworm main\ndeb-src http://z.example/debian bookworm main\n'
    expect(parseOneLine(text)).toEqual([{ uri: 'http://y.example/debian', suites: ['bookworm'] }])
  })
})

describe('pickMirror', () => {
  it('wants the exact suite over http(s), not -security or file:', () => {
    const sources = [
      { uri: 'file:/srv/repo', suites: ['bookworm'] },
      { uri: 'http://sec.example/debian-security', suites: ['bookworm-security'] },
      { uri: 'https://main.example/debian/', suites: ['bookworm'] },
    ]
    expect(pickMirror(sources, 'bookworm')).toBe('https://main.example/debian')
    expect(pickMirror(sources.slice(0, 2), 'bookworm')).toBeUndefined()
  })
  it('builds another release from an archive serving a main suite, preferring an exact match', () => {
    const sources = [
      { uri: 'http://sec.example/debian-security', suites: ['bookworm-security'] },
      { uri: 'http://main.example/debian', suites: ['bookworm', 'bookworm-updates'] },
      { uri: 'http://trixie.example/debian', suites: ['trixie'] },
    ]
    expect(pickMirror(sources.slice(0, 2), 'trixie')).toBe('http://main.example/debian')
    expect(pickMirror(sources, 'trixie')).toBe('http://trixie.example/debian')
  })
})

describe('findMirror', () => {
  let dir = ''
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })
  it('reads .sources and .list files and ignores other suffixes', async () => {
    dir = await mkdtemp(join(tmpdir(), 'havn-apt-'))
    await mkdir(join(dir, 'sources.list.d'))
    await writeFile(join(dir, 'sources.list.d', 'a.sources.disabled'), 'Types: deb\nURIs: http://disabled.example/d\nSuites: bookworm\n')
    await writeFile(join(dir, 'sources.list.d', 'debian.sources'), DEB822)
    expect(await findMirror('bookworm', dir)).toBe('http://mirror.example/debian')
  })
  it('falls back to sources.list and names the files it read when nothing matches', async () => {
    dir = await mkdtemp(join(tmpdir(), 'havn-apt-'))
    await writeFile(join(dir, 'sources.list'), 'deb http://old.example/debian bullseye-security main\n')
    await expect(findMirror('bookworm', dir)).rejects.toThrow(/no apt source serves suite 'bookworm'.*sources\.list/)
    await writeFile(join(dir, 'sources.list'), 'deb http://old.example/debian bookworm main\n')
    expect(await findMirror('bookworm', dir)).toBe('http://old.example/debian')
  })
})
