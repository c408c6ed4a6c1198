import { randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { InputError } from '../engine/errors.ts'
import type { HostRecap } from '../engine/events.ts'

/** Where runs are recorded: `.havn/runs/` under the working directory (`HAVN_RUNS_DIR` names another). */
export function runsDir(): string {
  return process.env.HAVN_RUNS_DIR || join(process.cwd(), '.havn', 'runs')
}

/** Records kept; older ones are removed as new ones are written. */
const KEEP = 20

/** What a run leaves behind for the next one: enough to retry what failed, nothing secret. */
export interface RunRecord {
  readonly command: 'run' | 'check' | 'apply' | 'exec'
  readonly playbook: string
  readonly finishedAt: string
  /** Hosts with a failed step, and hosts that could not be reached. */
  readonly failed: readonly string[]
  readonly unreachable: readonly string[]
  readonly recap: Readonly<Record<string, HostRecap>>
}

/**
 * Writes the record of a finished run as `<time>.json` and `last.json`; `refused` are hosts that
 * count as failed though the run did not reach them (an apply found they drifted from the plan).
 * A record that cannot be written is only reported.
 */
export async function recordRun(record: Omit<RunRecord, 'failed' | 'unreachable' | 'finishedAt'>, refused: readonly string[] = []): Promise<void> {
  const hosts = Object.entries(record.recap)
  const full: RunRecord = {
    ...record,
    finishedAt: new Date().toISOString(),
    failed: [...new Set([...hosts.filter(([, r]) => r.failed > 0).map(([h]) => h), ...refused])],
    unreachable: hosts.filter(([, r]) => r.unreachable).map(([h]) => h),
  }
  const dir = runsDir()
  try {
    await mkdir(dir, { recursive: true })
    // Time first, so names sort by age; two runs finishing in the same millisecond still get their own.
    const name = `${full.finishedAt.replace(/[:.]/g, '-')}-${process.pid}-${randomBytes(3).toString('hex')}.json`
    const text = `${JSON.stringify(full, null, 1)}\n`
    await writeFile(join(dir, name), text)
    await writeFile(join(dir, 'last.json.tmp'), text)
    await rename(join(dir, 'last.json.tmp'), join(dir, 'last.json'))
    const old = (await readdir(dir)).filter((n) => /^\d{4}-.*\.json$/.test(n)).sort().slice(0, -KEEP)
    await Promise.all(old.map((n) => rm(join(dir, n), { force: true })))
  } catch (err) {
    process.stderr.write(`havn: could not record the run in ${dir}: ${(err as Error).message}\n`)
  }
}

/**
 * Expands `--limit @last-failed` (the hosts that failed or were unreachable in the last recorded
 * run) and `--limit @FILE` (an Ansible retry file: one host a line) into a host list; any other
 * pattern is returned as it is. A missing record or file is invalid input.
 */
export async function expandLimit(limit: string | undefined): Promise<string | undefined> {
  if (limit === undefined || !limit.startsWith('@')) return limit
  const source = limit.slice(1)
  let hosts: string[]
  if (source === 'last-failed') {
    const path = join(runsDir(), 'last.json')
    const text = await readFile(path, 'utf8').catch(() => {
      throw InputError.at({ file: path }, '--limit @last-failed: no run has been recorded here yet')
    })
    const last = JSON.parse(text) as RunRecord
    hosts = [...last.failed, ...last.unreachable]
    if (hosts.length === 0) throw InputError.at({ file: path }, '--limit @last-failed: nothing failed in the last run, so no host is selected')
  } else {
    const text = await readFile(source, 'utf8').catch(() => {
      throw InputError.at({ file: source }, `--limit @${source}: cannot read the file`)
    })
    hosts = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
    if (hosts.length === 0) throw InputError.at({ file: source }, `--limit @${source}: the file names no host`)
  }
  return [...new Set(hosts)].join(',')
}
