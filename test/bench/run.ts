/**
 * `npm run bench`: brings up its own test bed (slot $HAVN_TESTBED_SLOT, default 2; state folder
 * $HAVN_BENCH_STATE_DIR, default /tmp/havn-bench-bed), measures W5 with havn, the ssh2 floor and
 * (when installed, at N <= 100) Ansible at each N in interleaved repetitions, then the WAN case
 * (floor and havn no-change through a delay proxy per host) and the scale case (500 hosts against
 * 100), prints the tables and PASS/MISS per target, and always tears the bed down. `--write-md`
 * also replaces the results blocks in BENCHMARKS.md (one for the sizes, one for WAN and scale).
 *
 * Env: HAVN_BENCH_CASES (default "sizes,wan,500,copy"; e.g. "wan,500" runs only those cases),
 * HAVN_BENCH_SIZES (default "10,50,100"), HAVN_BENCH_REPS (3), HAVN_BENCH_ANSIBLE_REPS (1),
 * HAVN_BENCH_WAN_HOSTS (50), HAVN_BENCH_WAN_DELAY_MS (30, each way), HAVN_BENCH_SCALE_HOSTS (500;
 * compared with a fifth of it), HAVN_BENCH_COPY_HOSTS (10) and HAVN_BENCH_COPY_FILES (1000) for the
 * copy case (a no-change copy of a tree, through the WAN delay), HAVN_BENCH_SKIP_BUILD=1 to use the existing dist/.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { ansibleVersion, closeMasters, hasIniFile, runAnsible, writeAnsible, type AnsibleSetup } from './ansible.ts'
import { compileHelpers } from './compile.ts'
import { runHavn, runHavnApply, type BedFiles, type HavnKind } from './havn-run.ts'
import { measure, REPO, type Measured } from './measure.ts'
import { breakdownTable, traceRun, type Breakdown } from './trace.ts'
import { render, type BenchResult, type Row, type SizeResult, type StartupResult } from './report.ts'
import { renderCases, type CasesResult } from './cases-report.ts'
import { COPY_DEST, measureCopy } from './copy-case.ts'
import { measureScale } from './scale.ts'
import { measureWan } from './wan.ts'
import { writeTargets, type BenchHost } from './workspace.ts'

process.env.HAVN_TESTBED_SLOT ??= '2'
// The bed's subnet is fixed when its layout module loads, so the slot must be set before this import.
const { up, down, hostExec } = await import('../testbed/index.ts')
const { mapLimit } = await import('../testbed/pool.ts')
type Bed = Awaited<ReturnType<typeof up>>

/** The most hosts one bench bed holds (the bridge takes 1023 ports; 500 is what has been measured). */
const MAX_HOSTS = 500
/** Ansible takes about a minute per 100 hosts per run; above this it is not run. */
const MAX_ANSIBLE_HOSTS = 100

function intList(raw: string | undefined, fallback: number[]): number[] {
  if (!raw) return fallback
  const list = raw.split(',').map((x) => Number(x.trim()))
  if (list.some((n) => !Number.isInteger(n) || n < 1 || n > MAX_HOSTS)) throw new Error(`HAVN_BENCH_SIZES must be whole numbers 1-${MAX_HOSTS}, got '${raw}'`)
  return list
}

function positive(raw: string | undefined, fallback: number, what: string, most = 20): number {
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1 || n > most) throw new Error(`${what} must be a whole number 1-${most}, got '${raw}'`)
  return n
}

type Case = 'sizes' | 'wan' | '500' | 'copy'
function cases(raw: string | undefined): Set<Case> {
  const all: Case[] = ['sizes', 'wan', '500', 'copy']
  if (!raw) return new Set(all)
  const list = raw.split(',').map((x) => x.trim()).filter(Boolean)
  const bad = list.filter((x) => !(all as string[]).includes(x))
  if (bad.length > 0 || list.length === 0) throw new Error(`HAVN_BENCH_CASES must be a comma list of ${all.join(', ')}, got '${raw}'`)
  return new Set(list as Case[])
}

const CASES = cases(process.env.HAVN_BENCH_CASES)
const SIZES = intList(process.env.HAVN_BENCH_SIZES, [10, 50, 100])
const REPS = positive(process.env.HAVN_BENCH_REPS, 3, 'HAVN_BENCH_REPS')
const ANSIBLE_REPS = positive(process.env.HAVN_BENCH_ANSIBLE_REPS, 1, 'HAVN_BENCH_ANSIBLE_REPS')
const WAN_HOSTS = positive(process.env.HAVN_BENCH_WAN_HOSTS, 50, 'HAVN_BENCH_WAN_HOSTS', MAX_HOSTS)
const WAN_DELAY_MS = positive(process.env.HAVN_BENCH_WAN_DELAY_MS, 30, 'HAVN_BENCH_WAN_DELAY_MS', 1000)
const SCALE_HOSTS = positive(process.env.HAVN_BENCH_SCALE_HOSTS, 500, 'HAVN_BENCH_SCALE_HOSTS', MAX_HOSTS)
const COPY_HOSTS = positive(process.env.HAVN_BENCH_COPY_HOSTS, 10, 'HAVN_BENCH_COPY_HOSTS', MAX_HOSTS)
const COPY_FILES = positive(process.env.HAVN_BENCH_COPY_FILES, 1000, 'HAVN_BENCH_COPY_FILES', 100_000)
const STATE_DIR = process.env.HAVN_BENCH_STATE_DIR ?? '/tmp/havn-bench-bed'
const WRITE_MD = process.argv.includes('--write-md')
const KINDS: readonly HavnKind[] = ['first', 'second', 'check']

function say(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`)
}

function sh(cmd: string, args: readonly string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: REPO, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')} failed: ${stdout}${stderr}`.slice(-2000))) : resolve()))
  })
}

/** Removes `path` (W5's /etc/bench by default) on the first `n` hosts, in parallel, so the next run is a first run. */
async function resetHosts(bed: Bed, hosts: readonly BenchHost[], n: number, path = '/etc/bench'): Promise<void> {
  await mapLimit(hosts.slice(0, n) as BenchHost[], 16, async (h) => {
    const r = await hostExec(bed, h.name, `rm -rf ${path}`, 60_000)
    if (r.code !== 0) throw new Error(`reset on ${h.name} failed (${r.code}): ${r.stderr.slice(-300)}`)
  })
}

type Runs = { m: Measured; problems: readonly string[] }[]

function row(runs: Runs): Row {
  return { runs: runs.map((r) => r.m), problems: runs.flatMap((r) => r.problems) }
}

async function measureStartup(loadProbe: string, inventory: string, hosts: number): Promise<StartupResult> {
  const helpS: number[] = []
  for (let i = 0; i < 10; i++) {
    const m = await measure(process.execPath, [join(REPO, 'bin/havn.js'), '--help'], { rusage: false, timeoutMs: 30_000 })
    if (m.code !== 0) throw new Error(`havn --help exited ${String(m.code)}: ${m.stderr.slice(-300)}`)
    helpS.push(m.wallS)
  }
  const loadWallS: number[] = []
  const loadInProcessS: number[] = []
  for (let i = 0; i < 5; i++) {
    const m = await measure(process.execPath, [loadProbe, REPO, join(REPO, 'test/bench/w5.ts'), inventory], { rusage: false, timeoutMs: 30_000 })
    if (m.code !== 0) throw new Error(`load probe exited ${String(m.code)}: ${m.stderr.slice(-500)}`)
    const out = JSON.parse(m.stdout) as { hosts: number; inventoryMs: number; playbookMs: number }
    if (out.hosts !== hosts) throw new Error(`load probe saw ${out.hosts} hosts, expected ${hosts}`)
    loadWallS.push(m.wallS)
    loadInProcessS.push((out.inventoryMs + out.playbookMs) / 1000)
  }
  return { helpS, loadHosts: hosts, loadWallS, loadInProcessS }
}

/**
 * Floor, havn and (with `ansible`) Ansible at `n` hosts, in interleaved repetitions, so drift on
 * the machine hits all three alike and the Ansible ratio compares runs made minutes apart, not one
 * size's havn runs with Ansible runs made after every size.
 */
async function measureSize(bed: Bed, hosts: readonly BenchHost[], n: number, work: string, floorJs: string, files: BedFiles, ansible?: AnsibleSetup): Promise<SizeResult> {
  const { inventory, floorHosts } = await writeTargets(work, hosts, n)
  const floor: Runs = []
  const applies: Runs = []
  const havn: Record<HavnKind, Runs> = { first: [], second: [], check: [] }
  const theirs: Record<HavnKind, Runs> = { first: [], second: [], check: [] }
  for (let r = 0; r < Math.max(REPS, ansible ? ANSIBLE_REPS : 0); r++) {
    if (r < REPS) {
      const m = await measure(process.execPath, [floorJs, floorHosts, files.identityFile, files.knownHosts], { timeoutMs: 120_000 })
      floor.push({ m, problems: m.code === 0 ? [] : [`floor exit ${String(m.code)}: ${m.stdout.slice(0, 300)} ${m.stderr.slice(-300)}`] })
      await resetHosts(bed, hosts, n)
      for (const k of KINDS) {
        const run = await runHavn(k, inventory, n, files)
        havn[k].push({ m: run, problems: run.problems })
        say(`N=${n} rep ${r + 1}/${REPS}: floor ${m.wallS.toFixed(2)} s, havn ${k} ${run.wallS.toFixed(2)} s${run.problems.length ? ` PROBLEM: ${run.problems[0]}` : ''}`)
      }
      const apply = await runHavnApply(inventory, n, files, join(work, `plan-${n}.json`), join(work, 'plan-key'))
      applies.push({ m: apply, problems: apply.problems })
      say(`N=${n} rep ${r + 1}/${REPS}: havn apply (no-change plan) ${apply.wallS.toFixed(2)} s${apply.problems.length ? ` PROBLEM: ${apply.problems[0]}` : ''}`)
    }
    if (ansible && r < ANSIBLE_REPS) {
      // Cold start for every "first" run; the second and check runs then reuse ControlPersist masters.
      await closeMasters(ansible)
      await resetHosts(bed, hosts, n)
      for (const k of KINDS) {
        const run = await runAnsible(k, ansible, n)
        theirs[k].push({ m: run, problems: run.problems })
        say(`N=${n} ansible rep ${r + 1}/${ANSIBLE_REPS}: ${k} ${run.wallS.toFixed(2)} s${run.problems.length ? ` PROBLEM: ${run.problems[0]}` : ''}`)
      }
      await closeMasters(ansible)
    }
  }
  const rows = (runs: Record<HavnKind, Runs>) => ({ first: row(runs.first), second: row(runs.second), check: row(runs.check) })
  return { n, floor: row(floor), havn: rows(havn), apply: row(applies), ...(ansible ? { ansible: rows(theirs) } : {}) }
}

/** One traced run each of the floor and havn's three kinds at `n` hosts, for "where the time goes". */
async function traceAll(bed: Bed, hosts: readonly BenchHost[], n: number, work: string, floorJs: string, files: BedFiles): Promise<Breakdown[]> {
  const havnArgs = (cmd: string) => [join(REPO, 'bin/havn.js'), cmd, 'test/bench/w5.ts', '-i', join(work, `havn-${n}`), '--ssh-config', files.sshConfig, '--known-hosts', files.knownHosts, '--identity', files.identityFile, '--output', 'json']
  const out = [await traceRun(`floor N=${n}`, [floorJs, join(work, `floor-${n}.json`), files.identityFile, files.knownHosts])]
  await resetHosts(bed, hosts, n)
  out.push(await traceRun(`havn first N=${n}`, havnArgs('run')))
  out.push(await traceRun(`havn no-change N=${n}`, havnArgs('run')))
  out.push(await traceRun(`havn check N=${n}`, havnArgs('check')))
  return out
}

/** Installs python3 (for Ansible) on `hosts` from the bed's local apt repository. */
async function installPython(bed: Bed, hosts: readonly BenchHost[]): Promise<void> {
  const script = 'test -x /usr/bin/python3 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3; } >/dev/null 2>&1; test -x /usr/bin/python3'
  await mapLimit(hosts as BenchHost[], 8, async (h) => {
    const r = await hostExec(bed, h.name, script, 300_000)
    if (r.code !== 0) throw new Error(`installing python3 on ${h.name} failed (${r.code}): ${r.stderr.slice(-300)}`)
  })
}

/** Replaces the text between `<!-- bench:NAME:begin -->` and `<!-- bench:NAME:end -->` in BENCHMARKS.md. */
async function updateMarkdown(name: string, text: string): Promise<void> {
  const file = join(REPO, 'BENCHMARKS.md')
  const md = await readFile(file, 'utf8')
  const begin = `<!-- bench:${name}:begin -->`
  const end = `<!-- bench:${name}:end -->`
  const a = md.indexOf(begin)
  const b = md.indexOf(end)
  if (a < 0 || b < a) throw new Error(`BENCHMARKS.md has no ${begin} … ${end} block to replace`)
  await writeFile(file, `${md.slice(0, a + begin.length)}\n\`\`\`text\n${text}\`\`\`\n${md.slice(b)}`)
}

async function main(): Promise<void> {
  const maxN = Math.max(...SIZES)
  const bedSize = Math.max(CASES.has('sizes') ? maxN : 0, CASES.has('wan') ? WAN_HOSTS : 0, CASES.has('500') ? SCALE_HOSTS : 0, CASES.has('copy') ? COPY_HOSTS : 0)
  const loadBefore = loadavg()[0] ?? 0
  const work = await mkdtemp(join(tmpdir(), 'havn-bench-'))
  let bed: Bed | undefined
  let tearingDown: Promise<void> | undefined
  const teardown = async () => {
    tearingDown ??= (async () => {
      if (bed) await down(STATE_DIR).catch((e: unknown) => say(`teardown failed: ${String(e)}; run: HAVN_TESTBED_SLOT=${process.env.HAVN_TESTBED_SLOT} npm run testbed -- down --state-dir ${STATE_DIR}`))
      await rm(work, { recursive: true, force: true })
    })()
    return tearingDown
  }
  const onSigint = () => {
    say('interrupted; tearing the bed down')
    void teardown().finally(() => process.exit(130))
  }
  process.on('SIGINT', onSigint)
  try {
    if (process.env.HAVN_BENCH_SKIP_BUILD !== '1') {
      say('building (npm run build)')
      await sh('npm', ['run', 'build', '--silent'], 300_000)
    }
    const helpers = await compileHelpers(join(work, 'bin'))
    say(`bringing up ${bedSize} hosts (slot ${process.env.HAVN_TESTBED_SLOT}, ${STATE_DIR})`)
    const bedStarted = performance.now()
    bed = await up({ count: bedSize, stateDir: STATE_DIR })
    const bedUpS = (performance.now() - bedStarted) / 1000
    const upBed = bed
    const hosts: BenchHost[] = bed.hosts.map((h) => ({ name: h.name, address: h.address }))
    const files: BedFiles = { sshConfig: bed.sshConfig, knownHosts: bed.knownHosts, identityFile: bed.identityFile }
    const date = () => new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC'
    // Other work on the machine skews every figure; the 1-minute load average shows how busy it was.
    const machine = (since: number) => `${cpus().length} cores, Node ${process.version}, load average ${since.toFixed(1)} at start, ${(loadavg()[0] ?? 0).toFixed(1)} at end`
    const raw: Record<string, unknown> = { bedHosts: bedSize, bedUpS }
    const texts: { block: string; text: string }[] = []

    if (CASES.has('sizes')) {
      const ansible = await ansibleVersion()
      if (!ansible) say('ansible-core not installed: apt-get install ansible-core (Ansible comparison skipped)')
      const ansibleSizes = SIZES.filter((n) => n <= MAX_ANSIBLE_HOSTS)
      let setupFor: ((n: number) => Promise<AnsibleSetup>) | undefined
      if (ansible && ansibleSizes.length > 0) {
        const need = Math.max(...ansibleSizes)
        say(`installing python3 on ${need} hosts for Ansible`)
        await installPython(bed, hosts.slice(0, need))
        const ini = await hasIniFile()
        setupFor = (n) => writeAnsible(work, hosts, n, files, ini)
      }

      const { inventory: maxInventory } = await writeTargets(work, hosts, maxN)
      say('start-up figures')
      const startup = await measureStartup(helpers.loadProbe, maxInventory, maxN)
      // Unmeasured warm-up, so the first measured repetition does not pay for a cold page cache.
      await measure(process.execPath, [helpers.floor, join(work, `floor-${maxN}.json`), files.identityFile, files.knownHosts], { timeoutMs: 120_000 })
      await runHavn('check', maxInventory, maxN, files)

      const sizes: SizeResult[] = []
      // Ansible only where it finishes in minutes; above MAX_ANSIBLE_HOSTS the row says n/a.
      for (const n of SIZES) sizes.push(await measureSize(bed, hosts, n, work, helpers.floor, files, n <= MAX_ANSIBLE_HOSTS ? await setupFor?.(n) : undefined))

      say(`tracing one run of each kind at N=${maxN} (not timed)`)
      // A tracing fault must not cost the timed figures above.
      const traces = await traceAll(bed, hosts, maxN, work, helpers.floor, files).catch((e: unknown) => {
        say(`tracing failed: ${e instanceof Error ? e.message : String(e)}`)
        return [] as Breakdown[]
      })

      const result: BenchResult = {
        date: date(),
        machine: machine(loadBefore),
        reps: REPS,
        ansibleReps: ANSIBLE_REPS,
        ansible: ansible ?? 'ansible not installed',
        sizes,
        startup,
      }
      raw.sizes = result
      texts.push({ block: 'results', text: traces.length ? `${render(result)}\n${breakdownTable(traces)}\n` : render(result) })
    }

    if (CASES.has('wan') || CASES.has('500') || CASES.has('copy')) {
      const loadAtStart = loadavg()[0] ?? 0
      const reset = (n: number) => resetHosts(upBed, hosts, n)
      const wan = CASES.has('wan')
        ? await measureWan({ hosts, n: WAN_HOSTS, delayMs: WAN_DELAY_MS, reps: REPS, work, floorJs: helpers.floor, files, reset, say })
        : undefined
      const scale = CASES.has('500') ? await measureScale({ hosts, n: SCALE_HOSTS, reps: REPS, work, floorJs: helpers.floor, files, reset, say }) : undefined
      const copy = CASES.has('copy')
        ? await measureCopy({ hosts, n: COPY_HOSTS, files: COPY_FILES, delayMs: WAN_DELAY_MS, reps: REPS, work, bed: files, reset: (n) => resetHosts(upBed, hosts, n, COPY_DEST), say })
        : undefined
      const result: CasesResult = {
        date: date(),
        machine: `${machine(loadAtStart)}; bed of ${bedSize} hosts up in ${bedUpS.toFixed(1)} s`,
        reps: REPS,
        ...(wan ? { wan } : {}),
        ...(scale ? { scale } : {}),
        ...(copy ? { copy } : {}),
      }
      raw.cases = result
      texts.push({ block: 'results:wan-scale', text: renderCases(result) })
    }

    const text = texts.map((t) => t.text).join('\n')
    process.stdout.write(text)
    const rawFile = join(tmpdir(), 'havn-bench-last.json')
    await writeFile(rawFile, JSON.stringify(raw, (k, v: unknown) => (k === 'stdout' || k === 'stderr' ? undefined : v), 1))
    say(`raw figures: ${rawFile}`)
    if (WRITE_MD) {
      for (const t of texts) await updateMarkdown(t.block, t.text)
      say('BENCHMARKS.md updated')
    }
  } finally {
    process.off('SIGINT', onSigint)
    await teardown()
  }
}

await main()
