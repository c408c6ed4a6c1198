import { definePlaybook, type Host } from '../engine/define.ts'
import type { HostRecap } from '../engine/events.ts'
import { osInfo, type OsInfo } from '../facts/os.ts'
import { assertPackageNames, packagesState, type PackagesState } from '../facts/packages.ts'
import { command } from '../modules/command.ts'
import { EXIT, exitCodeFor } from './exit-codes.ts'
import { transcriptFor, writeReportFiles } from './report-files.ts'
import { recordRun } from './run-record.ts'
import { guarded, prepareRun, stdoutReporter, type ConnectionCommandOptions } from './run-command.ts'

/** Options of `havn exec`. */
export interface ExecCommandOptions extends ConnectionCommandOptions {
  readonly inventory: readonly string[]
  readonly limit?: string
  readonly become?: boolean
}

/**
 * `havn exec PATTERN -i INV -- COMMAND`: runs one shell command on every matching host, as
 * `ansible PATTERN -a COMMAND` does, with the reporters, recap, run record and exit codes of `run`.
 * Several words after `--` are joined with spaces, as ssh joins them.
 */
export async function execCommand(pattern: string, words: readonly string[], opts: ExecCommandOptions): Promise<number> {
  const secrets: string[] = []
  return guarded(secrets, async () => {
    const script = words.join(' ')
    const playbook = definePlaybook({
      name: `exec ${script}`,
      plays: [{ name: script, hosts: pattern, become: opts.become ?? false, run: async () => void (await command(script, { name: script })) }],
    })
    const prepared = await prepareRun({ playbook, file: '(havn exec)' }, opts.inventory, opts, secrets)
    const reporter = await stdoutReporter(opts.output, false)
    const transcript = transcriptFor(opts)
    const { recap, interrupted } = await prepared.execute({ check: false, emit: (e) => { reporter.onEvent(e); transcript?.onEvent(e) }, limit: opts.limit })
    await reporter.close()
    await writeReportFiles(transcript, opts, `exec ${pattern}`)
    await recordRun({ command: 'exec', playbook: `exec ${pattern}`, recap })
    return interrupted ? EXIT.interrupted : exitCodeFor(recap, { check: false, detailed: false })
  })
}

/** Options of `havn facts`. */
export interface FactsCommandOptions extends ConnectionCommandOptions {
  readonly inventory: readonly string[]
  readonly packages?: readonly string[]
  readonly json?: boolean
}

/** What `havn facts` reports for one host. */
export interface HostFacts {
  readonly os: OsInfo
  readonly packages?: PackagesState
}

/**
 * `havn facts PATTERN -i INV`: reads the facts havn bases its plans on (OS release, init system,
 * package manager, memory, and the packages asked for with `--packages`) from each matching host
 * and prints them as text, or as one JSON object keyed by host with `--json`. Nothing on the hosts
 * changes. Hosts that cannot be reached are named on stderr and make the exit code 3.
 */
export async function factsCommand(pattern: string, opts: FactsCommandOptions): Promise<number> {
  const secrets: string[] = []
  return guarded(secrets, async () => {
    if (opts.packages) assertPackageNames(opts.packages)
    const found = new Map<string, HostFacts>()
    const packages = opts.packages
    const playbook = definePlaybook({
      name: 'facts',
      plays: [{
        name: 'facts',
        hosts: pattern,
        run: async (host: Host) => {
          const os = await host.fact(osInfo)
          found.set(host.name, packages ? { os, packages: await host.fact(packagesState, packages, false) } : { os })
        },
      }],
    })
    const prepared = await prepareRun({ playbook, file: '(havn facts)' }, opts.inventory, opts, secrets)
    const errors: string[] = []
    const { recap } = await prepared.execute({
      check: true,
      emit: (e) => {
        if (e.type === 'host:unreachable' || (e.type === 'step:end' && e.status === 'failed')) errors.push(`${e.host}: ${e.error?.message ?? 'failed'}`)
      },
    })
    const order = [...prepared.inventory.hosts.keys()].filter((h) => found.has(h))
    if (opts.json) process.stdout.write(`${JSON.stringify(Object.fromEntries(order.map((h) => [h, found.get(h)])), null, 2)}\n`)
    else process.stdout.write(order.map((h) => describeFacts(h, found.get(h)!)).join(''))
    for (const line of errors) process.stderr.write(`havn: ${line}\n`)
    return exitCodeFor(recap as Record<string, HostRecap>, { check: false, detailed: false })
  })
}

function describeFacts(host: string, facts: HostFacts): string {
  const { os } = facts
  const rows: [string, string][] = [
    ['os', `${os.id || 'unknown'} ${os.versionId}`.trim() + (os.idLike.length ? ` (like ${os.idLike.join(', ')})` : '')],
    ['init system', os.initSystem],
    ['package manager', os.packageManager],
    ['memory', os.memTotalBytes ? `${(os.memTotalBytes / 2 ** 30).toFixed(1)} GiB` : 'unknown'],
  ]
  for (const [name, status] of Object.entries(facts.packages?.packages ?? {})) {
    rows.push([`package ${name}`, status.installed ? `installed ${status.installed}` : `not installed${status.candidate ? ` (candidate ${status.candidate})` : ''}`])
  }
  const width = Math.max(...rows.map(([k]) => k.length))
  return `${host}\n${rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n')}\n`
}
