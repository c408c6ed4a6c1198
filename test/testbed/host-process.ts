import { execFile, spawn } from 'node:child_process'
import { appendFile, open, readFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { REPO_MOUNT } from './base-recipe.ts'
import { PREFIX_LENGTH } from './layout.ts'
import type { InitKind } from './kinds.ts'
import type { HostRecord } from './state.ts'

/** Environment every process inside a host starts from; nothing of the controller's leaks in. */
export const HOST_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LANG=C.UTF-8']

/**
 * Runs in the host's fresh mount/UTS/IPC/PID namespaces (already inside its netns): assembles the
 * overlay root with /proc, /sys, a minimal /dev, /run and the read-only repository, configures the
 * network, pivots into the root and execs PID 1: sshd, or systemd (which starts ssh.service).
 */
function initScript(init: InitKind): string {
  // systemd wants a cgroup hierarchy of its own: the host's folder of the name=systemd hierarchy,
  // which the cgroup namespace shows as its root.
  const cgroups = init === 'systemd'
    ? `mount -t tmpfs -o mode=0755,nosuid,nodev,noexec,size=1m tmpfs "$M/sys/fs/cgroup"
mkdir "$M/sys/fs/cgroup/systemd"
mount -t cgroup -o none,name=systemd,nosuid,nodev,noexec cgroup "$M/sys/fs/cgroup/systemd"
`
    : ''
  const exec = init === 'systemd'
    ? `exec /usr/bin/env -i ${HOST_ENV.join(' ')} container=havn-testbed /lib/systemd/systemd ${SYSTEMD_ARGS.join(' ')}`
    : `exec /usr/bin/env -i ${HOST_ENV.join(' ')} /usr/sbin/sshd -D -e`
  return `set -eu
M="$MERGED"
mount -t overlay overlay -o "lowerdir=$LAYER:$LOWER,upperdir=$UPPER,workdir=$WORK" "$M"
mount -t proc -o nosuid,nodev,noexec proc "$M/proc"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$M/sys"
${cgroups}mount -t tmpfs -o mode=0755,size=4m,nosuid tmpfs "$M/dev"
mknod -m 666 "$M/dev/null" c 1 3; mknod -m 666 "$M/dev/zero" c 1 5; mknod -m 666 "$M/dev/full" c 1 7
mknod -m 666 "$M/dev/random" c 1 8; mknod -m 666 "$M/dev/urandom" c 1 9; mknod -m 666 "$M/dev/tty" c 5 0
mkdir -m 0755 "$M/dev/pts" "$M/dev/net"; mkdir -m 1777 "$M/dev/shm"
mknod -m 666 "$M/dev/net/tun" c 10 200
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5,nosuid,noexec devpts "$M/dev/pts"
ln -s pts/ptmx "$M/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$M/dev/shm"
ln -s /proc/self/fd "$M/dev/fd"; ln -s /proc/self/fd/0 "$M/dev/stdin"
ln -s /proc/self/fd/1 "$M/dev/stdout"; ln -s /proc/self/fd/2 "$M/dev/stderr"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$M/run"
mkdir -m 0755 "$M/run/sshd"; mkdir -m 1777 "$M/run/lock"
# /tmp is a tmpfs, as on current Debian: scratch files never reach the host's overlay upper layer.
mount -t tmpfs -o mode=1777,nosuid,nodev,size=512m tmpfs "$M/tmp"
mount --bind "$REPO" "$M${REPO_MOUNT}"
mount -o remount,bind,ro "$M${REPO_MOUNT}"
hostname "$NAME"
ip link set lo up
# replace, not add: a restarted host finds its network namespace as it left it.
ip addr replace "$ADDR/${PREFIX_LENGTH}" dev eth0
ip link set eth0 up
ip route replace default via "$GW"
if [ -n "$ADDR2" ]; then ip addr replace "$ADDR2/${PREFIX_LENGTH}" dev eth1; ip link set eth1 up; fi
cd "$M"
# pivot_root . . stacks the old root on the new one; the lazy unmount then drops it entirely.
pivot_root . .
umount -l .
cd /
${exec}
`
}

/**
 * Kernel command line words systemd reads from its own argv in a container. systemd 256 and later
 * refuse the legacy (v1) cgroup hierarchy unless forced; the hosts' hierarchy is v1 `name=systemd`.
 */
const SYSTEMD_ARGS = ['systemd.unified_cgroup_hierarchy=0', 'SYSTEMD_CGROUP_ENABLE_LEGACY_FORCE=1']

/** Root of the controller's `name=systemd` cgroup hierarchy, where systemd hosts get their folders. */
export const SYSTEMD_CGROUP_ROOT = '/sys/fs/cgroup/systemd'

/** Paths and addresses one host's init needs. */
export interface HostStart {
  record: HostRecord
  /** Lower layers below the bed-wide one, highest first (`:`-joined for overlayfs). */
  lower: string
  init: InitKind
  layer: string
  repo: string
  gateway: string
  /** Address of host 1's second interface (eth1) on the hidden subnet, if any. */
  secondAddress?: string
}

/** Reads a process's start time (field 22 of /proc/PID/stat); undefined if it is gone. */
export async function processStartTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    // comm (field 2) may hold spaces or parentheses; fields after the last ')' are fixed.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

async function childOf(pid: number): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '')
  const first = Number.parseInt(text.trim().split(' ')[0] ?? '', 10)
  return Number.isInteger(first) ? first : undefined
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Starts a host detached from this process (it outlives `up`) and waits until its sshd listens.
 * Returns the root-namespace PIDs of PID 1 and of the `unshare` parent. Throws with the tail of the
 * host's console.log when it dies or is not listening within `timeoutMs`.
 */
export async function startHost(start: HostStart, timeoutMs = 60_000): Promise<Pick<HostRecord, 'pid' | 'startTime' | 'parentPid' | 'parentStartTime'>> {
  const { record } = start
  const consolePath = join(record.dir, 'console.log')
  const consoleFile = await open(consolePath, 'a')
  // A restarted host appends to the log of its earlier boots; only this boot's lines count.
  const bootOffset = (await consoleFile.stat()).size
  const env = {
    PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
    MERGED: join(record.dir, 'merged'),
    UPPER: join(record.dir, 'upper'),
    WORK: join(record.dir, 'work'),
    LAYER: start.layer,
    LOWER: start.lower,
    REPO: start.repo,
    NAME: record.name,
    ADDR: record.address,
    ADDR2: start.secondAddress ?? '',
    GW: start.gateway,
  }
  const enter = ['ip', 'netns', 'exec', record.netns, 'unshare', '--mount', '--uts', '--ipc', '--pid', '--fork', '--propagation', 'private']
  // A systemd host joins its cgroup folder before anything of it runs, then gets a cgroup namespace rooted there.
  const argv = start.init === 'systemd'
    ? ['/bin/sh', '-ec', 'echo $$ > "$CG/cgroup.procs"; exec "$@"', 'enter', ...enter, '--cgroup', '/bin/sh', '-c', initScript('systemd')]
    : [...enter, '/bin/sh', '-c', initScript('sysv')]
  const child = spawn(argv[0] as string, argv.slice(1), {
    detached: true,
    stdio: ['ignore', consoleFile.fd, consoleFile.fd],
    env: { ...env, CG: record.cgroup ?? '' },
  })
  await consoleFile.close()
  const parentPid = child.pid
  child.unref()
  if (parentPid === undefined) throw new Error(`testbed: could not spawn host ${record.name}`)

  const failure = async (why: string) => {
    const tail = (await readFile(consolePath, 'utf8').catch(() => '')).trim().split('\n').slice(-10).join('\n')
    return new Error(`testbed: host ${record.name} (${record.address}) ${why}; ${consolePath}:\n${tail}`)
  }
  const deadline = Date.now() + timeoutMs
  let pid: number | undefined
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw await failure(`exited during start (${child.exitCode ?? child.signalCode})`)
    pid ??= await childOf(parentPid)
    const ready = start.init === 'systemd'
      ? pid !== undefined && (await systemdReady(pid, record.address, consolePath))
      : pid !== undefined && (await readFile(consolePath)).subarray(bootOffset).toString('utf8').includes('Server listening on')
    if (pid !== undefined && ready) {
      const [startTime, parentStartTime] = await Promise.all([processStartTime(pid), processStartTime(parentPid)])
      if (startTime === undefined) break
      return { pid, startTime, parentPid, ...(parentStartTime === undefined ? {} : { parentStartTime }) }
    }
    // A systemd probe starts processes; sshd's log line is a cheap read.
    await sleep(start.init === 'systemd' ? 200 : 25)
  }
  throw await failure(start.init === 'systemd' ? `systemd did not finish booting with sshd listening within ${timeoutMs / 1000} s` : `sshd not listening within ${timeoutMs / 1000} s`)
}

/** nsenter arguments that run `argv` as root inside the host whose PID 1 is `pid`, in all its namespaces and its root, with a clean environment. */
export function enterHostArgs(pid: number, argv: readonly string[]): string[] {
  return ['--target', String(pid), '--mount', '--uts', '--ipc', '--net', '--pid', '--root', '--wd', '--', '/usr/bin/env', '-i', ...HOST_ENV, ...argv]
}

/** Runs a command inside the host whose PID 1 is `pid`; resolves with its exit code and stdout (bounded: 10 s). */
function inHost(pid: number, argv: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolvePromise) => {
    execFile('nsenter', enterHostArgs(pid, argv), { timeout: 10_000 }, (error, stdout) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
      resolvePromise({ code, stdout })
    })
  })
}

/** Whether `address:22` answers with an SSH banner (one bounded attempt). */
function sshAnswers(address: string): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = connect({ host: address, port: 22, timeout: 1000 })
    const done = (ok: boolean) => {
      socket.destroy()
      resolvePromise(ok)
    }
    socket.once('data', (d: Buffer) => done(d.toString('latin1').startsWith('SSH-')))
    socket.once('timeout', () => done(false))
    socket.once('error', () => done(false))
  })
}

/**
 * A systemd host is ready once boot has finished (`running`, or `degraded` with failed units) and
 * sshd, started by ssh.service, answers. The failed units are appended to the host's console.log.
 */
async function systemdReady(pid: number, address: string, consolePath: string): Promise<boolean> {
  const state = (await inHost(pid, ['systemctl', 'is-system-running'])).stdout.trim()
  if (state !== 'running' && state !== 'degraded') return false
  if (!(await sshAnswers(address))) return false
  const failed = (await inHost(pid, ['systemctl', '--failed', '--no-legend', '--plain'])).stdout.trim()
  await appendFile(consolePath, `testbed: systemd is ${state}${failed ? `; failed units:\n${failed}` : ''}\n`)
  return true
}

/**
 * Sends SIGKILL to `pid` only if it is still the process that started at `startTime` (PIDs get
 * recycled), then waits up to 10 s for it to vanish. Returns whether a kill was sent.
 */
export async function killRecorded(pid: number | undefined, startTime: string | undefined): Promise<boolean> {
  if (pid === undefined || startTime === undefined) return false
  if ((await processStartTime(pid)) !== startTime) return false
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    return false
  }
  for (let i = 0; i < 400 && (await processStartTime(pid)) === startTime; i++) await sleep(25)
  return true
}
