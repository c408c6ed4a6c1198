#!/usr/bin/env node
import { Command, InvalidArgumentError, Option, type OptionValues } from '@commander-js/extra-typings'
import { HAVN_VERSION } from '../version.ts'
import { parseShard, type Shard } from './shard.ts'

// Heavy modules (ssh2, yaml, ajv, tsx) are imported inside the actions so `--help` stays fast.

const program = new Command('havn')
  .description('Agentless, typed playbook runner: applies TypeScript roles to inventories over SSH.')
  .version(HAVN_VERSION)
  .showHelpAfterError('(add --help for usage)')
  // Usage errors are invalid input: exit 4, as for a bad inventory. Set before subcommands so they inherit it.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 4))

function runOptions<Args extends unknown[], Opts extends OptionValues>(cmd: Command<Args, Opts>) {
  return connectionOptions(
    cmd
      .requiredOption('-i, --inventory <path>', 'inventory file (YAML, INI, .ts) or directory; repeat to merge several', collect)
      .option('--limit <pattern>', 'only these hosts: names, groups, globs, !exclusions, &intersections')
      .option('--tags <tags>', 'run only plays and roles with one of these comma-separated tags (roles are tagged with their name)', parseList)
      .option('--skip-tags <tags>', 'skip plays and roles with any of these comma-separated tags', parseList)
      .option('--shard <K/N>', 'run only the K-th of N balanced parts of the selected hosts (stable across machines)', parseShardOption),
  ).option('--detailed-exitcode', 'after an apply, exit 2 when something changed')
}

/** How to reach hosts and draw the run; `apply` takes only these, since the plan fixes the rest. */
function connectionOptions<Args extends unknown[], Opts extends OptionValues>(cmd: Command<Args, Opts>) {
  return cmd
    .option('--forks <n>', 'hosts run in parallel within a play (default: all, capped at 256)', parsePositiveInt)
    .addOption(new Option('--output <format>', 'human (TTY), line (CI) or json (NDJSON)').choices(['human', 'line', 'json'] as const))
    .option('--known-hosts <file>', 'known_hosts file (default: from ssh config, else ~/.ssh/known_hosts)')
    .option('--ssh-config <file>', 'OpenSSH client config (default: ~/.ssh/config)')
    .option('--identity <file>', 'private key to authenticate with')
    .option('--accept-new-host-keys', 'trust and record host keys not yet in known_hosts (changed keys are still refused)')
    .option('-K, --ask-become-pass', 'ask once for the sudo password')
    .option('--become-password-file <file>', 'read the sudo password from this file')
    .option('--connect-timeout <seconds>', 'give up connecting to a host after this long', parsePositiveInt, 10)
    .option('--command-timeout <seconds>', 'fail a remote command that runs longer (0: no limit)', parseNonNegativeInt, 0)
    .option('--break-lock', 'remove a run lock left on a host by a crashed run')
    .option('--vault-password-file <file>', 'Ansible Vault password file (an executable one is run); repeatable', collect)
    .option('--vault-id <id>', 'Ansible Vault password as LABEL@FILE or LABEL@prompt; repeatable', collect)
    .option('--ask-vault-pass', 'ask once for the Ansible Vault password')
    .option('--junit <file>', 'also write the run as JUnit XML (a test case per host and step)')
    .option('--report <file>', 'also write the run as one self-contained HTML page')
}

runOptions(program.command('run').argument('<playbook>', 'playbook file (.ts or .js)').description('apply a playbook'))
  .option('--check', 'predict changes without making them')
  .option('--diff', 'show text changes as unified diffs')
  .action(async (playbook, opts) => {
    const { runCommand } = await import('./run-command.ts')
    exitWhenWritten(await runCommand(playbook, { ...opts, check: opts.check ?? false, diff: opts.diff ?? false }))
  })

runOptions(program.command('check').argument('<playbook>', 'playbook file (.ts or .js)').description('dry run with diffs (run --check --diff): report what would change; nothing on any host changes'))
  .option('--out <file>', 'save the check as a plan file, for havn show and havn apply')
  .action(async (playbook, opts) => {
    const { runCommand } = await import('./run-command.ts')
    exitWhenWritten(await runCommand(playbook, { ...opts, check: true, diff: true }))
  })

program
  .command('show')
  .argument('<plan>', 'plan file made by havn check --out')
  .description('draw a saved plan as check drew it')
  .addOption(new Option('--output <format>', 'human (TTY), line (CI) or json (NDJSON)').choices(['human', 'line', 'json'] as const))
  .option('--junit <file>', 'also write the plan as JUnit XML')
  .option('--report <file>', 'also write the plan as one self-contained HTML page')
  .action(async (plan, opts) => {
    const { showCommand } = await import('./plan-command.ts')
    process.exitCode = await showCommand(plan, opts)
  })

connectionOptions(program.command('apply').argument('<plan>', 'plan file made by havn check --out').description('apply exactly a saved plan: hosts that no longer match it are left untouched'))
  .option('--diff', 'show text changes as unified diffs')
  .option('--detailed-exitcode', 'exit 2 when something changed')
  .action(async (plan, opts) => {
    const { applyCommand } = await import('./plan-command.ts')
    exitWhenWritten(await applyCommand(plan, opts))
  })

program
  .command('inventory')
  .description('show the hosts and groups of an inventory, or one host\'s merged vars and their sources')
  .requiredOption('-i, --inventory <path>', 'inventory file (YAML, INI, .ts) or directory; repeat to merge several', collect)
  .option('--host <name>', 'show this host\'s connection and vars')
  .option('--limit <pattern>', 'only list these hosts')
  .addOption(new Option('--list', 'print the inventory as ansible-inventory --list prints it (JSON)').conflicts(['host', 'graph']))
  .addOption(new Option('--graph', 'print the group tree as ansible-inventory --graph prints it').conflicts('host'))
  .option('--vault-password-file <file>', 'Ansible Vault password file (an executable one is run); repeatable', collect)
  .option('--vault-id <id>', 'Ansible Vault password as LABEL@FILE or LABEL@prompt; repeatable', collect)
  .option('--ask-vault-pass', 'ask once for the Ansible Vault password')
  .action(async (opts) => {
    const { inventoryCommand } = await import('./inventory-command.ts')
    process.exitCode = await inventoryCommand(opts)
  })

connectionOptions(program.command('exec').argument('<pattern>', 'hosts to run on (an inventory pattern)').argument('<command...>', 'the shell command, after --')
  .description('run one shell command on the matching hosts, like ansible PATTERN -a COMMAND')
  .requiredOption('-i, --inventory <path>', 'inventory file (YAML, INI, .ts) or directory; repeat to merge several', collect)
  .option('--limit <pattern>', 'only these of the matching hosts')
  .option('-b, --become', 'run the command through sudo'))
  .action(async (pattern, words, opts) => {
    const { execCommand } = await import('./adhoc-command.ts')
    exitWhenWritten(await execCommand(pattern, words, opts))
  })

connectionOptions(program.command('facts').argument('<pattern>', 'hosts to read (an inventory pattern)')
  .description('print the facts havn reads from hosts (OS, init system, package manager, memory, packages)')
  .requiredOption('-i, --inventory <path>', 'inventory file (YAML, INI, .ts) or directory; repeat to merge several', collect)
  .option('--packages <names>', 'also report these comma-separated packages', parseNames)
  .option('--json', 'print one JSON object keyed by host'))
  .action(async (pattern, opts) => {
    const { factsCommand } = await import('./adhoc-command.ts')
    exitWhenWritten(await factsCommand(pattern, opts))
  })

program
  .command('recap')
  .argument('<files...>', 'NDJSON outputs (--output json) or run records of the shards of one run')
  .description('merge the recaps of the shards of a run (--shard K/N) into one, with a single run\'s exit code')
  .addOption(new Option('--output <format>', 'human (TTY), line (CI) or json (NDJSON)').choices(['human', 'line', 'json'] as const))
  .option('--detailed-exitcode', 'exit 2 when something changed')
  .action(async (files, opts) => {
    const { recapCommand } = await import('./recap-command.ts')
    process.exitCode = await recapCommand(files, opts)
  })

program.addHelpText('after', `
Exit codes:
  0    success; in check mode, nothing would change
  1    a step failed on at least one host
  2    check mode: changes are pending (after an apply too, with --detailed-exitcode)
  3    at least one host was unreachable, and nothing failed
  4    invalid input (inventory, playbook, vars, or a plan that is edited or out of date); no host was contacted
  5    apply: the plan no longer matched on at least one host; nothing was changed on those hosts
  130  interrupted`)

/**
 * Ends the process once stdout and stderr have taken everything written: the run's outcome is known,
 * and a host whose link died must not keep havn waiting for SSH keepalives to give up on it.
 */
function exitWhenWritten(code: number): void {
  process.exitCode = code
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)))
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

function commaList(what: string): (value: string) => string[] {
  return (value) => {
    const items = value.split(',').map((t) => t.trim()).filter(Boolean)
    if (items.length === 0) throw new InvalidArgumentError(`expected a comma-separated list of ${what}`)
    return items
  }
}

function parseShardOption(value: string): Shard {
  const shard = parseShard(value)
  if (!shard) throw new InvalidArgumentError('expected K/N with 1 ≤ K ≤ N, for example 2/4')
  return shard
}

function parseList(value: string): string[] {
  return commaList('tags')(value)
}

function parseNames(value: string): string[] {
  return commaList('package names')(value)
}

function parsePositiveInt(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`'${value}' is not a positive whole number`)
  return n
}

function parseNonNegativeInt(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`'${value}' is not a whole number`)
  return n
}

await program.parseAsync(process.argv)
