import { join } from 'node:path'
import { measure, REPO, type Measured } from './measure.ts'

/** The three havn figures W5 reports. */
export type HavnKind = 'first' | 'second' | 'check'

/** Bed files every havn run gets, exactly as a user would pass them. */
export interface BedFiles {
  readonly sshConfig: string
  readonly knownHosts: string
  readonly identityFile: string
}

/** A measured havn run and whether its recap matched what W5 must do on every host. */
export interface HavnRun extends Measured {
  /** Empty when the exit code and every host's recap were as expected; else what was wrong. */
  readonly problems: string[]
}

interface HostRecapLine {
  changed: number
  wouldChange: number
  failed: number
  unreachable: boolean
}

/**
 * Runs `node bin/havn.js run|check test/bench/w5.ts` on the inventory, measured as a whole process,
 * and checks the JSON recap: a first run changes all 5 steps on each of the `n` hosts, a second run
 * and a check of converged hosts change nothing; nothing fails or is unreachable.
 */
export function runHavn(kind: HavnKind, inventory: string, n: number, files: BedFiles): Promise<HavnRun> {
  return runPlaybook('test/bench/w5.ts', kind === 'check' ? 'check' : 'run', inventory, n, files, kind === 'first' ? 5 : 0)
}

/** `havn run|check PLAYBOOK` measured as a whole process; each of the `n` hosts must report `wantChanged` changes and nothing failed. */
export async function runPlaybook(playbook: string, verb: 'run' | 'check', inventory: string, n: number, files: BedFiles, wantChanged: number): Promise<HavnRun> {
  const args = [join(REPO, 'bin/havn.js'), verb, playbook, '-i', inventory, ...connection(files), '--output', 'json']
  const m = await measure(process.execPath, args, { timeoutMs: 180_000 })
  return { ...m, problems: recapProblems(m, n, wantChanged) }
}

/**
 * Makes a plan of the converged hosts (`check --out`, not measured: it is made before the window),
 * then measures `havn apply` of it, which must change nothing on any of the `n` hosts.
 */
export async function runHavnApply(inventory: string, n: number, files: BedFiles, planFile: string, keyFile: string): Promise<HavnRun> {
  const env = { HAVN_PLAN_KEY_FILE: keyFile }
  const check = await measure(process.execPath, [join(REPO, 'bin/havn.js'), 'check', 'test/bench/w5.ts', '-i', inventory, ...connection(files), '--output', 'json', '--out', planFile], { timeoutMs: 180_000, env })
  if (check.code !== 0) return { ...check, problems: [`check --out exit code ${String(check.code)}; stderr: ${check.stderr.slice(-400)}`] }
  const m = await measure(process.execPath, [join(REPO, 'bin/havn.js'), 'apply', planFile, ...connection(files), '--output', 'json'], { timeoutMs: 180_000, env })
  return { ...m, problems: recapProblems(m, n, 0) }
}

function connection(files: BedFiles): string[] {
  return ['--ssh-config', files.sshConfig, '--known-hosts', files.knownHosts, '--identity', files.identityFile]
}

/** What is wrong with a run's exit code and JSON recap, given the changes each of `n` hosts must report. */
function recapProblems(m: Measured, n: number, wantChanged: number): string[] {
  const problems: string[] = []
  if (m.code !== 0) problems.push(`exit code ${String(m.code)}; stderr: ${m.stderr.slice(-400)}`)
  const last = m.stdout.trim().split('\n').pop() ?? ''
  let hosts: Record<string, HostRecapLine> = {}
  try {
    const recap = JSON.parse(last) as { type?: string; hosts?: Record<string, HostRecapLine> }
    if (recap.type !== 'recap' || !recap.hosts) throw new Error('not a recap')
    hosts = recap.hosts
  } catch {
    problems.push(`last output line is not a recap: ${last.slice(0, 200)}`)
  }
  const names = Object.keys(hosts)
  if (problems.length === 0 && names.length !== n) problems.push(`recap has ${names.length} hosts, expected ${n}`)
  for (const [name, r] of Object.entries(hosts)) {
    const changed = r.changed + r.wouldChange
    if (r.failed > 0 || r.unreachable || changed !== wantChanged) {
      problems.push(`${name}: changed ${changed}, failed ${r.failed}, unreachable ${String(r.unreachable)} (expected ${wantChanged} changes)`)
      if (problems.length > 5) break
    }
  }
  return problems
}
