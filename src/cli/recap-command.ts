import { readFile } from 'node:fs/promises'
import { InputError, type InputLocation } from '../engine/errors.ts'
import type { HostRecap, RunEvent } from '../engine/events.ts'
import type { OutputFormat } from '../output/reporter.ts'
import { EXIT, exitCodeFor } from './exit-codes.ts'
import { reportInputError } from './report-error.ts'
import { stdoutReporter } from './run-command.ts'

type Recap = Extract<RunEvent, { type: 'recap' }>

/** Options of `havn recap`. */
export interface RecapCommandOptions {
  readonly output?: OutputFormat
  readonly detailedExitcode?: boolean
}

/**
 * `havn recap FILE...`: merges the recaps of several runs of one playbook over disjoint hosts (the
 * shards of `--shard K/N`) into one, drawn by the usual reporter, with the exit code a single run
 * over all those hosts would have had. Each file is a run's NDJSON output (`--output json`) or a run
 * record (`.havn/runs/*.json`). A host in two files, files of different modes (check and apply) and
 * a file without a recap are invalid input.
 */
export async function recapCommand(files: readonly string[], opts: RecapCommandOptions): Promise<number> {
  try {
    const problems: { message: string; at: InputLocation }[] = []
    const hosts: Record<string, HostRecap> = {}
    const from = new Map<string, string>()
    const modes = new Map<Recap['mode'], string>()
    let durationMs = 0
    const stopped: string[] = []
    for (const file of files) {
      const recap = await readRecap(file).catch((e: unknown) => {
        problems.push({ message: (e as Error).message, at: { file } })
        return undefined
      })
      if (!recap) continue
      modes.set(recap.mode, file)
      durationMs = Math.max(durationMs, recap.durationMs)
      if (recap.stopped) stopped.push(`${file}: ${recap.stopped}`)
      for (const [host, r] of Object.entries(recap.hosts)) {
        const earlier = from.get(host)
        if (earlier !== undefined) problems.push({ message: `host ${host} is also in ${earlier}; each host must run in exactly one shard`, at: { file } })
        from.set(host, file)
        hosts[host] = r
      }
    }
    if (modes.size > 1) problems.push({ message: `mixes a check (${modes.get('check')}) with an apply (${modes.get('apply')})`, at: {} })
    if (problems.length > 0) throw new InputError(problems)
    const mode = [...modes.keys()][0] ?? 'apply'
    const reporter = await stdoutReporter(opts.output, false)
    reporter.onEvent({ type: 'recap', mode, hosts, durationMs, ...(stopped.length ? { stopped: stopped.join('; ') } : {}) })
    await reporter.close()
    return exitCodeFor(hosts, { check: mode === 'check', detailed: opts.detailedExitcode ?? false })
  } catch (err) {
    if (reportInputError(err)) return EXIT.input
    throw err
  }
}

/** The recap of one run: the last `recap` event of NDJSON output, or the recap of a run record. */
async function readRecap(file: string): Promise<Recap> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (e) {
    throw new Error(`cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`)
  }
  const whole = parse(text)
  if (isRecord(whole) && isRecord(whole.recap) && typeof whole.command === 'string') {
    return { type: 'recap', mode: whole.command === 'check' ? 'check' : 'apply', hosts: whole.recap as Recap['hosts'], durationMs: 0 }
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '').map(parse)
  const recap = lines.findLast((e) => isRecord(e) && e.type === 'recap' && isRecord(e.hosts))
  if (!recap) throw new Error('holds no recap: give the NDJSON of a finished run (--output json) or a run record from .havn/runs/')
  return recap as Recap
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
