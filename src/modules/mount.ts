import { isSecret, shQuote, type Secret, type ShellCommand } from '../connection/quote.ts'
import type { Change } from '../engine/events.ts'
import { predict } from '../engine/facts.ts'
import type { Handler } from '../engine/handlers.ts'
import type { RetryKeywords } from '../engine/retry.ts'
import { runStep, type PlannedCommand, type StepPlan, type StepResult, type StepSpec } from '../engine/step.ts'
import { mountPoint, type LiveMount, type MountPoint } from '../facts/mount.ts'
import { checkPath, directoryStep, readFileState } from './file.ts'
import { ensureFstabEntry, fstabEntryFor, removeFstabEntry, type FstabEntry } from './fstab.ts'
import { planEdit } from './line.ts'

/** The fstab that {@link mount} edits unless told otherwise; the one systemd generates mount units from. */
export const DEFAULT_FSTAB = '/etc/fstab'

/** Arguments of {@link mount}. */
export interface MountArgs extends RetryKeywords {
  /** The mount point: absolute, as the kernel shows it (no symlink on the way). */
  readonly path: string
  /** What is mounted: a device, `UUID=…`, `server:/export`, `tmpfs`, …; required for `present` and `mounted`. */
  readonly src?: string
  /** File system type; required for `present` and `mounted`. */
  readonly fstype?: string
  /** Mount options as fstab holds them; default `defaults`. A `secret()` (a cifs password) is never shown. */
  readonly opts?: string | Secret
  /** fstab's fifth field; default 0. */
  readonly dump?: number
  /** fstab's sixth field (fsck order); default 0. */
  readonly passno?: number
  /**
   * `present`: only the fstab entry. `mounted`: the entry, and mounted (the mount point is
   * created when missing). `unmounted`: not mounted, fstab left alone. `absent`: neither.
   */
  readonly state: 'mounted' | 'present' | 'unmounted' | 'absent'
  /** The fstab file to edit; default {@link DEFAULT_FSTAB}. */
  readonly fstab?: string
  readonly notify?: readonly Handler[]
}

const STATES = new Set(['mounted', 'present', 'unmounted', 'absent'])

/** The entry the arguments ask for, after checking them; undefined for states that keep no entry. */
function wantedEntry(a: MountArgs, opts: string): FstabEntry | undefined {
  checkPath(a.path)
  if (a.fstab !== undefined) checkPath(a.fstab)
  if (!STATES.has(a.state)) throw new Error(`mount ${a.path}: state must be mounted, present, unmounted or absent, got ${JSON.stringify(a.state)}`)
  if (a.path === '/' && (a.state === 'unmounted' || a.state === 'absent')) throw new Error('mount: refusing to unmount /')
  if (a.state === 'unmounted' || a.state === 'absent') return undefined
  if (!a.src || !a.fstype) throw new Error(`mount ${a.path}: src and fstype are required for state ${a.state}`)
  if (/\s/.test(a.fstype) || /[\n\r]/.test(a.src) || /[\s]/.test(opts) || opts === '') throw new Error(`mount ${a.path}: fstype and opts must be single words (opts comma-separated), src one line`)
  for (const [k, v] of [['dump', a.dump], ['passno', a.passno]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 0)) throw new Error(`mount ${a.path}: ${k} must be a non-negative integer, got ${v}`)
  }
  return { src: a.src, path: a.path, fstype: a.fstype, opts, dump: a.dump ?? 0, passno: a.passno ?? 0 }
}

/**
 * Whether the live mount is of what the entry names. The kernel names a device by its node, not
 * by an fstab tag or a /dev symlink, and a bind mount by the device beneath it: those sources are
 * taken as matching rather than remounted on every run. NFS mounts negotiated to v4 show `nfs4`.
 */
function sameSource(live: LiveMount, want: FstabEntry): boolean {
  if (/(^|,)r?bind(,|$)/.test(want.opts)) return true
  const fstype = want.fstype === 'nfs' && live.fstype === 'nfs4' ? 'nfs4' : want.fstype
  if (want.fstype !== 'auto' && fstype !== live.fstype) return false
  return /^(UUID|LABEL|PARTUUID|PARTLABEL|ID)=/.test(want.src) || want.src.startsWith('/dev/') || want.src === live.source
}

type Op = 'mount' | 'umount' | 'remount'

/** The step behind {@link mount}; pure, for tests. */
export function mountStep(args: MountArgs): StepSpec {
  return {
    name: `mount ${args.path} ${args.state}`,
    notify: args.notify,
    async plan(ctx) {
      const { path, state } = args
      const fstab = args.fstab ?? DEFAULT_FSTAB
      const opts = args.opts === undefined ? 'defaults' : isSecret(args.opts) ? args.opts.reveal() : args.opts
      const sensitive = isSecret(args.opts)
      const want = wantedEntry(args, opts)
      const [table, point, at] = await Promise.all([
        readFileState(ctx, fstab),
        ctx.fact(mountPoint, path),
        state === 'mounted' ? readFileState(ctx, path) : undefined,
      ])
      if (at?.kind === 'symlink') throw new Error(`mount ${path}: the mount point is a symlink to ${at.target}; give the real path, as the kernel shows it`)
      const before = table.kind === 'file' && table.content !== undefined ? fstabEntryFor(table.content, path) : undefined
      const write: StepPlan =
        state === 'unmounted'
          ? { changes: [] }
          : planEdit(table, { path: fstab, create: true, absentIsFine: !want, sensitive, edit: (t) => (want ? ensureFstabEntry(t, want) : removeFstabEntry(t, path)) })
      const dir: StepPlan = at?.kind === 'absent' ? await directoryStep({ path }).plan(ctx) : { changes: [] }

      const live = point.mount
      const resource = `mount:${path}`
      const changes: Change[] = [...dir.changes, ...write.changes]
      const ops: Op[] = []
      let after: MountPoint = point
      if (want && state === 'mounted') {
        const mounted: MountPoint = { init: point.init, mount: { source: want.src, fstype: want.fstype, options: opts } }
        if (!live) {
          changes.push({ resource, action: 'update', field: 'state', before: 'unmounted', after: 'mounted' })
          ops.push('mount')
          after = mounted
        } else if (!sameSource(live, want)) {
          changes.push({ resource, action: 'update', field: 'source', before: `${live.fstype} ${live.source}`, after: `${want.fstype} ${want.src}` })
          ops.push('umount', 'mount')
          after = mounted
        } else if (before?.opts !== opts) {
          // The kernel spells options its own way (size=64m reads size=65536k), so fstab's are what is compared.
          const change: Change = { resource, action: 'update', field: 'options', before: before?.opts ?? live.options, after: opts }
          changes.push(sensitive ? { resource, action: 'update', field: 'options', sensitive: true } : change)
          ops.push('remount')
          after = { init: point.init, mount: { ...live, options: opts } }
        }
      } else if (!want && live) {
        changes.push({ resource, action: 'update', field: 'state', before: 'mounted', after: 'unmounted' })
        ops.push('umount')
        after = { init: point.init }
      }
      if (changes.length === 0) return { changes: [] }

      const edited = write.changes.length > 0 ? write.commands?.[0] : undefined
      const fstabOption = fstab === DEFAULT_FSTAB ? '' : ` -T ${shQuote(fstab)}`
      const q = shQuote(path)
      const run = (op: Op): ShellCommand =>
        op === 'umount' ? { script: `umount -- ${q} || exit $?`, display: `umount ${path}` }
        : op === 'mount' ? { script: `mount${fstabOption} -- ${q} || exit $?`, display: `mount ${path}` }
        : { script: `mount${fstabOption} -o remount -- ${q} || exit $?`, display: `mount -o remount ${path}` }
      const parts: ShellCommand[] = [...(dir.commands ?? [])]
      // Unmount while the entry still names it; mount only once fstab (and systemd's copy of it) says how.
      if (ops[0] === 'umount') parts.push(run('umount'))
      if (edited) {
        parts.push({ script: `( ${edited.script}\n) || exit $?`, display: edited.display })
        // systemd makes mount units from /etc/fstab and warns, or mounts the old entry, until it reloads.
        if (point.init === 'systemd' && fstab === DEFAULT_FSTAB) parts.push({ script: 'systemctl daemon-reload || exit $?', display: 'systemctl daemon-reload' })
      }
      for (const op of ops) if (op !== 'umount') parts.push(run(op))
      const command: PlannedCommand = {
        script: parts.map((c) => c.script).join('\n'),
        display: parts.map((c) => c.display).join('; '),
        ...(edited?.stdin !== undefined ? { stdin: edited.stdin, ...(sensitive ? { sensitiveStdin: true } : {}) } : {}),
      }
      return {
        changes,
        predict: [...(dir.predict ?? []), ...(write.predict ?? []), ...(ops.length > 0 ? [predict(mountPoint, [path], after)] : [])],
        commands: [command],
        ...(write.missing ? { missing: write.missing } : {}),
        ...(write.sensitiveValues ? { sensitiveValues: write.sensitiveValues } : {}),
      }
    },
  }
}

/**
 * Ensures a file system's fstab entry and whether it is mounted, like Ansible's mount: the entry
 * is edited in place (every other line kept byte for byte, written atomically), systemd reloads
 * after an fstab edit, a mounted file system whose options changed is remounted, one mounted
 * from another source is unmounted and mounted again. Mount options are compared through the
 * fstab entry: the kernel reports them in its own spelling.
 */
export function mount(args: MountArgs): Promise<StepResult> {
  return runStep(mountStep(args), args)
}
