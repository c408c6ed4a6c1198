import { shQuote } from '../connection/quote.ts'
import type { Change } from '../engine/events.ts'
import { predict } from '../engine/facts.ts'
import type { Handler } from '../engine/handlers.ts'
import type { RetryKeywords } from '../engine/retry.ts'
import { runStep, type PlannedCommand, type StepPlan, type StepResult, type StepSpec } from '../engine/step.ts'
import type { FileState } from '../facts/file.ts'
import { treeState, type TreeEntry } from '../facts/tree.ts'
import { octal, setAttributesScript } from './atomic-write.ts'
import { readSource, sourcePath, type Source } from './copy-source.ts'
import { checkPath, checkValidate, parseMode, planWrite, readFileState, type Mode } from './file.ts'

/** Arguments of {@link copy}. */
export interface CopyArgs extends RetryKeywords {
  /** On the controller: an absolute path or a `file:` URL, of a file or a directory. */
  readonly src: string | URL
  /** On the host: the file a source file becomes, or the directory a source tree's content goes into. */
  readonly dest: string
  /** Mode of every copied file; default: each source file's own. */
  readonly mode?: Mode
  /** Mode of every directory of a tree (its root too); default: each source directory's own. */
  readonly dirMode?: Mode
  readonly owner?: string
  readonly group?: string
  /** Tree only: remove what is below `dest` on the host but not in the source. Off by default. */
  readonly delete?: boolean
  /** File only: as for `file`, a command run on the new file (`%s`) before it replaces the old one. */
  readonly validate?: string
  /** File only: keep the old file as `dest.<UTC timestamp>~` when it changes. */
  readonly backup?: boolean
  readonly notify?: readonly Handler[]
}

/** The step behind {@link copy}; reads the source on the controller when it plans. */
export function copyStep(args: CopyArgs): StepSpec {
  return {
    name: `copy ${args.dest}`,
    notify: args.notify,
    async plan(ctx) {
      checkPath(args.dest)
      checkValidate(args.validate)
      const source = await readSource(sourcePath(args.src))
      const mode = args.mode === undefined ? undefined : parseMode(args.mode)
      const attrs = { ...(args.owner !== undefined ? { owner: args.owner } : {}), ...(args.group !== undefined ? { group: args.group } : {}) }
      if (source.kind === 'file') {
        if (args.delete) throw new Error(`copy ${args.dest}: delete only applies to a source directory`)
        const state = await readFileState(ctx, args.dest)
        return planWrite({ path: args.dest, state, source: source.file, mode: mode ?? source.file.mode, ...attrs, validate: args.validate, backup: args.backup })
      }
      if (args.validate !== undefined || args.backup) throw new Error(`copy ${args.dest}: validate and backup only apply to a source file`)
      const tree = await ctx.fact(treeState, args.dest)
      if (tree.kind !== 'directory' && tree.kind !== 'absent') throw new Error(`copy ${args.dest}: the host has a ${tree.kind} there, not a directory`)
      return planTree(args.dest, source, tree.kind === 'directory' ? tree.entries : undefined, tree.kind === 'directory' ? tree : undefined, {
        ...(mode !== undefined ? { mode } : {}),
        ...(args.dirMode !== undefined ? { dirMode: parseMode(args.dirMode) } : {}),
        ...attrs,
        delete: args.delete === true,
      })
    },
  }
}

interface TreeWants {
  readonly mode?: number
  readonly dirMode?: number
  readonly owner?: string
  readonly group?: string
  readonly delete: boolean
}

type Attributes = { readonly mode: number; readonly owner: string; readonly group: string }

/** Plans a source tree onto `dest`: directories made first, each differing file written, then removals. */
function planTree(dest: string, source: Extract<Source, { kind: 'directory' }>, remote: Readonly<Record<string, TreeEntry>> | undefined, root: Attributes | undefined, want: TreeWants): StepPlan {
  const at = (rel: string) => (rel === '' ? dest : `${dest}/${rel}`)
  const changes: Change[] = []
  const made: string[] = []
  const fixes: PlannedCommand[] = []
  const dir = (rel: string, sourceMode: number, now: Attributes | TreeEntry | undefined) => {
    const path = at(rel)
    const resource = `directory:${path}`
    const mode = want.dirMode ?? sourceMode
    if (now !== undefined && 'kind' in now && now.kind !== 'directory') throw new Error(`copy ${dest}: ${path} is a ${now.kind} on the host, a directory in the source`)
    if (now === undefined) {
      changes.push({ resource, action: 'create' }, { resource, action: 'create', field: 'mode', after: octal(mode) })
      if (want.owner !== undefined) changes.push({ resource, action: 'create', field: 'owner', after: want.owner })
      if (want.group !== undefined) changes.push({ resource, action: 'create', field: 'group', after: want.group })
      made.push(path)
      fixes.push(setAttributesScript(path, { mode, ...ownership(want) }))
      return
    }
    const differs = {
      mode: now.mode !== mode ? mode : undefined,
      owner: want.owner !== undefined && want.owner !== now.owner ? want.owner : undefined,
      group: want.group !== undefined && want.group !== now.group ? want.group : undefined,
    }
    if (differs.mode !== undefined) changes.push({ resource, action: 'update', field: 'mode', before: octal(now.mode), after: octal(mode) })
    if (differs.owner !== undefined) changes.push({ resource, action: 'update', field: 'owner', before: now.owner, after: differs.owner })
    if (differs.group !== undefined) changes.push({ resource, action: 'update', field: 'group', before: now.group, after: differs.group })
    if (differs.mode !== undefined || differs.owner !== undefined || differs.group !== undefined) fixes.push(setAttributesScript(path, differs))
  }
  dir('', source.mode, root)
  for (const [rel, mode] of source.dirs) dir(rel, mode, remote?.[rel])

  const writes: StepPlan[] = []
  for (const [rel, file] of source.files) {
    const now = remote?.[rel]
    if (now !== undefined && now.kind !== 'file') throw new Error(`copy ${dest}: ${at(rel)} is a ${now.kind} on the host, a file in the source`)
    const state: FileState = now === undefined
      ? { kind: 'absent', parentIsDirectory: true }
      : { kind: 'file', mode: now.mode, owner: now.owner, group: now.group, size: now.size, sha256: now.sha256 ?? '' }
    writes.push(planWrite({ path: at(rel), state, source: file, mode: want.mode ?? file.mode, ...ownership(want) }))
  }

  const gone = want.delete && remote ? extraneous(Object.keys(remote), source) : []
  const removals: Change[] = gone.map((rel) => ({ resource: `${remote?.[rel]?.kind === 'directory' ? 'directory' : 'file'}:${at(rel)}`, action: 'delete' }))

  const all = [...changes, ...writes.flatMap((w) => w.changes), ...removals]
  if (all.length === 0) return { changes: [] }
  const commands: PlannedCommand[] = [
    ...(made.length ? [{ script: `mkdir -p -- ${made.map(shQuote).join(' ')} || exit 3`, display: `mkdir ${made.join(' ')}` }] : []),
    ...fixes,
    ...writes.flatMap((w) => w.commands ?? []),
    ...(gone.length ? [{ script: `rm -rf -- ${gone.map((r) => shQuote(at(r))).join(' ')}`, display: `remove ${gone.map(at).join(' ')}` }] : []),
  ]
  const entries: Record<string, TreeEntry> = {}
  for (const [rel, mode] of source.dirs) entries[rel] = { kind: 'directory', mode: want.dirMode ?? mode, owner: want.owner ?? remote?.[rel]?.owner ?? 'root', group: want.group ?? remote?.[rel]?.group ?? 'root', size: 0 }
  for (const [rel, f] of source.files) entries[rel] = { kind: 'file', mode: want.mode ?? f.mode, owner: want.owner ?? remote?.[rel]?.owner ?? 'root', group: want.group ?? remote?.[rel]?.group ?? 'root', size: f.size, sha256: f.sha256 }
  if (!want.delete && remote) for (const [rel, e] of Object.entries(remote)) entries[rel] ??= e
  const rootAfter = { kind: 'directory' as const, mode: want.dirMode ?? source.mode, owner: want.owner ?? root?.owner ?? 'root', group: want.group ?? root?.group ?? 'root', entries }
  return {
    changes: all,
    predict: [predict(treeState, [dest], rootAfter), ...writes.flatMap((w) => w.predict ?? [])],
    commands,
    detachable: true,
  }
}

function ownership(want: { readonly owner?: string; readonly group?: string }): { owner?: string; group?: string } {
  return { ...(want.owner !== undefined ? { owner: want.owner } : {}), ...(want.group !== undefined ? { group: want.group } : {}) }
}

/** Host paths below the root that the source lacks, without those inside a path already listed. */
function extraneous(remote: readonly string[], source: Extract<Source, { kind: 'directory' }>): string[] {
  const out: string[] = []
  for (const rel of [...remote].sort()) {
    if (source.dirs.has(rel) || source.files.has(rel)) continue
    if (out.some((o) => rel.startsWith(`${o}/`))) continue
    out.push(rel)
  }
  return out
}

/**
 * Ensures a file or a directory tree from the controller on the host: files are compared by
 * SHA-256 and sent (streamed, each written atomically) only when they differ; modes follow the
 * source unless given; with `delete`, what the host has below `dest` beyond the source goes.
 */
export function copy(args: CopyArgs): Promise<StepResult> {
  return runStep(copyStep(args), args)
}
