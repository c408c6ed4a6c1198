import { readdirSync, readFileSync, statSync } from 'node:fs'
import { homedir, userInfo } from 'node:os'
import { dirname, isAbsolute, join } from 'node:path'
import { globToRegExp } from './glob.ts'

/** One keyword line of an ssh config file that havn uses. */
interface Line {
  readonly keyword: string
  readonly args: readonly string[]
}

/**
 * Config files flattened into blocks, Includes expanded in place. A block applies when every one of
 * its Host pattern lists matches: one for a top-level Host, more for a Host inside an included file.
 */
interface Block {
  readonly when: readonly (readonly string[])[]
  readonly lines: Line[]
}

/** Keywords whose value havn uses; everything else in the file is irrelevant to connecting with ssh2. */
const USED = new Set(['hostname', 'port', 'user', 'identityfile', 'identitiesonly', 'proxyjump', 'userknownhostsfile', 'globalknownhostsfile', 'hostkeyalias', 'connecttimeout'])

/** Features only `ssh -G` gets right; a file using any of them is left to it. */
class Unsupported extends Error {}

const MAX_INCLUDE_DEPTH = 16

/** Splits a config line as OpenSSH does: `Keyword value…` or `Keyword=value…`, with "double quotes". */
function tokenize(raw: string): string[] | undefined {
  const line = raw.trim()
  if (line === '' || line.startsWith('#')) return undefined
  const m = /^([^\s=]+)\s*(?:=\s*|\s+|$)(.*)$/.exec(line)
  if (!m || !m[1]) return undefined
  const out = [m[1]]
  const rest = m[2] ?? ''
  const re = /"([^"]*)"|(\S+)/g
  for (let t = re.exec(rest); t; t = re.exec(rest)) {
    const word = t[1] ?? t[2] ?? ''
    if (t[2]?.includes('"')) throw new Unsupported('unbalanced quote')
    if (word.startsWith('#') && t[1] === undefined) break
    out.push(word)
  }
  return out
}

/** OpenSSH's Host matching: case-sensitive, some positive pattern matches and no `!` pattern does. */
function hostMatches(patterns: readonly string[], name: string): boolean {
  let positive = false
  for (const p of patterns) {
    const negated = p.startsWith('!')
    const glob = negated ? p.slice(1) : p
    // A config with a block per host is mostly literal names: compare them without a RegExp.
    if (/[*?]/.test(glob) ? globToRegExp(glob).test(name) : glob === name) {
      if (negated) return false
      positive = true
    }
  }
  return positive
}

/** Include targets: `~` and relative paths as OpenSSH resolves them, a wildcard allowed in the last part only. */
function includeFiles(pattern: string, userFile: boolean): string[] {
  const expanded = pattern.startsWith('~/') ? join(homedir(), pattern.slice(2)) : pattern
  const path = isAbsolute(expanded) ? expanded : join(userFile ? join(homedir(), '.ssh') : '/etc/ssh', expanded)
  if (/[*?[]/.test(dirname(path)) || /[[%$]/.test(path)) throw new Unsupported('Include pattern')
  const base = path.slice(dirname(path).length + 1)
  if (!/[*?]/.test(base)) return [path]
  let names: string[]
  try {
    names = readdirSync(dirname(path))
  } catch {
    return []
  }
  const re = globToRegExp(base)
  return names.filter((n) => re.test(n) && !n.startsWith('.')).sort().map((n) => join(dirname(path), n))
}

/** Reads one file into blocks; a missing file has none. */
function readBlocks(file: string, o: { user: boolean; required: boolean }, within: Block['when'], depth: number, out: Block[]): void {
  if (depth > MAX_INCLUDE_DEPTH) throw new Unsupported('Include depth')
  let text: string
  try {
    const st = statSync(file)
    if (!st.isFile()) return
    // ssh refuses a user config others can write to; let `ssh -G` say so.
    if (o.user && (st.mode & 0o022) !== 0) throw new Unsupported('permissions')
    text = readFileSync(file, 'utf8')
  } catch (e) {
    // A missing -F file is an error only `ssh -G` words the way users expect.
    if (e instanceof Unsupported || o.required) throw new Unsupported('unreadable')
    return
  }
  let block: Block = { when: within, lines: [] }
  out.push(block)
  for (const raw of text.split('\n')) {
    const words = tokenize(raw)
    if (!words) continue
    const [kw = '', ...args] = words
    const keyword = kw.toLowerCase()
    if (keyword === 'match' || keyword === 'canonicalizehostname' || keyword === 'canonicaldomains') throw new Unsupported(keyword)
    if (keyword === 'host') {
      // Inside an included file, a Host block applies only where the Include itself applied.
      block = { when: [...within, args], lines: [] }
      out.push(block)
    } else if (keyword === 'include') {
      for (const f of args.flatMap((a) => includeFiles(a, o.user))) readBlocks(f, { user: o.user, required: false }, block.when, depth + 1, out)
      // Lines after the Include still belong to the block it sat in.
      block = { when: block.when, lines: [] }
      out.push(block)
    } else if (USED.has(keyword)) {
      if (args.some((a) => a.includes('${'))) throw new Unsupported('environment variable')
      block.lines.push({ keyword, args })
    }
  }
}

/** The config files ssh reads for `-F file`, or by default the user's then the system's. */
function filesFor(configFile: string | undefined): { file: string; user: boolean; required: boolean }[] {
  if (configFile !== undefined) return configFile === 'none' ? [] : [{ file: configFile, user: true, required: true }]
  return [{ file: join(homedir(), '.ssh', 'config'), user: true, required: false }, { file: '/etc/ssh/ssh_config', user: false, required: false }]
}

/** A parsed ssh config that can answer `ssh -G` for the keywords havn uses. */
export interface SshConfigResolver {
  /** What `ssh -G [-l user] [-p port] name` prints for havn's keywords, as `keyword value` lines. */
  resolve(name: string, o: { user?: string; port?: number }): string
}

/**
 * Parses ssh config in-process when it uses only Host blocks, Include and plain values, so a run
 * does not spawn one `ssh -G` per host. Returns undefined when the config uses what only OpenSSH
 * itself evaluates exactly (Match, canonicalization, tokens or variables in the values that
 * decide where to connect); the caller then asks `ssh -G`.
 */
export function loadSshConfig(configFile: string | undefined): SshConfigResolver | undefined {
  const blocks: Block[] = []
  try {
    for (const f of filesFor(configFile)) readBlocks(f.file, f, [], 0, blocks)
    for (const b of blocks) {
      for (const l of b.lines) {
        if (['hostname', 'user', 'port', 'proxyjump', 'hostkeyalias', 'connecttimeout'].includes(l.keyword) && l.args.some((a) => /%[^h%]/.test(a) || (l.keyword !== 'hostname' && a.includes('%')))) {
          throw new Unsupported(`token in ${l.keyword}`)
        }
        if (['identityfile', 'userknownhostsfile', 'globalknownhostsfile'].includes(l.keyword) && l.args.some((a) => /%[^%dulrhpn]/.test(a))) {
          throw new Unsupported(`token in ${l.keyword}`)
        }
      }
    }
  } catch (e) {
    if (e instanceof Unsupported) return undefined
    throw e
  }
  return { resolve: (name, o) => resolveIn(blocks, name, o) }
}

function resolveIn(blocks: readonly Block[], name: string, o: { user?: string; port?: number }): string {
  const first = new Map<string, readonly string[]>()
  const identityFiles: string[] = []
  for (const b of blocks) {
    if (!b.when.every((patterns) => hostMatches(patterns, name))) continue
    for (const l of b.lines) {
      if (l.keyword === 'identityfile') identityFiles.push(...l.args.slice(0, 1))
      else if (!first.has(l.keyword)) first.set(l.keyword, l.args)
    }
  }
  const one = (k: string): string | undefined => first.get(k)?.[0]
  const hostname = (one('hostname') ?? '%h').replace(/%(h|%)/g, (_, t: string) => (t === 'h' ? name : '%')).toLowerCase()
  const lines = [
    `hostname ${hostname}`,
    `port ${o.port ?? one('port') ?? 22}`,
    `user ${o.user ?? one('user') ?? userInfo().username}`,
    `identitiesonly ${one('identitiesonly')?.toLowerCase() === 'yes' ? 'yes' : 'no'}`,
    ...(identityFiles.length ? identityFiles : ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_xmss', 'id_dsa'].map((n) => `~/.ssh/${n}`)).map((f) => `identityfile ${f}`),
    `userknownhostsfile ${(first.get('userknownhostsfile') ?? ['~/.ssh/known_hosts', '~/.ssh/known_hosts2']).join(' ')}`,
    `globalknownhostsfile ${(first.get('globalknownhostsfile') ?? ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']).join(' ')}`,
    ...(one('proxyjump') ? [`proxyjump ${one('proxyjump')}`] : []),
    ...(one('hostkeyalias') ? [`hostkeyalias ${one('hostkeyalias')}`] : []),
    `connecttimeout ${one('connecttimeout') ?? 'none'}`,
  ]
  return `${lines.join('\n')}\n`
}
