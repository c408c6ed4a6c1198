import { shQuote } from '../connection/quote.ts'
import { defineFact } from '../engine/facts.ts'
import { PACKAGE_MANAGER_SH, type PackageManager } from './os.ts'

/** What the host knows about one package. */
export interface PackageStatus {
  /** Installed version (`install ok installed` for dpkg, `rpm -q` for dnf); undefined when not installed. */
  readonly installed?: string
  /** Version the package manager would install now; undefined when it has none or was not asked. */
  readonly candidate?: string
  /** Whether the candidate was looked up (for missing packages always, for installed ones only with `latest`). */
  readonly queried: boolean
}

/** The host's package manager and the status of each asked-for package, keyed by the given name. */
export interface PackagesState {
  readonly manager: PackageManager
  readonly packages: Readonly<Record<string, PackageStatus>>
  /**
   * apt only: dpkg was stopped in the middle of a run (its journal in /var/lib/dpkg/updates is not
   * empty), so apt refuses to install or remove until `dpkg --configure -a` has finished it.
   */
  readonly interrupted?: boolean
}

/** Names the fact and modules accept: plain package names, optionally with an `:arch` suffix. */
export const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9+._-]*(:[A-Za-z0-9_]+)?$/

/** Throws unless every name is a plain package name; names are spliced into the fact's command. */
export function assertPackageNames(names: readonly string[]): void {
  const bad = names.filter((n) => !PACKAGE_NAME.test(n))
  if (bad.length) throw new Error(`invalid package name(s): ${bad.map((n) => JSON.stringify(n)).join(', ')} (versions and globs are not supported)`)
}

/**
 * The shell that reads package status. Apt: raw `dpkg-query` lines per package, then `apt-cache
 * policy` for those whose candidate is needed, with apt's binary caches kept in memory: otherwise the
 * first read regenerates /var/cache/apt/*.bin, and a check run would have written to the host. Dnf: `rpm -q` per package, then a cache-only
 * `dnf repoquery` (never touches the network) for the candidates.
 */
export function packagesCommand(names: readonly string[], latest: boolean): string {
  assertPackageNames(names)
  const words = names.map(shQuote).join(' ')
  const all = latest ? 1 : 0
  return `set -f
${PACKAGE_MANAGER_SH}
need=
if command -v apt-get >/dev/null 2>&1; then
  [ -n "$(ls -A /var/lib/dpkg/updates 2>/dev/null)" ] && echo '#dpkg-interrupted'
  for p in ${words}; do
    echo "#pkg $p"
    s=$(dpkg-query -W -f='\${Status}\\t\${Version}\\n' "$p" 2>/dev/null)
    [ -n "$s" ] && printf '%s\\n' "$s"
    case "$s" in *'install ok installed'*) [ ${all} = 1 ] && need="$need $p" ;; *) need="$need $p" ;; esac
  done
  if [ -n "$need" ]; then echo "#policy$need"; apt-cache -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= policy $need 2>/dev/null; fi
elif command -v dnf >/dev/null 2>&1; then
  for p in ${words}; do
    echo "#pkg $p"
    if v=$(rpm -q --qf '%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\n' "$p" 2>/dev/null); then
      printf 'rpm %s\\n' "$v"; [ ${all} = 1 ] && need="$need $p"
    else need="$need $p"; fi
  done
  if [ -n "$need" ]; then echo "#repoquery$need"; dnf -C -q repoquery --latest-limit=1 --qf '%{name} %{evr}\\n' $need 2>/dev/null; fi
fi
true`
}

/** Installed versions and candidates of `names`, in one read; `latest` also looks up candidates of installed packages. */
export const packagesState = defineFact({
  name: 'packages.state',
  command: (names: readonly string[], latest: boolean) => packagesCommand(names, latest),
  parse: (res, names: readonly string[]): PackagesState => parsePackagesState(res.stdout, names),
})

/**
 * Packages whose installation an earlier step of this run planned but that the host does not hold
 * yet. A host never has any (a made change is already there), so the read is a no-op that returns
 * none; a check run's predictions fill it in, so later steps can plan on what those installs bring.
 */
export const pendingInstalls = defineFact({
  name: 'packages.pendingInstalls',
  command: () => ':',
  parse: (): readonly string[] => [],
})

/**
 * Package repositories (by name) that an earlier step of this run adds or changes, together with
 * the index refresh that makes their packages known, but that the host does not have yet. Like
 * {@link pendingInstalls}, a host never has any; a check run's predictions fill it in, so a later
 * install from such a repository is planned instead of refused as unknown.
 */
export const pendingSources = defineFact({
  name: 'packages.pendingSources',
  command: () => ':',
  parse: (): readonly string[] => [],
})

/** Parses the output of {@link packagesCommand}. */
export function parsePackagesState(stdout: string, names: readonly string[]): PackagesState {
  const lines = stdout.split('\n')
  const pm = /^pm=(\w+)$/m.exec(stdout)?.[1]
  const manager: PackageManager = pm === 'apt' || pm === 'dnf' ? pm : 'none'
  const installed = new Map<string, string>()
  const queried = new Set<string>()
  const candidates = new Map<string, string>()
  let section: 'pkg' | 'policy' | 'repoquery' | undefined
  let current: string | undefined
  for (const line of lines) {
    if (line.startsWith('#pkg ')) {
      section = 'pkg'
      current = line.slice(5)
      continue
    }
    const head = /^#(policy|repoquery)(.*)$/.exec(line)
    if (head) {
      section = head[1] === 'policy' ? 'policy' : 'repoquery'
      for (const n of (head[2] ?? '').split(' ').filter(Boolean)) queried.add(n)
      current = undefined
      continue
    }
    if (section === 'pkg' && current !== undefined) {
      // A multi-arch package has one dpkg line per architecture; any installed one counts.
      const dpkg = /^install ok installed\t(.+)$/.exec(line)
      const rpm = /^rpm (.+)$/.exec(line)
      const version = dpkg?.[1] ?? rpm?.[1]
      if (version !== undefined) installed.set(current, version.trim())
    } else if (section === 'policy') {
      const block = /^(\S.*):$/.exec(line)
      if (block?.[1]) current = block[1]
      const cand = /^\s+Candidate: (.+)$/.exec(line)?.[1]
      if (current !== undefined && cand !== undefined && cand !== '(none)') candidates.set(current, cand.trim())
    } else if (section === 'repoquery') {
      const m = /^(\S+) (\S+)$/.exec(line)
      if (m?.[1] && m[2] && !candidates.has(m[1])) candidates.set(m[1], m[2])
    }
  }
  const packages: Record<string, PackageStatus> = {}
  for (const name of names) {
    const bare = name.replace(/:[^:]*$/, '')
    const candidate = candidates.get(name) ?? candidates.get(bare)
    packages[name] = {
      ...(installed.has(name) ? { installed: installed.get(name) } : {}),
      ...(candidate !== undefined ? { candidate } : {}),
      queried: queried.has(name),
    }
  }
  return { manager, packages, ...(manager === 'apt' && /^#dpkg-interrupted$/m.test(stdout) ? { interrupted: true } : {}) }
}
