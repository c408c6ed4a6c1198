import { runStep, type StepPlan, type StepResult, type StepSpec } from '../engine/step.ts'
import { type FileState } from '../facts/file.ts'
import { checkPath, checkValidate, parseMode, planWrite, readFileState, type WriteOptions } from './file.ts'
import type { RetryKeywords } from '../engine/retry.ts'

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alpha: 'A-Za-z', digit: '0-9', alnum: 'A-Za-z0-9', upper: 'A-Z', lower: 'a-z', space: '\\s', blank: ' \\t',
  xdigit: '0-9A-Fa-f', punct: '!-\\/:-@\\[-`{-~', cntrl: '\\x00-\\x1f\\x7f', print: '\\x20-\\x7e', graph: '\\x21-\\x7e',
}

/** Compiles an ERE-style pattern for JS, translating POSIX bracket classes like `[[:space:]]`; throws naming a bad pattern. */
export function compileRegexp(pattern: string): RegExp {
  const js = pattern.replace(/\[:([a-z]+):\]/g, (m, name: string) => POSIX_CLASSES[name] ?? m)
  try {
    return new RegExp(js)
  } catch (err) {
    throw new Error(`invalid regexp '${pattern}': ${err instanceof Error ? err.message : String(err)}`)
  }
}

/** Text as lines without their terminators, and whether the last one had a newline. */
export function splitLines(text: string): { lines: string[]; finalNewline: boolean } {
  if (text === '') return { lines: [], finalNewline: true }
  const finalNewline = text.endsWith('\n')
  return { lines: (finalNewline ? text.slice(0, -1) : text).split('\n'), finalNewline }
}

/** The inverse of {@link splitLines}. */
export function joinLines(lines: readonly string[], finalNewline: boolean): string {
  return lines.length === 0 ? '' : lines.join('\n') + (finalNewline ? '\n' : '')
}

/** What {@link editLines} ensures, with lineinfile semantics. */
export interface LineEdit {
  readonly line?: string
  readonly regexp?: string
  readonly state?: 'present' | 'absent'
  /** `EOF` (default) or a pattern: a new line goes after the last line matching it, else at the end. */
  readonly insertAfter?: string
}

/**
 * Edits text like Ansible's lineinfile. present: the last line matching `regexp` becomes `line`;
 * with no match, `line` is added unless it is already there. absent: every line matching `regexp`
 * (or equal to `line`) is removed. Returns the input unchanged (same string) when nothing differs.
 */
export function editLines(text: string, e: LineEdit): string {
  const { lines, finalNewline } = splitLines(text)
  const re = e.regexp !== undefined ? compileRegexp(e.regexp) : undefined
  if ((e.state ?? 'present') === 'absent') {
    if (re === undefined && e.line === undefined) throw new Error('line: state absent needs line or regexp')
    const kept = lines.filter((l) => !(re ? re.test(l) : l === e.line))
    return kept.length === lines.length ? text : joinLines(kept, finalNewline)
  }
  const line = e.line
  if (line === undefined) throw new Error('line: state present needs line')
  if (line.includes('\n')) throw new Error('line: line must be a single line')
  const matched = re ? lines.findLastIndex((l) => re.test(l)) : -1
  if (matched >= 0) {
    if (lines[matched] === line) return text
    lines[matched] = line
    return joinLines(lines, finalNewline)
  }
  if (lines.includes(line)) return text
  const after = e.insertAfter === undefined || e.insertAfter === 'EOF' ? -1 : lines.findLastIndex((l) => compileRegexp(e.insertAfter as string).test(l))
  if (after >= 0 && after < lines.length - 1) {
    lines.splice(after + 1, 0, line)
    return joinLines(lines, finalNewline)
  }
  lines.push(line)
  return joinLines(lines, true)
}

/** What {@link editIni} ensures. */
export interface IniEdit {
  /** Section name; undefined means the keys before the first `[section]` header (or a header-less file). */
  readonly section?: string
  readonly key: string
  readonly value?: string
  readonly state?: 'present' | 'absent'
  /** Canonical form of a key for matching; the default treats `-` and `_` alike (MySQL option files). */
  readonly keyForm?: (key: string) => string
  /** Canonical form of a value for comparison; the default trims it. */
  readonly valueForm?: (value: string) => string
}

const HEADER = /^\s*\[([^\]]*)\]\s*(?:[#;].*)?$/
const ENTRY = /^\s*([^\s=#;[][^=]*?)\s*(?:=(.*))?$/

/**
 * Sets (or removes) `key` in an ini section, preserving every other byte. Existing entries
 * (`key = v`, `key=v`, a bare `key`) are rewritten as `key = value`; a missing key is added after
 * the section's last non-blank line; a missing section is appended at the end. Returns the input
 * unchanged (same string) when nothing differs.
 */
export function editIni(text: string, e: IniEdit): string {
  const keyForm = e.keyForm ?? ((k: string) => k.replaceAll('-', '_'))
  const valueForm = e.valueForm ?? ((v: string) => v.trim())
  const want = keyForm(e.key)
  const present = (e.state ?? 'present') === 'present'
  if (present && e.value === undefined) throw new Error('iniSetting: state present needs a value')
  if (/[\n\r]/.test(e.key + (e.value ?? ''))) throw new Error('iniSetting: key and value must be single lines')
  const wanted = `${e.key} = ${e.value ?? ''}`
  const { lines, finalNewline } = splitLines(text)

  let section: string | undefined
  let sectionEnd = e.section === undefined ? 0 : -1 // index after the section's last non-blank line
  const hits: number[] = []
  lines.forEach((l, i) => {
    const h = HEADER.exec(l)
    if (h) {
      section = (h[1] ?? '').trim()
      if (section === e.section) sectionEnd = i + 1
      return
    }
    if (section !== e.section) return
    if (l.trim() !== '') sectionEnd = i + 1
    if (/^\s*[#;]/.test(l)) return
    const m = ENTRY.exec(l)
    if (m && keyForm(m[1] ?? '') === want) hits.push(i)
  })

  if (!present) {
    if (hits.length === 0) return text
    return joinLines(lines.filter((_, i) => !hits.includes(i)), finalNewline)
  }
  if (hits.length > 0) {
    let changed = false
    for (const i of hits) {
      const v = ENTRY.exec(lines[i] ?? '')?.[2]
      if (v !== undefined && valueForm(v) === valueForm(e.value ?? '')) continue
      lines[i] = wanted
      changed = true
    }
    return changed ? joinLines(lines, finalNewline) : text
  }
  if (sectionEnd >= 0) {
    lines.splice(sectionEnd, 0, wanted)
    return joinLines(lines, finalNewline || sectionEnd === lines.length - 1)
  }
  if (lines.length > 0 && (lines.at(-1) ?? '').trim() !== '') lines.push('')
  lines.push(`[${e.section ?? ''}]`, wanted)
  return joinLines(lines, true)
}

/** What {@link planEdit} needs: how to edit the text, and the attributes and options of the write. */
export interface EditSpec extends Omit<WriteOptions, 'notify'> {
  readonly path: string
  readonly create: boolean
  /** True when an absent file needs no change (removing from a missing file). */
  readonly absentIsFine: boolean
  readonly edit: (text: string) => string
}

/** Plans an edit of a text file's content through the shared `fileState` fact and atomic write. */
export function planEdit(state: FileState, s: EditSpec): StepPlan {
  if (state.kind === 'symlink') throw new Error(`${s.path} is a symlink to ${state.target}; edit the target instead`)
  if (state.kind === 'file' && state.content === undefined) throw new Error(`${s.path} is not a UTF-8 text file of at most 256 KiB; it cannot be edited line by line`)
  if (state.kind === 'absent' && s.absentIsFine) return { changes: [] }
  const before = state.kind === 'file' ? state.content ?? '' : ''
  const plan = planWrite({
    path: s.path,
    state,
    content: s.edit(before),
    sensitive: s.sensitive,
    mode: s.mode === undefined ? undefined : parseMode(s.mode),
    owner: s.owner,
    group: s.group,
    validate: s.validate,
    backup: s.backup,
  })
  if (state.kind === 'absent' && !s.create && plan.changes.length > 0) return { ...plan, missing: `${s.path} does not exist (set create: true to create it)` }
  return plan
}

/** Attributes and write options shared by {@link line} and {@link iniSetting}. */
export type EditOptions = WriteOptions

/** Arguments of {@link line}. */
export interface LineArgs extends EditOptions, LineEdit, RetryKeywords {
  readonly path: string
  /** Create the file when absent (default false: an absent file is an error, as in Ansible). */
  readonly create?: boolean
}

/** The step behind {@link line}; pure, for tests. */
export function lineStep(args: LineArgs): StepSpec {
  return {
    name: `line ${args.path}`,
    notify: args.notify,
    async plan(ctx) {
      checkPath(args.path)
      checkValidate(args.validate)
      const state = await readFileState(ctx, args.path)
      return planEdit(state, { ...args, create: args.create ?? false, absentIsFine: args.state === 'absent', edit: (t) => editLines(t, args) })
    },
  }
}

/**
 * Ensures one line in a text file, like Ansible's lineinfile: replaces the last line matching
 * `regexp` (else adds `line` after `insertAfter` or at the end), or with `state: 'absent'` removes
 * every matching line. Written atomically like {@link file}.
 */
export function line(args: LineArgs): Promise<StepResult> {
  return runStep(lineStep(args), args)
}

/** Arguments of {@link iniSetting}. */
export interface IniSettingArgs extends EditOptions, RetryKeywords {
  readonly path: string
  readonly section: string
  readonly key: string
  readonly value?: string | number | boolean
  readonly state?: 'present' | 'absent'
  /** Create the file when absent (default true, as Ansible's ini_file). */
  readonly create?: boolean
}

/** The step behind {@link iniSetting}; pure, for tests. */
export function iniSettingStep(args: IniSettingArgs): StepSpec {
  return {
    name: `ini ${args.path} [${args.section}] ${args.key}`,
    notify: args.notify,
    async plan(ctx) {
      checkPath(args.path)
      checkValidate(args.validate)
      const state = await readFileState(ctx, args.path)
      const edit = { section: args.section, key: args.key, value: args.value === undefined ? undefined : String(args.value), state: args.state }
      return planEdit(state, { ...args, create: args.create ?? true, absentIsFine: args.state === 'absent', edit: (t) => editIni(t, edit) })
    },
  }
}

/**
 * Ensures `key = value` in `[section]` of an ini-style file (MySQL option files: `-` and `_` in
 * keys match), keeping every other byte; adds the key or the section when missing.
 */
export function iniSetting(args: IniSettingArgs): Promise<StepResult> {
  return runStep(iniSettingStep(args), args)
}
