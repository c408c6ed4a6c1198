import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'

/** One `deb` source as apt sees it: the archive URI and the suites it serves. */
export interface AptSource {
  uri: string
  suites: string[]
}

/** Parses deb822 `.sources` text into its enabled binary (`Types: deb`) sources. */
export function parseDeb822(text: string): AptSource[] {
  const sources: AptSource[] = []
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>()
    let current: string | undefined
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#')) continue
      // Continuation lines fold into the previous field, per deb822.
      if (/^\s/.test(line) && current !== undefined) {
        fields.set(current, `${fields.get(current) ?? ''} ${line.trim()}`)
        continue
      }
      const match = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line)
      if (!match) continue
      current = (match[1] ?? '').toLowerCase()
      fields.set(current, match[2] ?? '')
    }
    const words = (key: string): string[] => (fields.get(key) ?? '').split(/\s+/).filter(Boolean)
    if (!words('types').includes('deb')) continue
    if (/^(no|false)$/i.test((fields.get('enabled') ?? 'yes').trim())) continue
    for (const uri of words('uris')) sources.push({ uri, suites: words('suites') })
  }
  return sources
}

/** Parses one-line-style `sources.list` text into its `deb` sources (options in brackets skipped). */
export function parseOneLine(text: string): AptSource[] {
  const sources: AptSource[] = []
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').replace(/\[[^\]]*\]/, ' ').trim()
    const [type, uri, suite] = line.split(/\s+/)
    if (type === 'deb' && uri && suite) sources.push({ uri, suites: [suite] })
  }
  return sources
}

/**
 * Picks the mirror that serves exactly `suite` (e.g. `bookworm`, not `bookworm-security`) over
 * http(s); failing that, one that serves another release's main suite (a name without a dash),
 * since a Debian archive serves every release: a bookworm machine builds trixie hosts from the
 * archive it already uses. Undefined when there is neither.
 */
export function pickMirror(sources: AptSource[], suite: string): string | undefined {
  const http = sources.filter((s) => /^https?:\/\//.test(s.uri))
  const found = http.find((s) => s.suites.includes(suite)) ?? http.find((s) => s.suites.some((x) => /^[a-z]+$/.test(x)))
  return found?.uri.replace(/\/+$/, '')
}

/**
 * Reads this machine's apt configuration (`/etc/apt/sources.list` and `sources.list.d/*.{list,sources}`)
 * and returns the mirror URI for `suite`. Throws naming the files read when none serves it.
 */
export async function findMirror(suite: string, aptDir = '/etc/apt'): Promise<string> {
  const sources: AptSource[] = []
  const read: string[] = []
  const tryRead = async (path: string): Promise<string | undefined> => {
    try {
      const text = await readFile(path, 'utf8')
      read.push(path)
      return text
    } catch {
      return undefined
    }
  }
  const listDir = join(aptDir, 'sources.list.d')
  const entries = (await readdir(listDir).catch(() => [] as string[])).sort()
  for (const name of entries) {
    // apt ignores other suffixes (e.g. `.disabled`), so must we.
    if (name.endsWith('.sources')) sources.push(...parseDeb822((await tryRead(join(listDir, name))) ?? ''))
    else if (name.endsWith('.list')) sources.push(...parseOneLine((await tryRead(join(listDir, name))) ?? ''))
  }
  sources.push(...parseOneLine((await tryRead(join(aptDir, 'sources.list'))) ?? ''))
  const mirror = pickMirror(sources, suite)
  if (!mirror) {
    throw new Error(
      `testbed: no apt source serves suite '${suite}' over http(s); read: ${read.join(', ') || '(no files)'}`,
    )
  }
  return mirror
}
