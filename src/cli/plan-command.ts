import { readFile } from 'node:fs/promises'
import { InputError } from '../engine/errors.ts'
import type { Change, HostRecap, RunEvent } from '../engine/events.ts'
import { inputDifferences, inventoryInputs, playbookInputs } from '../plan/inputs.ts'
import { keyedHash, planKey } from '../plan/key.ts'
import { canonicalJson, PLAN_VERSION, type PlanFile } from '../plan/format.ts'
import { changeDifferences, hasChanges, hostDifferences, plannedHosts, type PlannedStep } from '../plan/steps.ts'
import schema from '../plan/plan-v1.schema.json' with { type: 'json' }
import { validateSchema } from '../schema/validate.ts'
import { HAVN_VERSION } from '../version.ts'
import type { OutputFormat } from '../output/reporter.ts'
import { EXIT, exitCodeFor } from './exit-codes.ts'
import { recordRun } from './run-record.ts'
import { transcriptFor, writeReportFiles, type ReportFiles } from './report-files.ts'
import { guarded, prepareRun, stdoutReporter, type ConnectionCommandOptions } from './run-command.ts'
import { parseShard } from './shard.ts'

/** Reads a plan file; refuses (exit 4) one that is not a plan, breaks the schema, or (with a key) was edited. */
export async function readPlan(path: string, key: Buffer | undefined): Promise<PlanFile> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw InputError.at({ file: path }, `cannot read the plan: ${err.code === 'ENOENT' ? 'no such file' : err.message}`)
  })
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw InputError.at({ file: path }, 'the plan is corrupt: it is not JSON')
  }
  const problems = validateSchema(schema, value)
  if (problems.length > 0) throw new InputError(problems.slice(0, 10).map((p) => ({ message: `not a havn plan of version ${PLAN_VERSION}: ${p.message}`, at: { file: path, pointer: p.pointer } })))
  const plan = value as PlanFile
  if (key) {
    const { mac, ...body } = plan
    if (keyedHash(key, canonicalJson(body)) !== mac) throw InputError.at({ file: path }, 'the plan was edited after it was made, or made with another plan key: refusing it')
  }
  return plan
}

/** `havn show FILE`: draws a saved plan as `check` drew it; exits as that check did. */
export async function showCommand(path: string, opts: ReportFiles & { readonly output?: OutputFormat }): Promise<number> {
  return guarded([], async () => {
    const key = await planKey(false).catch(() => undefined)
    const plan = await readPlan(path, key)
    if (!key) process.stderr.write(`havn: no plan key here, so ${path} is shown unverified\n`)
    const reporter = await stdoutReporter(opts.output, true)
    const transcript = transcriptFor(opts)
    for (const e of plan.events) {
      reporter.onEvent(e)
      transcript?.onEvent(e)
    }
    await reporter.close()
    await writeReportFiles(transcript, opts, plan.playbook.path)
    const recap = plan.events.findLast((e) => e.type === 'recap')
    return recap?.type === 'recap' ? exitCodeFor(recap.hosts, { check: true, detailed: false }) : EXIT.ok
  })
}

/** What `havn apply` found for one host of the plan before applying anything. */
type Verdict = { readonly apply: true } | { readonly apply: false; readonly why: 'drift' | 'done' | 'nothing' | 'failed'; readonly lines: readonly string[] }

function verdict(host: string, saved: ReturnType<typeof plannedHosts>, fresh: ReturnType<typeof plannedHosts>): Verdict {
  const s = saved.get(host)!
  const f = fresh.get(host)
  if (s.steps.some((x) => x.status === 'failed') || s.unreachable) return { apply: false, why: 'failed', lines: [`${host}: the plan holds a failure on this host; make a new plan`] }
  if (!f) return { apply: false, why: 'drift', lines: [`${host}: not selected any more`] }
  if (f.unreachable) return hasChanges(s) ? { apply: true } : { apply: false, why: 'nothing', lines: [] }
  const settled = !hasChanges(f) && !f.steps.some((x) => x.status === 'failed')
  if (!hasChanges(s) && settled) return { apply: false, why: 'nothing', lines: [] }
  if (hasChanges(s) && settled) return { apply: false, why: 'done', lines: [`${host}: already applied: nothing on it differs from what the plan leads to`] }
  // A host the plan leaves alone that now would change drifted too: the plan never said to change it.
  const lines = hostDifferences(host, s, f)
  if (lines.length > 0) return { apply: false, why: 'drift', lines }
  return hasChanges(s) ? { apply: true } : { apply: false, why: 'nothing', lines: [] }
}

/** The steps a real run goes through, in order: every planned step but the ones the engine only reports. */
function appliedSteps(steps: readonly PlannedStep[]): PlannedStep[] {
  return steps.filter((s) => s.status !== 'skipped')
}

/**
 * `havn apply FILE`: refuses (exit 4, before any contact) a plan that is edited, of another havn,
 * or whose playbook, imported files or inventory changed. Plans every host again and compares:
 * a host that differs in any way is left untouched and its differences listed; the others are
 * applied, every step compared with the plan before it is applied.
 */
export async function applyCommand(path: string, opts: ConnectionCommandOptions & ReportFiles & { readonly diff?: boolean; readonly detailedExitcode?: boolean }): Promise<number> {
  const secrets: string[] = []
  const started = Date.now()
  return guarded(secrets, async () => {
    const key = await planKey(false).catch((err: Error) => {
      throw InputError.at({ file: path }, err.message)
    })
    const plan = await readPlan(path, key)
    if (plan.havn !== HAVN_VERSION) throw InputError.at({ file: path }, `the plan was made by havn ${plan.havn}, this is havn ${HAVN_VERSION}: make a new plan`)
    const [playbookNow, inventoryNow] = await Promise.all([
      playbookInputs(key, plan.playbook.path).catch(() => ({})),
      inventoryInputs(key, plan.inventory.paths ?? [plan.inventory.path]).catch(() => ({})),
    ])
    const changed = [
      ...inputDifferences(plan.playbook.files, playbookNow).map((d) => `playbook ${plan.playbook.path}: ${d}`),
      ...inputDifferences(plan.inventory.files, inventoryNow).map((d) => `inventory ${plan.inventory.path}: ${d}`),
    ]
    if (changed.length > 0) throw new InputError(changed.map((message) => ({ message: `${message} since the plan was made; make a new plan`, at: { file: path } })))

    const prepared = await prepareRun(plan.playbook.path, plan.inventory.paths ?? [plan.inventory.path], opts, secrets)
    const shard = plan.options.shard === undefined ? undefined : parseShard(plan.options.shard)
    if (plan.options.shard !== undefined && !shard) throw InputError.at({ file: path }, `the plan's shard '${plan.options.shard}' is not K/N`)
    const selection = { ...(plan.options.limit ? { limit: plan.options.limit } : {}), ...(shard ? { shard } : {}), tags: plan.options.tags, skipTags: plan.options.skipTags }
    const freshEvents: RunEvent[] = []
    process.stderr.write(`havn: checking every host against ${path}\n`)
    const verify = await prepared.execute({ check: true, emit: (e) => void freshEvents.push(e), fingerprintKey: key, ...selection })
    if (verify.interrupted) return EXIT.interrupted

    const saved = plannedHosts(plan.events)
    const fresh = plannedHosts(freshEvents)
    const verdicts = new Map([...saved.keys()].map((h) => [h, verdict(h, saved, fresh)] as const))
    const toApply = new Set([...verdicts].filter(([, v]) => v.apply).map(([h]) => h))
    const reporter = await stdoutReporter(opts.output, opts.diff ?? false)
    const transcript = transcriptFor(opts)
    const json = opts.output === 'json'
    for (const [host, v] of verdicts) {
      if (v.apply || v.lines.length === 0) continue
      if (v.why === 'drift' || v.why === 'failed') transcript?.hostRefused(host, v.lines.join('\n'))
      if (json) process.stdout.write(`${JSON.stringify({ type: 'plan:host', host, verdict: v.why, differences: v.lines })}\n`)
      else process.stdout.write(`${v.why === 'drift' ? 'DRIFT' : v.why === 'done' ? 'DONE ' : 'SKIP '} ${v.lines.join('\n      ')}\n`)
    }

    const cursors = new Map([...toApply].map((h) => [h, appliedSteps(saved.get(h)!.steps)] as const))
    const position = new Map<string, number>()
    const expect = (host: string, step: string, changes: readonly Change[]): readonly string[] => {
      const steps = cursors.get(host) ?? []
      const i = position.get(host) ?? 0
      position.set(host, i + 1)
      const s = steps[i]
      if (!s) return [`${host}: step ${i + 1} '${step}' is not in the plan`]
      if (s.step !== step) return [`${host}: step ${i + 1} is '${step}', the plan has '${s.step}'`]
      // An uncertain step could not be known when the plan was made; whatever it finds now is what the plan meant.
      return s.status === 'uncertain' ? [] : changeDifferences(host, step, s.changes, changes)
    }
    const draw = (e: RunEvent): void => {
      reporter.onEvent(e)
      transcript?.onEvent(e)
    }
    let applied: Extract<RunEvent, { type: 'recap' }> | undefined
    const result = toApply.size === 0
      ? { recap: {}, interrupted: false }
      : await prepared.execute({ check: false, emit: (e) => (e.type === 'recap' ? void (applied = e) : draw(e)), only: toApply, expect, ...selection })
    // One recap for every host of the plan: the applied ones as the run counted them, the others as
    // the check found them (nothing done on them), refused ones marked not run.
    const verified = verify.recap
    const hosts: Record<string, HostRecap> = {}
    for (const [host, v] of verdicts) {
      const seen = verified[host]
      const ran = result.recap[host]
      if (v.apply && ran) hosts[host] = ran
      else if (seen) hosts[host] = { ...seen, wouldChange: 0, uncertain: 0, notRun: !v.apply && (v.why === 'drift' || v.why === 'failed') }
    }
    draw({ type: 'recap', mode: 'apply', hosts, durationMs: Date.now() - started, ...(applied?.stopped ? { stopped: applied.stopped } : {}) })
    await reporter.close()
    await writeReportFiles(transcript, opts, plan.playbook.path)
    const refused = [...verdicts].filter(([, v]) => !v.apply && (v.why === 'drift' || v.why === 'failed')).map(([h]) => h)
    await recordRun({ command: 'apply', playbook: plan.playbook.path, recap: result.recap }, refused)
    if (result.interrupted) return EXIT.interrupted
    const code = exitCodeFor(result.recap, { check: false, detailed: opts.detailedExitcode ?? false })
    return refused.length > 0 && (code === EXIT.ok || code === EXIT.pending) ? EXIT.drifted : code
  })
}
