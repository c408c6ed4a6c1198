import { shQuote } from '../connection/quote.ts'
import type { Change } from '../engine/events.ts'
import { predict, type Prediction } from '../engine/facts.ts'
import type { Handler } from '../engine/handlers.ts'
import { runStep, type StepResult, type StepSpec } from '../engine/step.ts'
import { assertPackageNames, packagesState, pendingInstalls, pendingSources, type PackagesState, type PackageStatus } from '../facts/packages.ts'
import type { RetryKeywords } from '../engine/retry.ts'

/** Arguments of {@link packages}. */
export interface PackagesArgs extends RetryKeywords {
  readonly names: readonly string[]
  /** `present` (default) installs missing ones, `latest` also upgrades to the candidate, `absent` removes (no purge). */
  readonly state?: 'present' | 'absent' | 'latest'
  /**
   * Refresh the package index (`apt-get update` / `dnf makecache`) before installing, in the same
   * command. It runs only when something is to be installed or upgraded; a package apt does not
   * know yet is then planned for install instead of failing.
   */
  readonly updateCache?: boolean
  readonly notify?: readonly Handler[]
}

const APT_ENV = 'DEBIAN_FRONTEND=noninteractive'
const APT_INSTALL = 'apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold'

/** Seconds waited between retries when another apt/dpkg run holds the lock; about 60 s in all. */
export const APT_LOCK_RETRY_DELAYS_S: readonly number[] = [1, 2, 4, 8, 15, 15, 15]

const APT_LOCK_ERROR = 'Could not get lock|Unable to acquire the dpkg frontend lock|Unable to lock (the )?(administration )?directory|dpkg frontend lock was locked'

/**
 * Wraps an apt script so the host runs it again while it fails only because another package
 * manager run holds apt's lock, waiting `delays` seconds between tries; the last try's exit code
 * and stderr are the command's. The retries live in the script, so the plan stays one command.
 */
export function retryOnAptLock(script: string, delays: readonly number[] = APT_LOCK_RETRY_DELAYS_S): string {
  return [
    `for d in ${delays.join(' ')} last; do`,
    '  e=$(mktemp) || exit 1',
    `  ( ${script}\n  ) 2>"$e"; rc=$?`,
    `  if [ $rc -ne 0 ] && [ "$d" != last ] && grep -Eq ${shQuote(APT_LOCK_ERROR)} "$e"; then rm -f "$e"; sleep "$d"; continue; fi`,
    '  cat "$e" >&2; rm -f "$e"; exit $rc',
    'done',
  ].join('\n')
}

interface Script {
  readonly script: string
  readonly display: string
}

/** `finish`: dpkg was interrupted on the host, so its pending work is completed first, as apt demands. */
function aptScript(verb: 'install' | 'remove', names: readonly string[], updateCache: boolean, finish: boolean): Script {
  const words = names.map(shQuote).join(' ')
  const lines = [`export ${APT_ENV}`]
  if (finish) lines.push('dpkg --configure -a --force-confdef --force-confold || exit $?')
  if (updateCache) lines.push('apt-get update -q || exit $?')
  lines.push(verb === 'install' ? `${APT_INSTALL} -- ${words}` : `apt-get remove -y -q -- ${words}`)
  const display = `${finish ? 'dpkg --configure -a && ' : ''}${updateCache ? 'apt-get update && ' : ''}apt-get ${verb} ${names.join(' ')}`
  return { script: lines.join('\n'), display }
}

function dnfScript(install: readonly string[], upgrade: readonly string[], remove: readonly string[], updateCache: boolean): Script {
  const lines: string[] = []
  const shown: string[] = []
  if (updateCache) {
    lines.push('dnf -y -q makecache || exit $?')
    shown.push('dnf makecache')
  }
  if (install.length) {
    lines.push(`dnf -y install -- ${install.map(shQuote).join(' ')} || exit $?`)
    shown.push(`dnf install ${install.join(' ')}`)
  }
  if (upgrade.length) {
    lines.push(`dnf -y upgrade -- ${upgrade.map(shQuote).join(' ')} || exit $?`)
    shown.push(`dnf upgrade ${upgrade.join(' ')}`)
  }
  if (remove.length) {
    lines.push(`dnf -y remove -- ${remove.map(shQuote).join(' ')} || exit $?`)
    shown.push(`dnf remove ${remove.join(' ')}`)
  }
  return { script: lines.join('\n'), display: shown.join(' && ') }
}

/** The fact keys a later step may read these packages under: the whole list and each name alone. */
function predictions(names: readonly string[], before: PackagesState, after: (name: string, s: PackageStatus) => PackageStatus): Prediction[] {
  const status = (n: string): PackageStatus => after(n, before.packages[n] ?? { queried: false })
  // The step leaves dpkg finished, so `interrupted` is not carried over.
  const value = (list: readonly string[]): PackagesState => ({
    manager: before.manager,
    packages: Object.fromEntries(list.map((n) => [n, status(n)])),
  })
  const out: Prediction[] = []
  const lists = [names, ...(names.length > 1 ? names.map((n) => [n]) : [])]
  for (const list of lists) for (const latest of [false, true]) out.push(predict(packagesState, [list, latest], value(list)))
  return out
}

/** Plans `packages(args)`: one fact read; one apt/dnf command for the whole list when something differs. */
export function packagesStep(args: PackagesArgs): StepSpec {
  const state = args.state ?? 'present'
  const names = [...new Set(args.names)]
  const updateCache = args.updateCache ?? false
  return {
    name: `packages ${state} ${names.join(' ')}`,
    notify: args.notify,
    async plan(ctx) {
      assertPackageNames(names)
      if (names.length === 0) return { changes: [] }
      const facts = await ctx.fact(packagesState, names, state === 'latest')
      if (facts.manager === 'none') throw new Error(`host ${ctx.host.name}: no supported package manager (neither apt-get nor dnf found)`)
      const apt = facts.manager === 'apt'
      const get = (n: string): PackageStatus => facts.packages[n] ?? { queried: false }
      const changes: Change[] = []
      const install: string[] = []
      const upgrade: string[] = []
      const remove: string[] = []
      let uncertain: string | undefined

      if (state === 'absent') {
        for (const n of names) {
          const s = get(n)
          if (s.installed === undefined) continue
          remove.push(n)
          changes.push({ resource: `package:${n}`, action: 'delete', field: 'version', before: s.installed, after: '(absent)' })
        }
      } else {
        const unknown: string[] = []
        for (const n of names) {
          const s = get(n)
          if (s.installed === undefined) {
            // apt answers from its local index, so "no candidate" means the name is wrong or the index is stale.
            if (apt && s.queried && s.candidate === undefined && !updateCache) unknown.push(n)
            install.push(n)
            changes.push({ resource: `package:${n}`, action: 'create', field: 'version', before: '(absent)', after: s.candidate ?? 'latest' })
          } else if (state === 'latest') {
            if (s.candidate === undefined) {
              // apt lists an installed package as its own candidate, so only dnf with an empty cache gets here.
              if (apt) continue
              uncertain = `newest version of ${n} is unknown (dnf metadata cache is empty)`
              upgrade.push(n)
              changes.push({ resource: `package:${n}`, action: 'update', field: 'version', before: s.installed, after: 'latest' })
              continue
            }
            if (s.candidate === s.installed) continue
            upgrade.push(n)
            changes.push({ resource: `package:${n}`, action: 'update', field: 'version', before: s.installed, after: s.candidate })
          }
        }
        // A repository an earlier step adds (and refreshes the index for) may bring them: that install cannot be known before it.
        const sources = unknown.length ? await ctx.fact(pendingSources) : []
        if (unknown.length && sources.length) {
          uncertain = `package(s) ${unknown.join(', ')} not in apt's index yet; repository ${sources.join(', ')}, added earlier in this run, may provide them`
        } else if (unknown.length) {
          throw new Error(
            `host ${ctx.host.name}: package(s) ${unknown.join(', ')} not available from apt (no installation candidate); check the name, or set updateCache: true`,
          )
        }
      }
      if (changes.length === 0) return { changes }
      const finish = apt && facts.interrupted === true
      if (finish) changes.unshift({ resource: 'dpkg', action: 'update', field: 'state', before: 'interrupted', after: 'configured' })

      const script = apt
        ? state === 'absent'
          ? aptScript('remove', remove, false, finish)
          : aptScript('install', [...install, ...upgrade], updateCache, finish)
        : dnfScript(install, upgrade, remove, updateCache && state !== 'absent')
      const predicted = predictions(names, facts, (n, s) => {
        if (remove.includes(n)) return { queried: s.queried, ...(s.candidate !== undefined ? { candidate: s.candidate } : {}) }
        if (install.includes(n) || upgrade.includes(n)) {
          const version = s.candidate ?? 'latest'
          return { installed: version, candidate: version, queried: true }
        }
        return s
      })
      // Debian's maintainer scripts start and enable the services a package brings; later steps plan on that.
      if (apt && install.length > 0) {
        const earlier = await ctx.fact(pendingInstalls)
        predicted.push(predict(pendingInstalls, [], [...new Set([...earlier, ...install])]))
      }
      return {
        changes,
        predict: predicted,
        ...(uncertain !== undefined ? { uncertain } : {}),
        commands: [apt ? { script: retryOnAptLock(script.script), display: script.display } : script],
      }
    },
  }
}

/** Ensures packages are installed (optionally at the newest version) or removed; apt, or dnf on Fedora/RHEL. */
export function packages(args: PackagesArgs): Promise<StepResult> {
  return runStep(packagesStep(args), args)
}
