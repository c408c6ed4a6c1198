import { shQuote } from 'havn'
import type { ResticBackupVars } from './schema.ts'

/** Where the role keeps its root-only settings. */
export const CONF_DIR = '/etc/havn-restic'
/** Shell-syntax env file: repository, password file, s3 keys. */
export const ENV_PATH = `${CONF_DIR}/env`
/** The repository password, alone, without a newline. */
export const PASSWORD_PATH = `${CONF_DIR}/password`
/** restic `--exclude-file`, one pattern a line. */
export const EXCLUDES_PATH = `${CONF_DIR}/excludes`
/** Private key written from `sftpIdentity`. */
export const IDENTITY_PATH = `${CONF_DIR}/id_sftp`
/** known_hosts written from `knownHosts`. */
export const KNOWN_HOSTS_PATH = `${CONF_DIR}/known_hosts`
/** restic with this host's settings loaded: `havn-restic snapshots`. */
export const WRAPPER_PATH = '/usr/local/sbin/havn-restic'
/** The scheduled job: backup, then forget --prune. */
export const BACKUP_PATH = '/usr/local/sbin/havn-restic-backup'
/** Where the cron job appends its output. */
export const LOG_PATH = '/var/log/havn-restic-backup.log'
/** Schedule on hosts without systemd. */
export const CRON_PATH = '/etc/cron.d/havn-restic'
/** systemd unit names of the scheduled job (`.service` and `.timer`, in /etc/systemd/system). */
export const UNIT = 'havn-restic-backup'

const HEADER = '# Managed by havn (role restic-backup); local edits are overwritten.'

/** Where an sftp repository lives, as restic reads `sftp:[user@]host:path` and `sftp://[user@]host[:port]/path`. */
export interface SftpTarget {
  readonly user?: string
  readonly host: string
  readonly port?: number
}

/** Parses an sftp repository; undefined for other backends. Throws on an sftp URL it cannot read. */
export function parseSftpRepository(repository: string): SftpTarget | undefined {
  if (!repository.startsWith('sftp:')) return undefined
  const url = /^sftp:\/\/(?:([^@/]+)@)?(\[[0-9A-Fa-f:.]+\]|[^:/[\]]+)(?::(\d+))?\/.*$/.exec(repository)
  const short = url ? undefined : /^sftp:(?:([^@/]+)@)?(\[[0-9A-Fa-f:.]+\]|[^:/[\]]+):.+$/.exec(repository)
  const m = url ?? short
  if (!m?.[2]) throw new Error(`cannot read sftp repository '${repository}': write sftp:user@host:/path or sftp://user@host:port//path`)
  const host = m[2].replace(/^\[(.*)\]$/, '$1')
  const user = m[1]
  if (host.startsWith('-') || user?.startsWith('-')) throw new Error(`sftp repository '${repository}': user and host must not start with '-'`)
  const port = url?.[3] === undefined ? undefined : Number(url[3])
  return { ...(user !== undefined ? { user } : {}), host, ...(port !== undefined ? { port } : {}) }
}

/**
 * The ssh command restic runs for an sftp repository (`-o sftp.command=`), pinned to the role's
 * key and known_hosts; undefined when neither is configured, so restic's own `ssh` call is kept.
 */
export function sftpCommand(v: Pick<ResticBackupVars, 'repository' | 'sftpIdentity' | 'sftpIdentityFile' | 'knownHosts'>): string | undefined {
  const target = parseSftpRepository(v.repository)
  if (!target) return undefined
  const identity = v.sftpIdentity !== undefined ? IDENTITY_PATH : v.sftpIdentityFile
  if (identity === undefined && v.knownHosts.length === 0) return undefined
  const words = ['ssh']
  if (identity !== undefined) words.push('-i', identity, '-o', 'IdentitiesOnly=yes')
  if (v.knownHosts.length > 0) words.push('-o', `UserKnownHostsFile=${KNOWN_HOSTS_PATH}`)
  words.push('-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'ServerAliveInterval=60')
  if (target.port !== undefined) words.push('-p', String(target.port))
  words.push(target.user !== undefined ? `${target.user}@${target.host}` : target.host, '-s', 'sftp')
  return words.join(' ')
}

/** The env file (sh syntax, sourced with `set -a`); `s3Secret` is the revealed secret access key. */
export function renderEnv(v: Pick<ResticBackupVars, 'repository' | 's3AccessKeyId'>, s3Secret?: string): string {
  const lines = [HEADER, `RESTIC_REPOSITORY=${shQuote(v.repository)}`, `RESTIC_PASSWORD_FILE=${PASSWORD_PATH}`]
  if (v.s3AccessKeyId !== undefined) lines.push(`AWS_ACCESS_KEY_ID=${shQuote(v.s3AccessKeyId)}`)
  if (s3Secret !== undefined) lines.push(`AWS_SECRET_ACCESS_KEY=${shQuote(s3Secret)}`)
  return `${lines.join('\n')}\n`
}

/** Sorted, de-duplicated lines: order carries no meaning, so reruns render byte-identical files. */
function sortedUnique(items: readonly string[]): string[] {
  return [...new Set(items)].sort()
}

/** The `--exclude-file` content. */
export function renderExcludes(v: Pick<ResticBackupVars, 'excludes'>): string {
  return [HEADER, ...sortedUnique(v.excludes)].join('\n') + '\n'
}

/** known_hosts for the sftp repository host. */
export function renderKnownHosts(v: Pick<ResticBackupVars, 'knownHosts'>): string {
  return sortedUnique(v.knownHosts.map((l) => l.trim())).join('\n') + '\n'
}

/** `restic` with the env file loaded and, for sftp, the pinned ssh command. */
export function renderWrapper(sftp: string | undefined): string {
  const exec = sftp === undefined ? 'exec restic "$@"' : `exec restic -o ${shQuote(`sftp.command=${sftp}`)} "$@"`
  return `#!/bin/sh
${HEADER}
# restic with this host's repository settings: havn-restic snapshots, havn-restic restore latest --target DIR
set -a
. ${ENV_PATH}
set +a
${exec}
`
}

/** The `forget` policy flags, in restic's order. */
export function retentionArgs(v: Pick<ResticBackupVars, 'keepDaily' | 'keepWeekly' | 'keepMonthly' | 'keepYearly'>): string[] {
  const out: string[] = []
  const add = (flag: string, n: number): void => {
    if (n > 0) out.push(flag, String(n))
  }
  add('--keep-daily', v.keepDaily)
  add('--keep-weekly', v.keepWeekly)
  add('--keep-monthly', v.keepMonthly)
  add('--keep-yearly', v.keepYearly)
  return out
}

/**
 * The scheduled job. restic exits 3 when some source files could not be read but a snapshot was
 * still made: retention still runs then, and the job reports 3 at the end.
 */
export function renderBackupScript(v: Pick<ResticBackupVars, 'paths' | 'keepDaily' | 'keepWeekly' | 'keepMonthly' | 'keepYearly'>): string {
  const paths = sortedUnique(v.paths).map(shQuote).join(' ')
  const keep = retentionArgs(v)
  const forget = keep.length > 0 ? `${WRAPPER_PATH} forget --prune ${keep.join(' ')} || exit $?` : '# no retention rule set: nothing is forgotten'
  return `#!/bin/sh
${HEADER}
# Back up, then apply the retention policy. Settings: ${CONF_DIR}/.
rc=0
${WRAPPER_PATH} backup --exclude-caches --exclude-file ${EXCLUDES_PATH} ${paths} || rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then exit "$rc"; fi
${forget}
exit "$rc"
`
}

/** The cron.d file for hosts without systemd. */
export function renderCron(v: Pick<ResticBackupVars, 'cronSchedule'>): string {
  return `${HEADER}
SHELL=/bin/sh
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
${v.cronSchedule.trim()} root ${BACKUP_PATH} >>${LOG_PATH} 2>&1
`
}

/** The oneshot service the timer starts. */
export function renderServiceUnit(): string {
  return `${HEADER}
[Unit]
Description=restic backup (havn)
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart=${BACKUP_PATH}
Nice=10
IOSchedulingClass=idle
`
}

/** The timer; `Persistent` catches up on a run missed while the host was off. */
export function renderTimerUnit(v: Pick<ResticBackupVars, 'onCalendar'>): string {
  return `${HEADER}
[Unit]
Description=restic backup schedule (havn)

[Timer]
OnCalendar=${v.onCalendar.trim()}
Persistent=true

[Install]
WantedBy=timers.target
`
}
