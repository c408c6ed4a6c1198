import { createHash, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isSecret, registerSecret, shQuote, type Secret } from '../connection/quote.ts'
import type { Change } from '../engine/events.ts'
import { predict, type Prediction } from '../engine/facts.ts'
import type { Handler } from '../engine/handlers.ts'
import type { RetryKeywords } from '../engine/retry.ts'
import { runStep, type PlanContext, type PlannedCommand, type StepPlan, type StepResult, type StepSpec } from '../engine/step.ts'
import { osInfo } from '../facts/os.ts'
import { pendingSources } from '../facts/packages.ts'
import { absentStep, planWrite, readFileState, type SourceFile } from './file.ts'
import { retryOnAptLock } from './packages.ts'

/** Where apt reads deb822 sources (`<name>.sources`). */
export const APT_SOURCES_DIR = '/etc/apt/sources.list.d'
/** Where {@link aptRepository} keeps apt keys, named by `Signed-By`. */
export const APT_KEYRINGS_DIR = '/etc/apt/keyrings'
/** Where dnf reads repositories (`<name>.repo`). */
export const DNF_REPOS_DIR = '/etc/yum.repos.d'
/** Where {@link aptRepository} keeps dnf keys, named by `gpgkey`. */
export const RPM_KEYS_DIR = '/etc/pki/rpm-gpg'

/** Arguments of {@link aptRepository}. */
export interface AptRepositoryArgs extends RetryKeywords {
  /** Names the files (`<name>.sources`, `<name>.asc`): letters, digits, `_`, `-` and `.`. */
  readonly name: string
  /**
   * Where the repository is (`https://…`, `file:/srv/repo`); on dnf hosts its baseurl. Required
   * unless absent. A URI with a password, or given as a `secret()`, makes the source file
   * sensitive: its content never shows in diffs or output.
   */
  readonly uris?: string | Secret | readonly (string | Secret)[]
  /** apt suites (`bookworm`, or `./` for a flat repository). Required on apt unless absent; dnf has none. */
  readonly suites?: string | readonly string[]
  /** apt components (`main`); required unless every suite ends with `/`. apt only, as are types and architectures. */
  readonly components?: string | readonly string[]
  /** apt `Types`; default `deb`. */
  readonly types?: readonly ('deb' | 'deb-src')[]
  readonly architectures?: readonly string[]
  /** Default true; a disabled repository is written but no index is fetched for it. */
  readonly enabled?: boolean
  /** The signing key as armored text (`-----BEGIN PGP PUBLIC KEY BLOCK-----`). */
  readonly key?: string
  /** Or the signing key in a controller file, armored or binary (apt only): a path or a `file:` URL. */
  readonly keyFile?: string | URL
  /** dnf: the repository's `name=`; default its `name`. */
  readonly description?: string
  /** `present` (default), or `absent`: the source (or .repo) file and its key are removed. */
  readonly state?: 'present' | 'absent'
  readonly notify?: readonly Handler[]
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/
const WORD = /^[^\s#]+$/
const ARMOR = '-----BEGIN PGP PUBLIC KEY BLOCK-----'

const list = (v: string | readonly string[] | undefined): readonly string[] => (v === undefined ? [] : typeof v === 'string' ? [v] : v)

const givenUris = (a: AptRepositoryArgs): readonly (string | Secret)[] => (a.uris === undefined ? [] : typeof a.uris === 'string' || isSecret(a.uris) ? [a.uris] : a.uris)
const reveal = (u: string | Secret): string => (isSecret(u) ? u.reveal() : u)

/** The URIs as they go into the file. */
const uriList = (a: AptRepositoryArgs): readonly string[] => givenUris(a).map(reveal)

/**
 * True when a URI is a secret or carries a password; the password is registered as a secret, so
 * output that repeats it (apt's own messages in an error) is scrubbed too.
 */
function hasCredentials(a: AptRepositoryArgs): boolean {
  let found = false
  for (const u of givenUris(a)) {
    const password = URL.canParse(reveal(u)) ? new URL(reveal(u)).password : ''
    if (password !== '') {
      registerSecret(password)
      // apt may print it decoded; a malformed escape leaves only the form given.
      try {
        registerSecret(decodeURIComponent(password))
      } catch {}
    }
    found ||= isSecret(u) || password !== ''
  }
  return found
}

/** The key as it goes to the host: armored text, or the bytes of a binary key file streamed from the controller. */
type Key = { readonly armored: true; readonly text: string } | { readonly armored: false; readonly source: SourceFile }

async function readKey(a: AptRepositoryArgs): Promise<Key | undefined> {
  if (a.key !== undefined && a.keyFile !== undefined) throw new Error(`aptRepository ${a.name}: give key or keyFile, not both`)
  if (a.key !== undefined) {
    if (!a.key.trimStart().startsWith(ARMOR)) throw new Error(`aptRepository ${a.name}: key must be an armored public key (${ARMOR}); give a binary key as keyFile`)
    return { armored: true, text: a.key.endsWith('\n') ? a.key : `${a.key}\n` }
  }
  if (a.keyFile === undefined) return undefined
  const file = a.keyFile instanceof URL ? fileURLToPath(a.keyFile) : a.keyFile
  if (!file.startsWith('/')) throw new Error(`aptRepository ${a.name}: keyFile must be an absolute path or a file: URL, got ${JSON.stringify(file)}`)
  const bytes = await readFile(file).catch((e: NodeJS.ErrnoException) => {
    throw new Error(`aptRepository ${a.name}: cannot read keyFile ${file} on the controller: ${e.code === 'ENOENT' ? 'no such file' : e.message}`)
  })
  const text = bytes.toString('utf8')
  if (text.trimStart().startsWith(ARMOR)) return { armored: true, text }
  return { armored: false, source: { file, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') } }
}

function checkArgs(a: AptRepositoryArgs, apt: boolean): void {
  if (!NAME.test(a.name) || a.name.endsWith('.sources') || a.name.endsWith('.repo')) throw new Error(`aptRepository name must be letters, digits, '_', '-' or '.' (apt skips other file names), got ${JSON.stringify(a.name)}`)
  if ((a.state ?? 'present') === 'absent') return
  const bad = (what: string, values: readonly string[], re = WORD): void => {
    const wrong = values.find((v) => !re.test(v))
    if (wrong !== undefined) throw new Error(`aptRepository ${a.name}: ${what} ${JSON.stringify(wrong)} must be one word`)
  }
  if (uriList(a).length === 0) throw new Error(`aptRepository ${a.name}: uris are required unless state is 'absent'`)
  const wrong = givenUris(a).find((u) => !WORD.test(reveal(u)))
  // Neither a secret URI nor a URI's user and password are repeated in the error.
  if (wrong !== undefined) throw new Error(`aptRepository ${a.name}: uri ${isSecret(wrong) ? '***' : JSON.stringify(wrong.replace(/\/\/[^/]*@/, '//***@'))} must be one word`)
  if (a.description !== undefined && /[\n\r]/.test(a.description)) throw new Error(`aptRepository ${a.name}: description must be one line`)
  if (!apt) return
  const suites = list(a.suites)
  if (suites.length === 0) throw new Error(`aptRepository ${a.name}: suites are required unless state is 'absent'`)
  bad('suite', suites)
  bad('component', list(a.components))
  bad('architecture', a.architectures ?? [], /^[a-z0-9-]+$/)
  bad('type', a.types ?? [], /^deb(-src)?$/)
  const flat = suites.every((s) => s.endsWith('/'))
  if (flat !== (list(a.components).length === 0)) throw new Error(`aptRepository ${a.name}: ${flat ? 'a flat repository (suite ending in /) takes no components' : 'components are required unless the suite ends with /'}`)
}

/** The deb822 source apt reads, `Signed-By` naming the key file. */
export function renderDebSource(a: AptRepositoryArgs, keyPath: string | undefined): string {
  const fields: [string, readonly string[]][] = [
    ['Types', a.types ?? ['deb']],
    ['URIs', uriList(a)],
    ['Suites', list(a.suites)],
    ['Components', list(a.components)],
    ['Architectures', a.architectures ?? []],
    ['Enabled', a.enabled === false ? ['no'] : []],
    ['Signed-By', keyPath ? [keyPath] : []],
  ]
  const body = fields.filter(([, v]) => v.length > 0).map(([k, v]) => `${k}: ${v.join(' ')}\n`).join('')
  return `# Managed by havn: apt repository ${a.name}\n${body}`
}

/** The dnf `.repo` file, `gpgkey` naming the key file (and `gpgcheck` on) when there is one. */
export function renderDnfRepo(a: AptRepositoryArgs, keyPath: string | undefined): string {
  const lines = [
    `# Managed by havn: repository ${a.name}`,
    `[${a.name}]`,
    `name=${a.description ?? a.name}`,
    `baseurl=${uriList(a).join(' ')}`,
    `enabled=${a.enabled === false ? 0 : 1}`,
    `gpgcheck=${keyPath ? 1 : 0}`,
    ...(keyPath ? [`gpgkey=file://${keyPath}`] : []),
  ]
  return `${lines.join('\n')}\n`
}

/** Where one manager keeps a repository's files, and how it fetches the index of that repository alone. */
export interface Layout {
  readonly source: string
  readonly keys: readonly string[]
  readonly refresh: { readonly script: string; readonly display: string }
}

function layoutOf(name: string, apt: boolean): Layout {
  if (!apt) {
    return {
      source: `${DNF_REPOS_DIR}/${name}.repo`,
      keys: [`${RPM_KEYS_DIR}/RPM-GPG-KEY-${name}`],
      refresh: { script: `dnf -q -y makecache --repo ${shQuote(name)}`, display: `dnf makecache --repo ${name}` },
    }
  }
  const source = `${APT_SOURCES_DIR}/${name}.sources`
  // Only this source, and no other's lists removed: an unrelated broken source cannot fail the step.
  const update = `DEBIAN_FRONTEND=noninteractive apt-get update -q --error-on=any -o Dir::Etc::SourceList=${shQuote(source)} -o Dir::Etc::SourceParts=/dev/null -o APT::Get::List-Cleanup=0`
  return {
    source,
    keys: [`${APT_KEYRINGS_DIR}/${name}.asc`, `${APT_KEYRINGS_DIR}/${name}.gpg`],
    refresh: { script: retryOnAptLock(update), display: `apt-get update (${name}.sources only)` },
  }
}

/**
 * Commands that save the repository's files before they change, and after the change fetch its
 * index; when that fails, the saved files are put back (new ones removed), so apt is left as it
 * was and the next run tries again, and the error names the repository.
 */
export function guardedRefresh(name: string, paths: readonly string[], refresh: Layout['refresh']): { save: PlannedCommand; refresh: PlannedCommand } {
  const prefix = `/tmp/.havn-repo-${name}-`
  const b = `${prefix}${randomBytes(6).toString('hex')}`
  const each = (body: (p: string, saved: string) => string): string => paths.map((p) => body(shQuote(p), `"$b"/${shQuote(posix.basename(p))}`)).join('\n')
  // A copy left by a run that died between saving and fetching goes too: the host lock rules out a live one.
  const save = [`b=${shQuote(b)}`, `rm -rf -- ${shQuote(prefix)}????????????; mkdir -m 0700 -- "$b" || exit 3`, each((p, saved) => `if [ -e ${p} ]; then cp -p -- ${p} ${saved} || exit 3; fi`)].join('\n')
  const restore = each((p, saved) => `  if [ -e ${saved} ]; then mv -f -- ${saved} ${p}; else rm -f -- ${p}; fi`)
  const run = [
    `b=${shQuote(b)}`,
    `if ! ( ${refresh.script}\n); then`,
    restore,
    `  rm -rf -- "$b"`,
    `  echo "havn: fetching the index of repository ${name} (${paths[0]}) failed; its previous files were put back" >&2`,
    '  exit 100',
    'fi',
    'rm -rf -- "$b"',
  ].join('\n')
  return { save: { script: save, display: `save ${paths.join(', ')}` }, refresh: { script: run, display: refresh.display } }
}

/** Plans removing whatever of `paths` exists. */
async function planRemove(ctx: PlanContext, paths: readonly string[]): Promise<StepPlan[]> {
  return Promise.all(paths.map((path) => absentStep({ path }).plan(ctx)))
}

/** The step behind {@link aptRepository}; pure, for tests. */
export function aptRepositoryStep(args: AptRepositoryArgs): StepSpec {
  const absent = (args.state ?? 'present') === 'absent'
  return {
    name: `apt repository ${args.name}${absent ? ' absent' : ''}`,
    notify: args.notify,
    async plan(ctx) {
      const os = await ctx.fact(osInfo)
      if (os.packageManager === 'none') throw new Error(`aptRepository ${args.name}: host ${ctx.host.name} has neither apt nor dnf`)
      const apt = os.packageManager === 'apt'
      checkArgs(args, apt)
      const layout = layoutOf(args.name, apt)
      if (absent) return merge(await planRemove(ctx, [layout.source, ...layout.keys]))

      const key = await readKey(args)
      if (key && !key.armored && !apt) throw new Error(`aptRepository ${args.name}: dnf needs an armored key; export it with gpg --armor`)
      // apt takes .asc for armored keys and .gpg for binary ones; dnf has one name for both.
      const keyPath = key ? layout.keys[apt && !key.armored ? 1 : 0]! : undefined
      const content = apt ? renderDebSource(args, keyPath) : renderDnfRepo(args, keyPath)
      const owned = { mode: 0o644, owner: 'root', group: 'root' }
      const [sourceState, keyState] = await Promise.all([readFileState(ctx, layout.source), keyPath ? readFileState(ctx, keyPath) : undefined])
      const plans: StepPlan[] = []
      if (key && keyPath && keyState) plans.push(planWrite({ path: keyPath, state: keyState, ...(key.armored ? { content: key.text } : { source: key.source }), ...owned }))
      plans.push(...(await planRemove(ctx, layout.keys.filter((k) => k !== keyPath))))
      plans.push(planWrite({ path: layout.source, state: sourceState, content, ...owned, sensitive: hasCredentials(args) }))
      const plan = merge(plans)
      // Only new bytes in the source or the key need an index fetch; a mode fixed in place does not.
      const fetch = args.enabled !== false && plan.changes.some((c) => c.field === 'content' || c.action === 'delete')
      if (!fetch) return plan
      const guard = guardedRefresh(args.name, [layout.source, ...layout.keys], layout.refresh)
      const earlier = await ctx.fact(pendingSources)
      return {
        ...plan,
        commands: [guard.save, ...(plan.commands ?? []), guard.refresh],
        predict: [...(plan.predict ?? []), predict(pendingSources, [], [...new Set([...earlier, args.name])])],
      }
    },
  }
}

/** The plans of several files as one: their changes, commands and predictions in order. */
function merge(plans: readonly StepPlan[]): StepPlan {
  const changes: Change[] = plans.flatMap((p) => p.changes)
  if (changes.length === 0) return { changes: [] }
  const missing = plans.find((p) => p.missing)?.missing
  const predictions: Prediction[] = plans.flatMap((p) => p.predict ?? [])
  return { changes, commands: plans.flatMap((p) => p.commands ?? []), predict: predictions, ...(missing ? { missing } : {}) }
}

/**
 * Ensures a package repository and its signing key: on apt a deb822 source
 * `/etc/apt/sources.list.d/<name>.sources` whose `Signed-By` names `/etc/apt/keyrings/<name>.asc`
 * (or `.gpg` for a binary key), on dnf `/etc/yum.repos.d/<name>.repo` with `gpgkey`. Files are
 * written atomically; only when the source or the key changed is the index of this repository
 * alone fetched (`apt-get update`, `dnf makecache`), and if that fails (a wrong key) the old files
 * are put back and the step fails naming the repository. In a check run, later `packages` steps
 * plan installs that only this repository can provide as uncertain instead of refusing them.
 */
export function aptRepository(args: AptRepositoryArgs): Promise<StepResult> {
  return runStep(aptRepositoryStep(args), args)
}
