import { readdir, rmdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { SYSTEMD_CGROUP_ROOT } from './host-process.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Throws unless the controller offers the cgroup v1 `name=systemd` hierarchy that systemd hosts
 * are booted in (mounted at /sys/fs/cgroup/systemd on hybrid-cgroup machines such as this one).
 */
export async function requireSystemdCgroups(): Promise<void> {
  if (await stat(join(SYSTEMD_CGROUP_ROOT, 'cgroup.procs')).then(() => true, () => false)) return
  throw new Error(
    `testbed: systemd hosts need the cgroup v1 'name=systemd' hierarchy at ${SYSTEMD_CGROUP_ROOT}; mount it with ` +
      `'mkdir -p ${SYSTEMD_CGROUP_ROOT} && mount -t cgroup -o none,name=systemd cgroup ${SYSTEMD_CGROUP_ROOT}', or use sysv kinds`,
  )
}

async function subfolders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
  return entries.filter((e) => e.isDirectory()).map((e) => join(dir, e.name))
}

async function removeTree(dir: string): Promise<void> {
  for (const child of await subfolders(dir)) await removeTree(child)
  await rmdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error
  })
}

/**
 * Removes a host's cgroup folder and every folder its systemd made under it, deepest first. The
 * kernel frees a cgroup only once its last process is reaped, so a busy folder is retried for up
 * to 10 s. Idempotent; refuses any path outside the bed's own folders.
 */
export async function removeCgroup(path: string): Promise<void> {
  if (!path.startsWith(`${SYSTEMD_CGROUP_ROOT}/havn-`)) throw new Error(`testbed: refusing to remove cgroup ${path}: not a test bed host's`)
  for (let attempt = 0; ; attempt++) {
    try {
      await removeTree(path)
      return
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT') return
      if (code !== 'EBUSY' || attempt >= 100) throw new Error(`testbed: cannot remove cgroup ${path}: ${String(error)}`)
      await sleep(100)
    }
  }
}
