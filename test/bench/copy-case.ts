import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startLatencyProxy, type LatencyProxy } from '../testbed/latency-proxy.ts'
import { runPlaybook, type BedFiles } from './havn-run.ts'
import { counted, countedRow, writeWanTargets, type WanRow } from './wan.ts'
import type { BenchHost } from './workspace.ts'

/** Where the copy case puts its tree on each host. */
export const COPY_DEST = '/srv/bench-tree'

/** The copy case: a no-change copy of a tree next to a run with no step, both through delay proxies. */
export interface CopyResult {
  readonly hosts: number
  readonly files: number
  readonly delayMs: number
  /** `connect-only.ts`: connect, lock, close; the round trips every run pays whatever its steps. */
  readonly baseline: WanRow
  /** `copy-tree.ts` on hosts without the tree: every file new (one run). */
  readonly first: WanRow
  /** `copy-tree.ts` on hosts that already hold the tree. */
  readonly copy: WanRow
  readonly setupProblems: readonly string[]
}

/** What the copy case needs from the bench. */
export interface CopySetup {
  readonly hosts: readonly BenchHost[]
  readonly n: number
  readonly files: number
  readonly delayMs: number
  readonly reps: number
  readonly work: string
  readonly bed: BedFiles
  /** Removes the copied tree from the first n hosts. */
  readonly reset: (n: number) => Promise<void>
  readonly say: (msg: string) => void
}

/** Writes `count` small files of distinct content, 50 to a directory, under `root`. */
async function writeTree(root: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const dir = join(root, `d${String(Math.floor(i / 50)).padStart(2, '0')}`)
    if (i % 50 === 0) await mkdir(dir, { recursive: true })
    await writeFile(join(dir, `f${String(i).padStart(4, '0')}.conf`), `# bench file ${i}\nkey_${i} = ${'x'.repeat(i % 97)}\n`)
  }
}

/**
 * The copy case: a tree of `files` files on the controller, a delay proxy per host, the tree
 * copied once (its time and round trips kept, no target), then `reps` interleaved pairs of the no-step run and the no-change
 * copy run, each host's round trips counted in its proxy. What the copy step itself costs is the
 * difference. Always closes every proxy.
 */
export async function measureCopy(s: CopySetup): Promise<CopyResult> {
  const subset = s.hosts.slice(0, s.n)
  const src = join(s.work, 'copy-src')
  await writeTree(src, s.files)
  const proxies: LatencyProxy[] = []
  try {
    for (const h of subset) proxies.push(await startLatencyProxy({ targetHost: h.address, targetPort: 22, delayMs: s.delayMs }))
    const dir = join(s.work, 'copy')
    await mkdir(dir, { recursive: true })
    const t = await writeWanTargets(dir, subset, proxies, s.bed, { copy_src: src })
    await s.reset(s.n)
    const first = countedRow()
    first.add(await counted(proxies, s.delayMs, () => runPlaybook('test/bench/copy-tree.ts', 'run', t.inventory, s.n, t.files, 1)))
    s.say(`copy N=${s.n}, ${s.files} files: first copy ${(first.runs[0]?.wallS ?? Number.NaN).toFixed(2)} s${first.problems.length ? ` PROBLEM: ${first.problems[0]}` : ''}`)
    const baseline = countedRow()
    const copy = countedRow()
    for (let r = 0; r < s.reps; r++) {
      for (const [row, playbook] of [[baseline, 'test/bench/connect-only.ts'], [copy, 'test/bench/copy-tree.ts']] as const) {
        row.add(await counted(proxies, s.delayMs, () => runPlaybook(playbook, 'run', t.inventory, s.n, t.files, 0)))
      }
      s.say(`copy N=${s.n} rep ${r + 1}/${s.reps}: no step ${(baseline.runs.at(-1)?.wallS ?? Number.NaN).toFixed(2)} s, no-change copy ${(copy.runs.at(-1)?.wallS ?? Number.NaN).toFixed(2)} s`)
    }
    return { hosts: s.n, files: s.files, delayMs: s.delayMs, first, baseline, copy, setupProblems: first.problems }
  } finally {
    await Promise.all(proxies.map((p) => p.close()))
  }
}
