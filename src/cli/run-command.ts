import { homedir } from 'node:os'
import { connect, localConnection, type ConnectOptions, type ExecOptions } from '../connection/index.ts'
import { secretValues } from '../connection/quote.ts'
import type { ChainedExec, RemoteExecOptions, StepExpectation } from '../engine/context.ts'
import type { Session } from '../engine/run.ts'
import { runPlaybook } from '../engine/run.ts'
import { setErrorClassifier } from '../engine/step.ts'
import type { EngineHost } from '../engine/vars.ts'
import type { HostRecap, RunEvent } from '../engine/events.ts'
import type { Playbook } from '../engine/define.ts'
import { osInfo } from '../facts/os.ts'
import { loadInventory, selectHosts } from '../inventory/index.ts'
import type { Inventory } from '../inventory/types.ts'
import { createReporter, type OutputFormat, type Reporter } from '../output/reporter.ts'
import { classifyError } from './classify.ts'
import { EXIT, exitCodeFor } from './exit-codes.ts'
import { loadPlaybook } from './load-playbook.ts'
import { reportInputError, reportInventoryWarnings } from './report-error.ts'
import { transcriptFor, writeReportFiles } from './report-files.ts'
import { expandLimit, recordRun } from './run-record.ts'
import { readBecomePassword, redact } from './secrets.ts'
import { shardHosts, type Shard } from './shard.ts'
import { readVaultSecrets } from './vault-secrets.ts'

/** How to reach hosts and draw the run: the options every command that contacts hosts takes. */
export interface ConnectionCommandOptions {
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
  readonly breakLock?: boolean
  readonly vaultPasswordFile?: readonly string[]
  readonly vaultId?: readonly string[]
  readonly askVaultPass?: boolean
  /** Also write the run as JUnit XML to this file. */
  readonly junit?: string
  /** Also write the run as a self-contained HTML report to this file. */
  readonly report?: string
}

/** Options shared by `havn run` and `havn check`, as parsed from the command line. */
export interface RunCommandOptions extends ConnectionCommandOptions {
  readonly inventory: readonly string[]
  readonly check: boolean
  /** Show text changes as unified diffs. */
  readonly diff: boolean
  readonly limit?: string
  readonly tags?: readonly string[]
  readonly skipTags?: readonly string[]
  /** `--shard K/N`: run only that part of the selected hosts. */
  readonly shard?: Shard
  readonly detailedExitcode?: boolean
  /** `check --out FILE`: save the check as a plan. */
  readonly out?: string
}

/** A loaded and validated playbook and inventory, ready to run as often as a command needs. */
export interface PreparedRun {
  readonly playbook: Playbook
  readonly playbookFile: string
  readonly inventory: Inventory
  /** Values to mask wherever they could appear (the become password). */
  readonly secrets: readonly string[]
  /** Runs the playbook once; `emit` gets every event with secrets already masked. */
  execute(run: ExecuteOptions): Promise<{ recap: Record<string, HostRecap>; interrupted: boolean }>
}

/** What differs between the runs of one command (a check pass and the apply, for `havn apply`). */
export interface ExecuteOptions {
  readonly check: boolean
  readonly emit: (e: RunEvent) => void
  readonly limit?: string
  /** Only these hosts, on top of `limit`. */
  readonly only?: ReadonlySet<string>
  /** Only this part of the hosts that `limit` selects (`--shard K/N`). */
  readonly shard?: Shard
  readonly tags?: readonly string[]
  readonly skipTags?: readonly string[]
  readonly fingerprintKey?: Buffer
  readonly expect?: StepExpectation
}

/**
 * Loads the inventory and the playbook (a file, or one built in memory by an ad-hoc command) side by
 * side, an inventory error reported first, and prepares running them.
 */
export async function prepareRun(source: string | { readonly playbook: Playbook; readonly file: string }, inventoryPaths: readonly string[], opts: ConnectionCommandOptions, secrets: string[]): Promise<PreparedRun> {
  const vault = await readVaultSecrets(opts)
  for (const s of vault) secrets.push(s.password.toString('utf8'))
  const [inv, pb] = await Promise.allSettled([loadInventory(inventoryPaths, { vault }), typeof source === 'string' ? loadPlaybook(source) : source])
  if (inv.status === 'rejected') throw inv.reason
  if (pb.status === 'rejected') throw pb.reason
  const inventory = inv.value
  secrets.push(...inventory.secrets)
  reportInventoryWarnings(inventory.warnings)
  const { playbook, file } = pb.value
  const becomePassword = await readBecomePassword(opts)
  if (becomePassword) secrets.push(becomePassword)
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
  return {
    playbook,
    playbookFile: file,
    inventory,
    secrets,
    async execute(run) {
      const limit = await expandLimit(run.limit)
      const selected = limit ? new Set(selectHosts(inventory, limit, '--limit')) : undefined
      const limited = run.shard ? shardHosts(selected ?? inventory.hosts.keys(), run.shard) : selected
      // First Ctrl-C: start nothing new, let steps in flight finish, print the recap. Second: leave now.
      const interrupt = new AbortController()
      const onSigint = () => {
        if (interrupt.signal.aborted) process.exit(EXIT.interrupted)
        process.stderr.write('havn: interrupted; finishing steps in flight (Ctrl-C again to quit at once)\n')
        interrupt.abort()
      }
      process.on('SIGINT', onSigint)
      // Last line of defence: modules mask secrets themselves, but nothing secret may leave the engine.
      const emit = (e: RunEvent) => {
        const known = [...secrets, ...secretValues()]
        run.emit(known.length ? (JSON.parse(redact(JSON.stringify(e), known.map(jsonEscaped))) as RunEvent) : e)
      }
      const { recap } = await runPlaybook({
        playbook,
        playbookFile: file,
        hosts: inventory.hosts as ReadonlyMap<string, EngineHost>,
        select: (pattern, where) => selectHosts(inventory, pattern, where).filter((h) => (!limited || limited.has(h)) && (!run.only || run.only.has(h))),
        check: run.check,
        connect: (host) => openSession(host, connectOptions),
        classify: classifyError,
        emit,
        forks: opts.forks,
        breakLock: opts.breakLock,
        tags: run.tags,
        skipTags: run.skipTags,
        signal: interrupt.signal,
        platformOf: (host) => host.fact(osInfo),
        ...(run.fingerprintKey ? { fingerprintKey: run.fingerprintKey } : {}),
        ...(run.expect ? { expect: run.expect } : {}),
      }).finally(() => process.off('SIGINT', onSigint))
      return { recap, interrupted: interrupt.signal.aborted }
    },
  }
}

/** The reporter the options ask for, writing to stdout. */
export function stdoutReporter(output: OutputFormat | undefined, diff: boolean): Promise<Reporter> {
  const tty = process.stdout.isTTY === true
  return createReporter(output ?? (tty ? 'human' : 'line'), (t) => process.stdout.write(t), { tty, color: tty && !process.env.NO_COLOR, diff })
}

/** Runs a command body; invalid input exits 4 with its problems listed, anything else is an internal error with secrets masked. */
export async function guarded(secrets: readonly string[], body: () => Promise<number>): Promise<number> {
  try {
    return await body()
  } catch (err) {
    if (reportInputError(err)) return EXIT.input
    process.stderr.write(`havn: internal error: ${redact(err instanceof Error ? (err.stack ?? err.message) : String(err), [...secrets, ...secretValues()])}\n`)
    return EXIT.failed
  }
}

/** Loads and validates everything, runs the playbook, and returns the process exit code. */
export async function runCommand(playbookPath: string, opts: RunCommandOptions): Promise<number> {
  const secrets: string[] = []
  return guarded(secrets, async () => {
    const prepared = await prepareRun(playbookPath, opts.inventory, opts, secrets)
    const reporter = await stdoutReporter(opts.output, opts.diff)
    const transcript = transcriptFor(opts)
    const saving = opts.out === undefined
      ? undefined
      : await import('../plan/record.ts').then((m) =>
          m.planRecorder({
            out: opts.out as string,
            playbookFile: prepared.playbookFile,
            inventory: opts.inventory,
            options: { ...(opts.limit ? { limit: opts.limit } : {}), ...(opts.shard ? { shard: `${opts.shard.index}/${opts.shard.count}` } : {}), ...(opts.tags ? { tags: [...opts.tags] } : {}), ...(opts.skipTags ? { skipTags: [...opts.skipTags] } : {}) },
          }),
        )
    const { recap, interrupted } = await prepared.execute({
      check: opts.check,
      emit: (e) => {
        reporter.onEvent(e)
        transcript?.onEvent(e)
        saving?.record(e)
      },
      limit: opts.limit,
      tags: opts.tags,
      skipTags: opts.skipTags,
      ...(opts.shard ? { shard: opts.shard } : {}),
      ...(saving ? { fingerprintKey: saving.key } : {}),
    })
    await reporter.close()
    await writeReportFiles(transcript, opts, prepared.playbookFile)
    await recordRun({ command: opts.check ? 'check' : 'run', playbook: prepared.playbookFile, recap })
    if (interrupted) return EXIT.interrupted
    if (saving) {
      await saving.save()
      process.stderr.write(`havn: plan saved to ${opts.out}; apply it with: havn apply ${opts.out}\n`)
    }
    return exitCodeFor(recap, { check: opts.check, detailed: opts.detailedExitcode ?? false })
  })
}

async function openSession(host: EngineHost, opts: ConnectOptions): Promise<Session> {
  // Ansible expands `~` in ansible_ssh_private_key_file, so inventories written for it rely on that.
  const identityFile = host.identityFile?.replace(/^~(?=\/|$)/, homedir())
  const target = { name: host.name, address: host.address, port: host.port, user: host.user, ...(identityFile ? { identityFile } : {}) }
  const conn = host.transport === 'local' ? localConnection(host.name, opts) : await connect(target, opts)
  const become = host.becomeUser ? { user: host.becomeUser } : true
  const options = (o: RemoteExecOptions | undefined): ExecOptions => ({ become: o?.become ? become : false, stdin: o?.stdin, display: o?.display })
  const chain = conn.execChain?.bind(conn)
  return {
    host: host.name,
    exec: (script, o) => conn.exec(script, options(o)),
    ...(chain ? { execChain: (commands: readonly ChainedExec[]) => chain(commands.map((c) => ({ command: c.script, opts: options(c.opts), ...(c.okCodes ? { okCodes: c.okCodes } : {}) }))) } : {}),
    atClose: (script) => conn.atClose(script),
    close: () => conn.close(),
  }
}

function jsonEscaped(s: string): string {
  return JSON.stringify(s).slice(1, -1)
}
