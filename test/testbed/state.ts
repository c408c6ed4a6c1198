import { readFile, rename, writeFile } from 'node:fs/promises'
import type { BaseImage } from './base-image.ts'
import type { HostKind, Suite } from './kinds.ts'

/** Everything `down` needs about one host, as recorded in state.json. */
export interface HostRecord {
  name: string
  address: string
  kind: HostKind
  /** systemd hosts: the host's own folder in the `name=systemd` cgroup hierarchy, removed by `down`. */
  cgroup?: string
  /** True for jump-only hosts on the hidden bridge. */
  hidden: boolean
  netns: string
  /** Root-side veth end. */
  veth: string
  /** Per-host folder (upper, work, merged, console.log). */
  dir: string
  /** Root-namespace PID of the host's PID 1 (sshd or systemd); absent before start or after stop. */
  pid?: number
  /** /proc/<pid>/stat start time, so a recycled PID is never killed. */
  startTime?: string
  /** The `unshare` parent waiting on PID 1. */
  parentPid?: number
  parentStartTime?: string
}

/** state.json: the machine-readable record of one bed. */
export interface BedState {
  version: 1
  stateDir: string
  phase: 'starting' | 'up'
  createdAt: string
  /** The image of each release the bed's hosts run. */
  images: Partial<Record<Suite, BaseImage>>
  bridge: string
  hiddenBridge?: string
  jumpVeth?: string
  /** Root-namespace `unreachable` route added for the hidden subnet. */
  unreachableRoute?: string
  hosts: HostRecord[]
}

/** Reads state.json; undefined when the file does not exist. */
export async function readState(path: string): Promise<BedState | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  const parsed = JSON.parse(text) as BedState
  if (parsed.version !== 1) throw new Error(`testbed: ${path} has unknown version ${String(parsed.version)}`)
  return parsed
}

/** Writes state.json atomically (temp file + rename), so a crash never leaves half a record. */
export async function writeState(path: string, state: BedState): Promise<void> {
  await writeFile(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`)
  await rename(`${path}.tmp`, path)
}

const queues = new Map<string, Promise<unknown>>()

/**
 * Read-modify-writes state.json, serialised per file within this process so concurrent callers
 * (e.g. parallel stopHost) never lose each other's updates. No-op when no state exists.
 */
export function updateState(path: string, change: (state: BedState) => void): Promise<void> {
  const previous = queues.get(path) ?? Promise.resolve()
  const next = previous.catch(() => undefined).then(async () => {
    const state = await readState(path)
    if (!state) return
    change(state)
    await writeState(path, state)
  })
  queues.set(path, next)
  return next
}
