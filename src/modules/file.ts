import { createHash } from 'node:crypto'
import { posix } from 'node:path'
import { isSecret, shQuote, type Secret } from '../connection/quote.ts'
import type { Change } from '../engine/events.ts'
import { predict } from '../engine/facts.ts'
import type { Handler } from '../engine/handlers.ts'
import { runStep, type PlanContext, type PlannedCommand, type StepPlan, type StepResult, type StepSpec } from '../engine/step.ts'
import { fileState, MAX_TEXT_BYTES, UNKNOWN_SIZE, type FileState, type RegularFile } from '../facts/file.ts'
import { atomicWriteScript, octal, setAttributesScript } from './atomic-write.ts'
import type { RetryKeywords } from '../engine/retry.ts'

/** A file mode: a number such as `0o644`, or an octal string such as `'0644'` / `'2755'`. */
export type Mode = number | string

/** Mode numbers that are almost surely decimal typos of an octal mode (`644` meant as `0o644`). */
const DECIMAL_TYPOS = new Set([400, 440, 444, 600, 640, 644, 660, 664, 700, 750, 755, 770, 775, 777])

/** Converts a {@link Mode} to a number; throws naming the value when it is not a valid octal mode. */
export function parseMode(mode: Mode): number {
  if (typeof mode === 'string') {
    if (!/^0?[0-7]{3,4}$/.test(mode)) throw new Error(`mode '${mode}' is not an octal mode like '0644'`)
    return parseInt(mode, 8)
  }
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new Error(`mode ${mode} is out of range; write it as 0o644 or '0644'`)
  if (DECIMAL_TYPOS.has(mode)) throw new Error(`mode ${mode} looks like a decimal typo; write 0o${mode} or '0${mode}'`)
  return mode
}

/** Throws unless `path` is absolute and normalised (no `..`, `//` or trailing slash), as every file module requires. */
export function checkPath(path: string): void {
  if (!path.startsWith('/') || path.includes('\0') || posix.normalize(path) !== path || (path.length > 1 && path.endsWith('/'))) {
    throw new Error(`path '${path}' must be absolute and normalised (no '..', '//' or trailing '/')`)
  }
}

/** Owner/group names or numeric ids; a numeric value matches the id the host reported. */
function sameId(want: string, name: string, id: number | undefined): boolean {
  return /^\d+$/.test(want) ? id === Number(want) || name === want : name === want
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

function summary(sha: string, size: number): string {
  return `sha256:${sha.slice(0, 12)}… (${size === UNKNOWN_SIZE ? 'size unknown' : `${size} bytes`})`
}

/** The content as shown in a change: the text itself when small, else a summary. */
function shownContent(text: string): string {
  const size = Buffer.byteLength(text, 'utf8')
  return size <= MAX_TEXT_BYTES ? text : summary(sha256(text), size)
}

function shownState(f: RegularFile): string {
  return f.content ?? summary(f.sha256, f.size)
}

/** Everything {@link planWrite} needs: where, what is there now, and the desired state. */
export interface WriteSpec {
  readonly path: string
  readonly state: FileState
  /** Desired text; undefined leaves the content alone (an absent file is created empty). */
  readonly content?: string
  /** Instead of `content`: a controller file, streamed to the host only when its sum differs. */
  readonly source?: SourceFile
  /** Instead of `content` or `source`: the host makes the content itself, such as a download. */
  readonly fill?: HostFill
  readonly sensitive?: boolean
  readonly mode?: number
  readonly owner?: string
  readonly group?: string
  readonly validate?: string
  readonly backup?: boolean
}

/** A file on the controller as the copy module reads it: never held in memory whole. */
export interface SourceFile {
  readonly file: string
  readonly sha256: string
  readonly size: number
  /** Its text when it is small valid UTF-8, for diffs; undefined otherwise. */
  readonly text?: string
}

/**
 * Content the host makes itself: `script` fills the temp file `"$t"` of an atomic write (and exits
 * non-zero unless it holds exactly `sha256`), reading `stdin`; its size is unknown until then.
 */
export interface HostFill {
  readonly script: string
  readonly display: string
  readonly stdin: string
  readonly sensitiveStdin?: boolean
  readonly sha256: string
}

/**
 * Plans making `path` a regular file with the given content and attributes, from its current state.
 * Shared by file, line, iniSetting, sysctl and copy so they report and predict `file:<path>` alike: one
 * change per differing field, an atomic rewrite when content differs (attributes kept unless
 * given), an in-place chown/chmod when only attributes differ, and the predicted `fileState`.
 */
export function planWrite(w: WriteSpec): StepPlan {
  const { path, state } = w
  const resource = `file:${path}`
  if (state.kind === 'directory') throw new Error(`${path} is a directory, not a file`)
  if (state.kind === 'other') throw new Error(`${path} exists but is not a regular file (device, socket or fifo)`)
  if (state.kind === 'symlink' && w.content === undefined) {
    throw new Error(`${path} is a symlink to ${state.target}; manage the target, or give content to replace the link with a file`)
  }
  const sensitive = w.sensitive === true
  const existing = state.kind === 'file' ? state : undefined
  const changes: Change[] = []
  const source = w.content === undefined ? w.source : undefined
  const fill = w.content === undefined && !source ? w.fill : undefined
  const content = w.content ?? (source ? source.text : fill ? undefined : existing?.content)
  const newSha = w.content !== undefined ? sha256(w.content) : source?.sha256 ?? fill?.sha256 ?? existing?.sha256 ?? sha256('')
  const rewrite = !existing || newSha !== existing.sha256

  if (state.kind === 'symlink') changes.push({ resource, action: 'update', field: 'type', before: `symlink -> ${state.target}`, after: 'file' })
  if (rewrite) {
    const after = source ? (source.text ?? summary(source.sha256, source.size)) : fill ? summary(fill.sha256, UNKNOWN_SIZE) : shownContent(w.content ?? '')
    const change: Change = existing
      ? { resource, action: 'update', field: 'content', before: shownState(existing), after }
      : { resource, action: 'create', field: 'content', after }
    changes.push(sensitive ? { resource, action: change.action, field: 'content', sensitive: true } : change)
  }
  const attr = (field: 'mode' | 'owner' | 'group', want: string | undefined, differs: boolean, before: string | undefined): void => {
    if (want === undefined) return
    if (!existing) changes.push({ resource, action: 'create', field, after: want })
    else if (differs) changes.push({ resource, action: 'update', field, before, after: want })
  }
  attr('mode', w.mode === undefined ? undefined : octal(w.mode), w.mode !== existing?.mode, existing && octal(existing.mode))
  attr('owner', w.owner, !!existing && w.owner !== undefined && !sameId(w.owner, existing.owner, existing.uid), existing?.owner)
  attr('group', w.group, !!existing && w.group !== undefined && !sameId(w.group, existing.group, existing.gid), existing?.group)
  if (changes.length === 0) return { changes: [] }

  const creator = state.kind === 'absent' ? state.creator : undefined
  const mode = w.mode ?? existing?.mode ?? 0o666 & ~(creator?.umask ?? 0o022)
  // A desired owner/group that already matches keeps the host's name and id in the prediction.
  const keepOwner = w.owner === undefined || (!!existing && sameId(w.owner, existing.owner, existing.uid))
  const keepGroup = w.group === undefined || (!!existing && sameId(w.group, existing.group, existing.gid))
  const owner = (keepOwner ? existing?.owner : w.owner) ?? w.owner ?? creator?.owner ?? 'root'
  const group = (keepGroup ? existing?.group : w.group) ?? w.group ?? creator?.group ?? 'root'
  const uid = keepOwner && existing?.uid !== undefined ? existing.uid : w.owner !== undefined && /^\d+$/.test(w.owner) ? Number(w.owner) : undefined
  const gid = keepGroup && existing?.gid !== undefined ? existing.gid : w.group !== undefined && /^\d+$/.test(w.group) ? Number(w.group) : undefined
  const text = w.content ?? (source ? (source.text ?? '') : existing?.content ?? '')
  const size = w.content !== undefined ? Buffer.byteLength(w.content, 'utf8') : source?.size ?? (fill && rewrite ? UNKNOWN_SIZE : existing?.size ?? 0)
  const after: RegularFile = {
    kind: 'file',
    mode,
    owner,
    group,
    ...(uid !== undefined ? { uid } : {}),
    ...(gid !== undefined ? { gid } : {}),
    size,
    sha256: newSha,
    ...(content !== undefined && size <= MAX_TEXT_BYTES ? { content: text } : {}),
  }
  const missing = state.kind === 'absent' && state.parentIsDirectory === false ? `parent directory ${posix.dirname(path)} of ${path} does not exist` : undefined

  const command: PlannedCommand = rewrite
    ? {
        ...atomicWriteScript({
          path,
          mode,
          // A rewrite creates a new inode: keep the old owner/group (by id, names may be missing).
          owner: w.owner ?? (existing ? String(existing.uid ?? existing.owner) : undefined),
          group: w.group ?? (existing ? String(existing.gid ?? existing.group) : undefined),
          validate: w.validate,
          backup: w.backup,
          empty: fill ? false : source ? source.size === 0 : text === '',
          ...(fill ? { fill: fill.script } : {}),
        }),
        // A source small enough to have been read whole goes with the command (no channel of its own,
        // and the bytes are those the plan summed); a larger one is streamed from its file.
        ...(fill ? { stdin: fill.stdin, display: fill.display } : source && source.text === undefined ? { stdinFile: source.file } : { stdin: text }),
        ...(sensitive || fill?.sensitiveStdin ? { sensitiveStdin: true } : {}),
      }
    : setAttributesScript(path, {
        mode: w.mode !== undefined && w.mode !== existing?.mode ? w.mode : undefined,
        owner: changes.some((c) => c.field === 'owner') ? w.owner : undefined,
        group: changes.some((c) => c.field === 'group') ? w.group : undefined,
      })
  return {
    changes,
    ...(missing ? { missing } : {}),
    predict: [predict(fileState, [path], after)],
    commands: [command],
    detachable: true,
    ...(sensitive && rewrite && w.content !== undefined ? { sensitiveValues: [w.content] } : {}),
  }
}

function contentOf(c: string | Secret | undefined): string | undefined {
  return c === undefined ? undefined : isSecret(c) ? c.reveal() : c
}

/** Attributes and write options shared by every module that writes a whole file. */
export interface WriteOptions {
  readonly mode?: Mode
  readonly owner?: string
  readonly group?: string
  /** Shell command that must succeed on the new content before it goes live; `%s` is the temp file. */
  readonly validate?: string
  /** Keep the old file as `path.<UTC timestamp>~` when the content changes. */
  readonly backup?: boolean
  /** Hide the content in every diff and error, as with a `secret()` content. */
  readonly sensitive?: boolean
  readonly notify?: readonly Handler[]
}

/** Arguments of {@link file}. */
export interface FileArgs extends WriteOptions, RetryKeywords {
  /** Absolute path of the file. */
  readonly path: string
  /** Exact content; a `secret()` is never shown. Undefined leaves content alone (an absent file is created empty). */
  readonly content?: string | Secret
}

/**
 * A path's state, where a missing parent directory that an earlier step of this run creates (as
 * the fact cache predicts in a check run) counts as present. Reads the parent only in that case.
 */
export async function readFileState(ctx: PlanContext, path: string): Promise<FileState> {
  const state = await ctx.fact(fileState, path)
  if (state.kind !== 'absent' || state.parentIsDirectory !== false) return state
  const parent = await ctx.fact(fileState, posix.dirname(path))
  return parent.kind === 'directory' ? { ...state, parentIsDirectory: true } : state
}

/** Throws when `validate` lacks the `%s` placeholder, which would validate nothing. */
export function checkValidate(validate: string | undefined): void {
  if (validate !== undefined && !validate.includes('%s')) throw new Error(`validate command '${validate}' must contain %s (the file to check)`)
}

/** The step behind {@link file}; pure, for tests. */
export function fileStep(args: FileArgs): StepSpec {
  return {
    name: `file ${args.path}`,
    notify: args.notify,
    async plan(ctx) {
      checkPath(args.path)
      checkValidate(args.validate)
      const mode = args.mode === undefined ? undefined : parseMode(args.mode)
      const state = await readFileState(ctx, args.path)
      return planWrite({
        path: args.path,
        state,
        content: contentOf(args.content),
        sensitive: args.sensitive === true || isSecret(args.content),
        mode,
        owner: args.owner,
        group: args.group,
        validate: args.validate,
        backup: args.backup,
      })
    },
  }
}

/**
 * Ensures a regular file with exact content, mode, owner and group. Content changes are written
 * atomically (temp file in the same directory, validate, optional backup, rename); attribute-only
 * differences are fixed in place. The parent directory must exist.
 */
export function file(args: FileArgs): Promise<StepResult> {
  return runStep(fileStep(args), args)
}

/** Arguments of {@link directory}. */
export interface DirectoryArgs extends RetryKeywords {
  readonly path: string
  readonly mode?: Mode
  readonly owner?: string
  readonly group?: string
  readonly notify?: readonly Handler[]
}

/** The step behind {@link directory}; pure, for tests. */
export function directoryStep(args: DirectoryArgs): StepSpec {
  return {
    name: `directory ${args.path}`,
    notify: args.notify,
    async plan(ctx) {
      const { path } = args
      checkPath(path)
      const want = args.mode === undefined ? undefined : parseMode(args.mode)
      const state = await readFileState(ctx, path)
      if (state.kind === 'symlink') throw new Error(`${path} is a symlink to ${state.target}; manage the target directory instead`)
      if (state.kind === 'file' || state.kind === 'other') throw new Error(`${path} exists and is not a directory`)
      const resource = `directory:${path}`
      const changes: Change[] = []
      const existing = state.kind === 'directory' ? state : undefined
      if (!existing) {
        changes.push({ resource, action: 'create' })
        if (want !== undefined) changes.push({ resource, action: 'create', field: 'mode', after: octal(want) })
        if (args.owner !== undefined) changes.push({ resource, action: 'create', field: 'owner', after: args.owner })
        if (args.group !== undefined) changes.push({ resource, action: 'create', field: 'group', after: args.group })
      } else {
        if (want !== undefined && want !== existing.mode) changes.push({ resource, action: 'update', field: 'mode', before: octal(existing.mode), after: octal(want) })
        if (args.owner !== undefined && !sameId(args.owner, existing.owner, existing.uid)) changes.push({ resource, action: 'update', field: 'owner', before: existing.owner, after: args.owner })
        if (args.group !== undefined && !sameId(args.group, existing.group, existing.gid)) changes.push({ resource, action: 'update', field: 'group', before: existing.group, after: args.group })
      }
      if (changes.length === 0) return { changes: [] }
      const creator = state.kind === 'absent' ? state.creator : undefined
      const after: FileState = {
        kind: 'directory',
        mode: want ?? existing?.mode ?? 0o777 & ~(creator?.umask ?? 0o022),
        owner: args.owner ?? existing?.owner ?? creator?.owner ?? 'root',
        group: args.group ?? existing?.group ?? creator?.group ?? 'root',
      }
      const set = setAttributesScript(path, {
        mode: changes.some((c) => c.field === 'mode') ? want : undefined,
        owner: changes.some((c) => c.field === 'owner') ? args.owner : undefined,
        group: changes.some((c) => c.field === 'group') ? args.group : undefined,
      })
      // mkdir -m sets the mode as chmod would; chown/chgrp may clear mode bits, so with them chmod still runs last.
      const direct = !existing && want !== undefined && args.owner === undefined && args.group === undefined
      const script = direct
        ? `mkdir -p -m ${octal(want)} -- ${shQuote(path)} || exit 3`
        : existing ? set.script : `mkdir -p -- ${shQuote(path)} || exit 3\n${set.script}`
      const display = existing ? set.display : `mkdir ${path}`
      return {
        changes,
        predict: [predict(fileState, [path], after)],
        commands: [{ script, display }],
        detachable: true,
      }
    },
  }
}

/** Ensures a directory (missing parents are created with default permissions) with the given mode, owner and group. */
export function directory(args: DirectoryArgs): Promise<StepResult> {
  return runStep(directoryStep(args), args)
}

/** Arguments of {@link absent}. */
export interface AbsentArgs extends RetryKeywords {
  readonly path: string
  readonly notify?: readonly Handler[]
}

/** The step behind {@link absent}; pure, for tests. */
export function absentStep(args: AbsentArgs): StepSpec {
  return {
    name: `absent ${args.path}`,
    notify: args.notify,
    async plan(ctx) {
      const { path } = args
      checkPath(path)
      if (path === '/') throw new Error('refusing to remove /')
      const state = await readFileState(ctx, path)
      if (state.kind === 'absent') return { changes: [] }
      const [kind, before] =
        state.kind === 'file' ? ['file', `file (${state.size} bytes)`]
        : state.kind === 'directory' ? ['directory', 'directory']
        : state.kind === 'symlink' ? ['symlink', `symlink -> ${state.target}`]
        : ['file', 'special file']
      const display = `remove ${path}`
      return {
        changes: [{ resource: `${kind}:${path}`, action: 'delete', before }],
        predict: [predict(fileState, [path], { kind: 'absent', parentIsDirectory: true })],
        commands: [{ script: `rm -rf -- ${shQuote(path)}`, display }],
      }
    },
  }
}

/** Ensures nothing exists at `path`: a file, symlink or whole directory tree is removed. */
export function absent(args: AbsentArgs): Promise<StepResult> {
  return runStep(absentStep(args), args)
}
