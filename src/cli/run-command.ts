import { connect, type ConnectOptions } from '../connection/index.ts'
import { secretValues } from '../connection/quote.ts'
import type { Session } from '../engine/run.ts'
import { runPlaybook } from '../engine/run.ts'
import { setErrorClassifier } from '../engine/step.ts'
import type { EngineHost } from '../engine/vars.ts'
import type { RunEvent } from '../engine/events.ts'
import { loadInventory, selectHosts } from '../inventory/index.ts'
import { createReporter, type OutputFormat } from '../output/reporter.ts'
import { classifyError } from './classify.ts'
import { EXIT, exitCodeFor } from './exit-codes.ts'
import { loadPlaybook } from './load-playbook.ts'
import { reportInputError } from './report-error.ts'
import { readBecomePassword, redact } from './secrets.ts'

/** Options shared by `havn run` and `havn check`, as parsed from the command line. */
export interface RunCommandOptions {
  readonly inventory: string
  readonly check: boolean
  /** Show text changes as unified diffs. */
  readonly diff: boolean
  readonly limit?: string
  readonly tags?: readonly string[]
  readonly skipTags?: readonly string[]
  readonly forks?: number
  readonly output?: OutputFormat
  readonly knownHosts?: string
  readonly sshConfig?: string
  readonly identity?: string
  readonly acceptNewHostKeys?: boolean
  readonly askBecomePass?: boolean
  readonly becomePasswordFile?: string
  readonly connectTimeout: number
  readonly commandTimeout: number
  readonly detailedExitcode?: boolean
  readonly breakLock?: boolean
}

/** Loads and validates everything, runs the playbook, and returns the process exit code. */
export async function runCommand(playbookPath: string, opts: RunCommandOptions): Promise<number> {
  const secrets: string[] = []
  try {
    // Loaded side by side (reading YAML overlaps compiling the playbook); an inventory error is reported first.
    const [inv, pb] = await Promise.allSettled([loadInventory(opts.inventory), loadPlaybook(playbookPath)])
    if (inv.status === 'rejected') throw inv.reason
    if (pb.status === 'rejected') throw pb.reason
    const inventory = inv.value
    const { playbook, file } = pb.value
    const limited = opts.limit ? new Set(selectHosts(inventory, opts.limit, '--limit')) : undefined
    const becomePassword = await readBecomePassword(opts)
    if (becomePassword) secrets.push(becomePassword)

    const tty = process.stdout.isTTY === true
    const reporter = await createReporter(opts.output ?? (tty ? 'human' : 'line'), (t) => process.stdout.write(t), { tty, color: tty && !process.env.NO_COLOR, diff: opts.diff })
    // Last line of defence: modules mask secrets themselves, but nothing secret may reach a reporter.
    const emit = (e: RunEvent) => {
      const known = [...secrets, ...secretValues()]
      reporter.onEvent(known.length ? (JSON.parse(redact(JSON.stringify(e), known.map(jsonEscaped))) as RunEvent) : e)
    }

    const connectOptions: ConnectOptions = {
      knownHostsFile: opts.knownHosts,
      acceptNewHostKeys: opts.acceptNewHostKeys ?? false,
      sshConfigFile: opts.sshConfig,
      identityFile: opts.identity,
      connectTimeoutMs: opts.connectTimeout * 1000,
      commandTimeoutMs: opts.commandTimeout * 1000,
      becomePassword,
    }
    setErrorClassifier(classifyError)
    // First Ctrl-C: start nothing new, let steps in flight finish, print the recap. Second: leave now.
    const interrupt = new AbortController()
    const onSigint = () => {
      if (interrupt.signal.aborted) process.exit(EXIT.interrupted)
      process.stderr.write('havn: interrupted; finishing steps in flight (Ctrl-C again to quit at once)\n')
      interrupt.abort()
    }
    process.on('SIGINT', onSigint)
    const { recap } = await runPlaybook({
      playbook,
      playbookFile: file,
      hosts: inventory.hosts as ReadonlyMap<string, EngineHost>,
      select: (pattern, where) => selectHosts(inventory, pattern, where).filter((h) => !limited || limited.has(h)),
      check: opts.check,
      connect: (host) => openSession(host, connectOptions),
      classify: classifyError,
      emit,
      forks: opts.forks,
      breakLock: opts.breakLock,
      tags: opts.tags,
      skipTags: opts.skipTags,
      signal: interrupt.signal,
    }).finally(() => process.off('SIGINT', onSigint))
    await reporter.close()
    if (interrupt.signal.aborted) return EXIT.interrupted
    return exitCodeFor(recap, { check: opts.check, detailed: opts.detailedExitcode ?? false })
  } catch (err) {
    if (reportInputError(err)) return EXIT.input
    process.stderr.write(`havn: internal error: ${redact(err instanceof Error ? (err.stack ?? err.message) : String(err), [...secrets, ...secretValues()])}\n`)
    return EXIT.failed
  }
}

async function openSession(host: EngineHost, opts: ConnectOptions): Promise<Session> {
  const conn = await connect({ name: host.name, address: host.address, port: host.port, user: host.user }, opts)
  return {
    host: host.name,
    exec: (script, o) => conn.exec(script, { become: o?.become, stdin: o?.stdin, display: o?.display }),
    atClose: (script) => conn.atClose(script),
    close: () => conn.close(),
  }
}

function jsonEscaped(s: string): string {
  return JSON.stringify(s).slice(1, -1)
}
