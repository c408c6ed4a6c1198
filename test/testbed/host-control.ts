import { spawn } from 'node:child_process'
import { stat } from 'node:fs/promises'
import { enterHostArgs, killRecorded, startHost } from './host-process.ts'
import { hostStartOf } from './host-start.ts'
import { statePaths } from './layout.ts'
import { readState, updateState, type HostRecord } from './state.ts'
import type { Testbed } from './types.ts'

async function loadBed(bed: Testbed, host: string): Promise<HostRecord> {
  const state = await readState(statePaths(bed.stateDir).state)
  if (!state) throw new Error(`testbed: no bed is up in ${bed.stateDir}`)
  const record = state.hosts.find((h) => h.name === host)
  if (!record) throw new Error(`testbed: no host '${host}' in ${bed.stateDir} (have: ${state.hosts.map((h) => h.name).join(', ')})`)
  return record
}

/**
 * Runs `script` with /bin/sh as root inside `host` (all its namespaces and its root, entered via
 * nsenter on its PID 1), with a clean environment. Never throws for a non-zero exit; throws if the
 * host is not running or the script outlives `timeoutMs` (default 300 s).
 */
export async function hostExec(bed: Testbed, host: string, script: string, timeoutMs = 300_000): Promise<{ code: number; stdout: string; stderr: string }> {
  const record = await loadBed(bed, host)
  if (record.pid === undefined || !(await stat(`/proc/${record.pid}`).then(() => true, () => false))) {
    throw new Error(`testbed: host ${host} is not running`)
  }
  const args = enterHostArgs(record.pid, ['HOME=/root', '/bin/sh', '-c', script])
  return new Promise((resolvePromise, reject) => {
    const child = spawn('nsenter', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      if (signal === 'SIGKILL' && code === null) reject(new Error(`testbed: script on ${host} timed out after ${timeoutMs / 1000} s; stderr: ${stderr.slice(-500)}`))
      else resolvePromise({ code: code ?? 128, stdout, stderr })
    })
  })
}

/**
 * Makes `host` unreachable by killing its PID 1 (sshd) by PID, which ends every process in it.
 * Its namespace and address stay, so a TCP connect is answered at once with RST: connection
 * refused, not a timeout. Idempotent.
 */
export async function stopHost(bed: Testbed, host: string): Promise<void> {
  const record = await loadBed(bed, host)
  await killRecorded(record.pid, record.startTime)
  await killRecorded(record.parentPid, record.parentStartTime)
  await updateState(statePaths(bed.stateDir).state, (state) => {
    const stored = state.hosts.find((h) => h.name === host)
    if (!stored) return
    delete stored.pid
    delete stored.startTime
    delete stored.parentPid
    delete stored.parentStartTime
  })
}

/**
 * Power-cycles `host` as a crash and reboot would: every process of it is killed at once (nothing
 * gets to clean up), then it boots again from the same disk (its overlay upper layer); what lived
 * in its tmpfs mounts (/tmp, /run) is gone. Resolves once its sshd listens again.
 */
export async function restartHost(bed: Testbed, host: string): Promise<void> {
  await stopHost(bed, host)
  const path = statePaths(bed.stateDir).state
  const state = await readState(path)
  const record = state?.hosts.find((h) => h.name === host)
  if (!state || !record) throw new Error(`testbed: no host '${host}' in ${bed.stateDir}`)
  const pids = await startHost(hostStartOf(state, record))
  await updateState(path, (s) => {
    const stored = s.hosts.find((h) => h.name === host)
    if (stored) Object.assign(stored, pids)
  })
}

const FREEZER = '/sys/fs/cgroup/freezer'

/** The freezer cgroup a frozen host's processes are moved into (named for the bed and the host). */
function freezerPath(bed: Testbed, host: string): string {
  return `${FREEZER}/havn-freeze-${Buffer.from(bed.stateDir).toString('hex').slice(-16)}-${host}`
}

/**
 * Stops every process of `host` at once through the freezer cgroup (v1), as a hung VM looks from
 * outside: its TCP stack still answers, nothing above it does. Undo with thawHost.
 */
export async function freezeHost(bed: Testbed, host: string): Promise<void> {
  const record = await loadBed(bed, host)
  if (record.pid === undefined) throw new Error(`testbed: host ${host} is not running`)
  const { readdir, readlink, mkdir, writeFile } = await import('node:fs/promises')
  const ns = await readlink(`/proc/${record.pid}/ns/pid`)
  const members: string[] = []
  for (const pid of (await readdir('/proc')).filter((p) => /^[0-9]+$/.test(p))) {
    if ((await readlink(`/proc/${pid}/ns/pid`).catch(() => '')) === ns) members.push(pid)
  }
  const path = freezerPath(bed, host)
  await mkdir(path, { recursive: true })
  for (const pid of members) await writeFile(`${path}/cgroup.procs`, pid).catch(() => undefined)
  await writeFile(`${path}/freezer.state`, 'FROZEN')
}

/** Lets a frozen host run again and removes its freezer cgroup. */
export async function thawHost(bed: Testbed, host: string): Promise<void> {
  const { readFile, rmdir, writeFile } = await import('node:fs/promises')
  const path = freezerPath(bed, host)
  await writeFile(`${path}/freezer.state`, 'THAWED')
  for (const pid of (await readFile(`${path}/cgroup.procs`, 'utf8')).split('\n').filter(Boolean)) {
    await writeFile(`${FREEZER}/cgroup.procs`, pid).catch(() => undefined)
  }
  await rmdir(path)
}
