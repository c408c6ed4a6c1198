import { randomBytes } from 'node:crypto'
import { posix } from 'node:path'
import { shQuote } from '../connection/quote.ts'
import type { Change } from '../engine/events.ts'
import { predict } from '../engine/facts.ts'
import type { Handler } from '../engine/handlers.ts'
import type { RetryKeywords } from '../engine/retry.ts'
import { runStep, type PlannedCommand, type StepResult, type StepSpec } from '../engine/step.ts'
import { commandSucceeds } from '../facts/command.ts'
import { fileState, type FileState } from '../facts/file.ts'
import { readSource, sourcePath } from './copy-source.ts'
import { checkPath, planWrite, readFileState } from './file.ts'

/** Arguments of {@link unarchive}. */
export interface UnarchiveArgs extends RetryKeywords {
  /**
   * The archive: on the controller an absolute path or a `file:` URL (streamed to the host), or
   * with `remoteSrc` an absolute path on the host. A name ending in `.zip` is a zip (needs
   * `unzip` on the host); anything else is a tar, plain or compressed as the host's tar detects
   * it (gzip always; `.tar.xz`, `.tar.bz2`, `.tar.zst` need xz, bzip2, zstd there).
   */
  readonly src: string | URL
  /** The directory the archive's content goes into; it must exist unless `createDest`. */
  readonly dest: string
  /** `src` is a path on the host, not on the controller. */
  readonly remoteSrc?: boolean
  /** Create `dest` (and missing parents) when it does not exist. */
  readonly createDest?: boolean
  /** Owner of everything extracted (by default the login user: archives' owners are not kept). */
  readonly owner?: string
  readonly group?: string
  /** chmod mode applied to everything extracted: octal (`'0644'`) or symbolic (`'u=rwX,go=rX'`). */
  readonly mode?: string
  /** Tar only: leading path components dropped from every name (`app-1.2/bin/app` → `bin/app` with 1). */
  readonly stripComponents?: number
  readonly notify?: readonly Handler[]
}

/**
 * The marker of an extraction, in `dest`: `.havn-unarchive-<archive name>`. It holds the archive's
 * SHA-256 and the options that shape the result, and is written only after the extraction
 * succeeded, so a killed run extracts again; removing `dest` removes it too.
 */
export function markerPath(dest: string, archiveName: string): string {
  return `${dest}/.havn-unarchive-${archiveName.replace(/[^A-Za-z0-9._-]/g, '_')}`
}

/** The program (and its Debian package) an archive needs on the host beyond tar and gzip, by its name. */
const TOOLS = [
  { name: /\.zip$/i, command: 'unzip', pkg: 'unzip' },
  { name: /\.(tar\.xz|txz)$/i, command: 'xz', pkg: 'xz-utils' },
  { name: /\.(tar\.bz2|tbz2?)$/i, command: 'bzip2', pkg: 'bzip2' },
  { name: /\.(tar\.zst|tzst)$/i, command: 'zstd', pkg: 'zstd' },
] as const

const MODE = /^(?:0?[0-7]{3,4}|[ugoa]*[-+=][rwxXst]*(?:,[ugoa]*[-+=][rwxXst]*)*)$/

function checkArgs(a: UnarchiveArgs, zip: boolean): void {
  checkPath(a.dest)
  if (a.mode !== undefined && !MODE.test(a.mode)) throw new Error(`unarchive ${a.dest}: mode '${a.mode}' is neither octal ('0644') nor symbolic ('u=rwX,go=rX')`)
  if (a.stripComponents !== undefined && (!Number.isInteger(a.stripComponents) || a.stripComponents < 0)) throw new Error(`unarchive ${a.dest}: stripComponents must be a whole number ≥ 0`)
  if (zip && a.stripComponents) throw new Error(`unarchive ${a.dest}: stripComponents applies to tar archives only`)
}

/** What the marker says: the archive and every option that changes what lands in `dest`. */
function markerText(name: string, sha256: string, a: UnarchiveArgs): string {
  const opts = [
    a.stripComponents ? `strip=${a.stripComponents}` : '',
    a.owner !== undefined ? `owner=${a.owner}` : '',
    a.group !== undefined ? `group=${a.group}` : '',
    a.mode !== undefined ? `mode=${a.mode}` : '',
  ].filter(Boolean)
  return `${[name, `sha256=${sha256}`, ...opts].join(' ')}\n`
}

/**
 * The extraction, run before the marker is written: the archive is unpacked into a private stage
 * directory inside `dest` (on a controller archive, after it was received and its sum checked),
 * owner, group and mode set there, and each top-level entry then moved into `dest` (copied over
 * one that exists, so directories merge). Any failure leaves `dest` as it was, bar entries moved.
 */
function extractScript(a: UnarchiveArgs, archive: { path?: string; sha256: string; zip: boolean }, createDest: boolean): string {
  const stage = `.havn-unarchive-stage.${randomBytes(9).toString('hex')}`
  const drain = archive.path === undefined ? 'cat >/dev/null; ' : ''
  const q = (s: string) => shQuote(s)
  const lines = [
    `d=${q(a.dest)}`,
    `s="$d/${stage}"`,
    archive.path === undefined ? `a="$s.archive"` : `a=${q(archive.path)}`,
    ...(createDest ? [`mkdir -p -- "$d" || { ${drain}exit 3; }`] : []),
    `[ -d "$d" ] || { ${drain}echo "havn: directory $d does not exist" >&2; exit 2; }`,
    // A stage left by a run that died; the host lock rules out a live one.
    `rm -rf -- "$d"/.havn-unarchive-stage.*`,
    `trap 'rm -rf -- "$s" "$s.archive"' EXIT`,
    `trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM`,
    `mkdir -m 0700 -- "$s" || { ${drain}exit 3; }`,
  ]
  if (archive.path === undefined) {
    lines.push(
      `cat > "$a" || exit 3`,
      `echo ${q(`${archive.sha256}  `)}"$a" | sha256sum -c --status || { echo "havn: the archive received differs from the one planned (changed on the controller?)" >&2; exit 3; }`,
    )
  }
  lines.push(
    archive.zip
      ? `unzip -q -o "$a" -d "$s"; rc=$?; [ $rc -le 1 ] || exit $rc`
      : `tar -x --no-same-owner -f "$a" -C "$s"${a.stripComponents ? ` --strip-components=${a.stripComponents}` : ''} || exit $?`,
  )
  if (a.owner !== undefined) lines.push(`find "$s" -mindepth 1 -exec chown -h -- ${q(a.owner)} {} + || exit 3`)
  if (a.group !== undefined) lines.push(`find "$s" -mindepth 1 -exec chgrp -h -- ${q(a.group)} {} + || exit 3`)
  if (a.mode !== undefined) lines.push(`find "$s" -mindepth 1 ! -type l -exec chmod ${q(a.mode)} {} + || exit 3`)
  lines.push(
    `for e in "$s"/* "$s"/.[!.]* "$s"/..?*; do`,
    `  [ -e "$e" ] || [ -L "$e" ] || continue`,
    `  n=\${e##*/}`,
    `  if [ -e "$d/$n" ] || [ -L "$d/$n" ]; then cp -a -- "$e" "$d/" || exit 3; else mv -- "$e" "$d/" || exit 3; fi`,
    `done`,
  )
  return lines.join('\n')
}

/** The step behind {@link unarchive}; sums a controller archive when it plans. */
export function unarchiveStep(args: UnarchiveArgs): StepSpec {
  return {
    name: `unarchive ${args.dest}`,
    notify: args.notify,
    async plan(ctx) {
      const src = sourcePath(args.src, 'unarchive')
      const name = posix.basename(src)
      const zip = /\.zip$/i.test(name)
      checkArgs(args, zip)
      if (args.remoteSrc) checkPath(src)
      const missing: string[] = []
      let sha256: string
      let local: string | undefined
      if (args.remoteSrc) {
        const state = await ctx.fact(fileState, src)
        if (state.kind === 'file') sha256 = state.sha256
        else if (state.kind === 'absent') {
          sha256 = '(unknown)'
          missing.push(`the archive ${src} does not exist on the host`)
        } else throw new Error(`unarchive ${args.dest}: ${src} on the host is not a regular file`)
      } else {
        const source = await readSource(src, 'unarchive')
        if (source.kind !== 'file') throw new Error(`unarchive ${args.dest}: ${src} is a directory, not an archive`)
        sha256 = source.file.sha256
        local = source.file.file
      }
      const tool = TOOLS.find((t) => t.name.test(name))
      if (tool && !(await ctx.fact(commandSucceeds, `command -v ${tool.command} >/dev/null 2>&1`))) {
        missing.push(`${tool.command} is not installed on the host; install the package ${tool.pkg} first (packages({ names: ['${tool.pkg}'] }))`)
      }

      const destState = await readFileState(ctx, args.dest)
      // A symlink (/opt/app -> app-1.2) is taken as the directory it points to; the script checks it is one.
      if (destState.kind === 'file' || destState.kind === 'other') throw new Error(`unarchive ${args.dest}: the host has a ${destState.kind === 'file' ? 'file' : 'special file'} there, not a directory`)
      const create = destState.kind === 'absent'
      if (create && !args.createDest) missing.push(`directory ${args.dest} does not exist; create it first or set createDest`)
      const marker = markerPath(args.dest, name)
      const markerState: FileState = create ? { kind: 'absent', parentIsDirectory: true } : await ctx.fact(fileState, marker)
      const text = markerText(name, sha256, args)
      const before = markerState.kind === 'file' ? markerState.content?.trim() : undefined
      if (before === text.trim()) return { changes: [] }

      const resource = `directory:${args.dest}`
      const changes: Change[] = [
        ...(create ? [{ resource, action: 'create' as const }] : []),
        { resource, action: create ? 'create' : 'update', field: 'extracted', ...(before !== undefined ? { before } : {}), after: text.trim() },
      ]
      const write = planWrite({ path: marker, state: markerState, content: text, mode: 0o644 })
      const creator = destState.kind === 'absent' ? destState.creator : undefined
      const extract: PlannedCommand = {
        script: extractScript(args, { ...(args.remoteSrc ? { path: src } : {}), sha256, zip }, create),
        display: `extract ${name} into ${args.dest}`,
        ...(local !== undefined ? { stdinFile: local } : {}),
      }
      return {
        changes,
        ...(missing.length ? { missing: `unarchive ${args.dest}: ${missing.join('; ')}` } : {}),
        commands: [extract, ...(write.commands ?? [])],
        predict: [
          ...(create ? [predict(fileState, [args.dest], { kind: 'directory', mode: 0o777 & ~(creator?.umask ?? 0o022), owner: creator?.owner ?? 'root', group: creator?.group ?? 'root' })] : []),
          ...(write.predict ?? []),
        ],
      }
    },
  }
}

/**
 * Ensures an archive's content is extracted into a directory: a tar (plain, gz, xz, bz2, as the
 * host's tar can) or a zip, from the controller (streamed, never held in memory) or already on
 * the host. Extracts again only when the archive's SHA-256 or the options differ from the marker
 * the last extraction left in `dest` (see {@link markerPath}); what `dest` has besides is kept.
 */
export function unarchive(args: UnarchiveArgs): Promise<StepResult> {
  return runStep(unarchiveStep(args), args)
}
