import { readFile, writeFile } from 'node:fs/promises'
import { log } from './log.ts'

const INOTIFY_INSTANCES = '/proc/sys/fs/inotify/max_user_instances'

/**
 * inotify instances a systemd host may hold: about 7 when idle (systemd, journald, dbus, logind),
 * with room for the services the tests install.
 */
const PER_SYSTEMD_HOST = 16

/**
 * Raises the controller's per-user inotify instance limit so `systemdHosts` hosts can boot: every
 * host's processes run as the controller's root, and Debian's default of 128 is spent by about 18
 * systemd hosts, after which systemd exits during start without a word. Never lowers the limit.
 */
export async function ensureInotifyInstances(systemdHosts: number): Promise<void> {
  const current = Number((await readFile(INOTIFY_INSTANCES, 'utf8')).trim())
  const need = 128 + PER_SYSTEMD_HOST * systemdHosts
  if (current >= need) return
  await writeFile(INOTIFY_INSTANCES, `${need}\n`)
  log(`raised fs.inotify.max_user_instances from ${current} to ${need} for ${systemdHosts} systemd host(s)`)
}
