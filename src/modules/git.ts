import { posix } from 'node:path'
import { maskUrl, shQuote } from '../connection/quote.ts'
import type { Change } from '../engine/events.ts'
import { predict } from '../engine/facts.ts'
import type { Handler } from '../engine/handlers.ts'
import type { RetryKeywords } from '../engine/retry.ts'
import { runStep, type PlanContext, type PlannedCommand, type StepPlan, type StepResult, type StepSpec } from '../engine/step.ts'
import { commandsFound } from '../facts/command.ts'
import { fileState, type FileState } from '../facts/file.ts'
import { gitCheckout, gitEnv, gitRemoteRefs, type GitCheckout } from '../facts/git.ts'
import { pendingInstalls } from '../facts/packages.ts'
import { tempPrefix } from './atomic-write.ts'
import { checkPath } from './file.ts'

/** Arguments of {@link git}. */
export interface GitArgs extends RetryKeywords {
  /** What `git clone` takes: `ssh://…`, `user@host:path`, `https://…` (credentials in it never show). */
  readonly repo: string
  /** Absolute path of the checkout on the host; absent or an empty directory is cloned into. */
  readonly dest: string
  /** A branch, a tag, or a full commit id (which needs no read of the remote); default `HEAD`, the remote's default branch. */
  readonly version?: string
  /** Clone and fetch only this many commits of history. */
  readonly depth?: number
  /** Discard modifications of tracked files in `dest` instead of failing on them. */
  readonly force?: boolean
  /** The private key, on the host, that ssh uses for the remote. */
  readonly sshKeyFile?: string
  readonly notify?: readonly Handler[]
}

/** How a wanted version resolved on the remote: its commit, and what to check out. */
interface Target {
  readonly sha: string
  readonly kind: 'branch' | 'tag' | 'commit'
}

const FULL_SHA = /^[0-9a-f]{40}$|^[0-9a-f]{64}$/

/** Throws unless `version` is something git takes as a ref name or commit (it is spliced into refspecs). */
function checkVersion(version: string, subject: string): void {
  if (version === '' || version.startsWith('-') || version.includes('..') || /[\s~^:?*[\\\0]|@\{|\/\/|\.lock$|\/$|^\/|\.$/.test(version)) {
    throw new Error(`${subject}: version ${JSON.stringify(version)} is not a branch, tag or commit name git takes`)
  }
}

/** The commit `version` names: a full id as it is, else the remote's branch, or its tag (an annotated one's commit). */
async function resolve(ctx: PlanContext, args: GitArgs, version: string, subject: string): Promise<Target> {
  if (FULL_SHA.test(version)) return { sha: version, kind: 'commit' }
  const refs = await ctx.fact(gitRemoteRefs, args.repo, version, args.sshKeyFile ?? '')
  if (version === 'HEAD' && refs.HEAD) return { sha: refs.HEAD, kind: 'commit' }
  const branch = refs[`refs/heads/${version}`]
  if (branch) return { sha: branch, kind: 'branch' }
  const tag = refs[`refs/tags/${version}^{}`] ?? refs[`refs/tags/${version}`]
  if (tag) return { sha: tag, kind: 'tag' }
  const hint = /^[0-9a-f]{4,39}$/.test(version) ? ' (give a commit as its full id)' : ''
  throw new Error(`${subject}: ${maskUrl(args.repo)} has no branch or tag ${version}${hint}`)
}

/**
 * Shell that fetches what `target` needs into the repository in the current directory and checks
 * out exactly its commit: a branch as the local branch of that name, a tag or commit detached.
 */
function checkoutScript(version: string, target: Target, depth: number | undefined): string[] {
  const deep = depth !== undefined ? ` --depth ${depth}` : ''
  const fetch =
    target.kind === 'branch' ? `git fetch -q${deep} origin ${shQuote(`+refs/heads/${version}:refs/remotes/origin/${version}`)}`
    : target.kind === 'tag' ? `git fetch -q${deep} origin ${shQuote(`+refs/tags/${version}:refs/tags/${version}`)}`
    : `git fetch -q${deep} origin ${target.sha} || git fetch -q origin`
  return [
    `git cat-file -e ${target.sha}^{commit} 2>/dev/null || ${fetch} || exit $?`,
    target.kind === 'branch' ? `git checkout -q --force -B ${shQuote(version)} ${target.sha} || exit $?` : `git checkout -q --force --detach ${target.sha} || exit $?`,
    `[ "$(git rev-parse HEAD)" = ${target.sha} ] || { echo "havn: HEAD is not ${target.sha} after the checkout" >&2; exit 4; }`,
  ]
}

/** The state of `dest` before: nothing there to keep, or the repository's checkout. */
async function readDest(ctx: PlanContext, dest: string, subject: string): Promise<{ readonly state: FileState; readonly checkout?: GitCheckout }> {
  const state = await ctx.fact(fileState, dest)
  if (state.kind === 'absent') {
    if (state.parentIsDirectory === false) {
      const parent = await ctx.fact(fileState, posix.dirname(dest))
      if (parent.kind !== 'directory') throw new Error(`${subject}: the parent directory ${posix.dirname(dest)} does not exist`)
    }
    return { state }
  }
  if (state.kind !== 'directory') throw new Error(`${subject}: ${dest} exists and is not a directory`)
  return { state, checkout: await ctx.fact(gitCheckout, dest) }
}

/** Plans `git(args)`: reads the checkout, resolves the version on the remote, and clones or moves it to that commit. */
export function gitStep(args: GitArgs): StepSpec {
  const version = args.version ?? 'HEAD'
  const subject = `git ${args.dest}`
  return {
    name: `${subject} at ${version}`,
    notify: args.notify,
    async plan(ctx): Promise<StepPlan> {
      checkPath(args.dest)
      checkVersion(version, subject)
      if (args.depth !== undefined && !(Number.isInteger(args.depth) && args.depth > 0)) throw new Error(`${subject}: depth must be a whole number above 0`)
      if (args.sshKeyFile !== undefined) checkPath(args.sshKeyFile)
      const resource = `git:${args.dest}`
      const repo = maskUrl(args.repo)
      const found = await ctx.fact(commandsFound, ['git'])
      if (!found.includes('git')) {
        const missing = `git is not installed on host ${ctx.host.name}; install it first (packages({ names: ['git'] }))`
        if (!(await ctx.fact(pendingInstalls)).includes('git')) throw new Error(`${subject}: ${missing}`)
        const there = (await ctx.fact(fileState, args.dest)).kind !== 'absent'
        return {
          changes: [{ resource, action: there ? 'update' : 'create', field: 'commit', before: there ? '(unknown)' : '(absent)', after: version }],
          missing,
          uncertain: `git is installed by an earlier step, so the commit of ${version} is not read yet`,
        }
      }
      const { state, checkout } = await readDest(ctx, args.dest, subject)
      if (checkout?.kind === 'not-a-repository') throw new Error(`${subject}: ${args.dest} is a directory with files and no git repository; remove it or pick another dest`)
      const target = await resolve(ctx, args, version, subject)
      const repoCheckout = checkout?.kind === 'repository' ? checkout : undefined
      const changes: Change[] = []
      const after: GitCheckout = { kind: 'repository', head: target.sha, origin: args.repo, modified: false }
      if (!repoCheckout) {
        changes.push({ resource, action: 'create', field: 'commit', before: '(absent)', after: target.sha })
        return { changes, commands: [withRepo(args.repo, cloneCommand(args, version, target, repo))], predict: predictClone(args.dest, state, after) }
      }
      if (repoCheckout.modified && !args.force) {
        throw new Error(`${subject}: tracked files in ${args.dest} have local modifications; commit or discard them, or set force: true to discard them`)
      }
      if (repoCheckout.origin !== args.repo) changes.push({ resource, action: 'update', field: 'origin', before: maskUrl(repoCheckout.origin), after: repo })
      if (repoCheckout.modified) changes.push({ resource, action: 'update', field: 'modifications', before: 'modified files', after: 'discarded' })
      if (repoCheckout.head !== target.sha) changes.push({ resource, action: 'update', field: 'commit', before: repoCheckout.head || '(no commits)', after: target.sha })
      if (changes.length === 0) return { changes }
      const script = [
        `cd ${shQuote(args.dest)} || exit 3`,
        `export ${gitEnv(args.sshKeyFile ?? '')}`,
        ...(repoCheckout.modified ? ['git reset -q --hard || exit $?'] : []),
        ...(repoCheckout.origin !== args.repo ? [`git remote set-url origin "$r" 2>/dev/null || git remote add origin "$r" || exit $?`] : []),
        ...checkoutScript(version, target, args.depth),
      ]
      return {
        changes,
        commands: [withRepo(args.repo, { script: script.join('\n'), display: `git checkout ${version} (${target.sha.slice(0, 12)}) in ${args.dest} from ${repo}` })],
        predict: [predict(gitCheckout, [args.dest], after)],
      }
    },
  }
}

/**
 * A command that finds the repository's URL in `$r`: written into the script, or, when it holds
 * credentials, read from stdin, so that a saved plan or a shown script never has them.
 */
function withRepo(url: string, c: { script: string; display: string }): PlannedCommand {
  if (maskUrl(url) === url) return { ...c, script: `r=${shQuote(url)}\n${c.script}` }
  return { ...c, script: `IFS= read -r r || exit 3\n${c.script}`, stdin: `${url}\n`, sensitiveStdin: true }
}

/**
 * A clone into a temp directory beside `dest`, checked out at the target and then renamed into
 * place (over an empty directory too, keeping its owner and mode), so `dest` never holds a half-made clone; a failure removes the temp.
 */
function cloneCommand(args: GitArgs, version: string, target: Target, repo: string): { script: string; display: string } {
  const dest = args.dest
  const temp = tempPrefix(dest)
  const deep = args.depth !== undefined && target.kind !== 'commit' ? ` --depth ${args.depth}` : ''
  const branch = target.kind !== 'commit' ? ` --branch ${shQuote(version)}` : ''
  const script = [
    `export ${gitEnv(args.sshKeyFile ?? '')}`,
    `d=${shQuote(posix.dirname(dest))}`,
    `rm -rf -- "$d"/${shQuote(temp)}*`,
    `t="$d/${temp}$$"`,
    `trap 'rm -rf -- "$t"' EXIT`,
    `trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM`,
    `git clone -q --no-checkout${deep}${branch} -- "$r" "$t" || exit $?`,
    `cd "$t" || exit 3`,
    ...checkoutScript(version, target, args.depth),
    // An empty directory that was there keeps its owner and mode.
    `if [ -d ${shQuote(dest)} ]; then chown --reference=${shQuote(dest)} -- "$t" && chmod --reference=${shQuote(dest)} -- "$t" || exit 3; fi`,
    `cd / && mv -T -- "$t" ${shQuote(dest)} || exit 3`,
    `trap - EXIT`,
  ]
  return { script: script.join('\n'), display: `git clone ${repo} ${dest} at ${version} (${target.sha.slice(0, 12)})` }
}

/** After a clone: the checkout, and `dest` as a directory made under the host's umask. */
function predictClone(dest: string, state: FileState, after: GitCheckout): StepPlan['predict'] {
  const creator = state.kind === 'absent' ? state.creator : undefined
  const dir: FileState = state.kind !== 'absent' ? state : { kind: 'directory', mode: 0o777 & ~(creator?.umask ?? 0o022), owner: creator?.owner ?? 'root', group: creator?.group ?? 'root' }
  return [predict(gitCheckout, [dest], after), predict(fileState, [dest], dir)]
}

/**
 * Ensures a git checkout at a branch, tag or commit: cloned when `dest` is absent or empty,
 * else fetched and moved to the commit the version names on the remote now (read with
 * `git ls-remote`; a full commit id needs no read). Reports the commit before and after. Tracked
 * files with local modifications fail the step unless `force` discards them. Needs git on the host.
 */
export function git(args: GitArgs): Promise<StepResult> {
  return runStep(gitStep(args), args)
}
