import type { JsonSchema, Secret } from 'havn'

/** Vars of the `restic-backup` role. */
export interface ResticBackupVars {
  /** restic repository: `sftp:user@host:/path`, `sftp://user@host:port//path`, an absolute local path, or `s3:https://…`. */
  repository: string
  /** Repository password; written to a root-only file and never shown. A plain inventory string is treated as secret too. */
  password: Secret
  /** What to back up (absolute paths). */
  paths: readonly string[]
  /** restic `--exclude` patterns. */
  excludes: readonly string[]
  /** Retention: daily, weekly, monthly, yearly snapshots kept by `forget --prune` (0 = that rule is not used). */
  keepDaily: number
  keepWeekly: number
  keepMonthly: number
  keepYearly: number
  /** When the backup runs on systemd hosts (a timer's `OnCalendar=`). */
  onCalendar: string
  /** When the backup runs on hosts without systemd (the five fields of an `/etc/cron.d` line). */
  cronSchedule: string
  /** sftp: private key (OpenSSH format) the client logs in to the repository host with; never shown. */
  sftpIdentity?: Secret
  /** sftp: path of a private key already on the host, instead of `sftpIdentity`. */
  sftpIdentityFile?: string
  /** sftp: known_hosts lines for the repository host; when given, only these keys are trusted. */
  knownHosts: readonly string[]
  /** s3: access key id (`AWS_ACCESS_KEY_ID`). */
  s3AccessKeyId?: string
  /** s3: secret access key (`AWS_SECRET_ACCESS_KEY`); never shown. */
  s3SecretAccessKey?: Secret
}

/** Defaults: the retention and schedule of the seed article (daily at 02:30, 7 daily / 4 weekly / 6 monthly). */
export const defaults: Partial<ResticBackupVars> = {
  paths: ['/etc', '/home', '/root', '/srv'],
  excludes: [],
  keepDaily: 7,
  keepWeekly: 4,
  keepMonthly: 6,
  keepYearly: 0,
  onCalendar: '*-*-* 02:30:00',
  cronSchedule: '30 2 * * *',
  knownHosts: [],
}

const absolutePath = { type: 'string', pattern: '^/[^\\n]*$' }
const keep = (what: string) => ({ type: 'integer', minimum: 0, description: `${what} snapshots kept by forget --prune (0: rule not used)` })

/** JSON Schema of {@link ResticBackupVars}. */
export const schema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['repository', 'password'],
  properties: {
    repository: {
      type: 'string',
      pattern: '^(sftp:|s3:|rest:|b2:|azure:|gs:|swift:|rclone:|/)[^\\n]*$',
      description: 'restic repository: sftp:user@host:/path, an absolute local path, or s3:https://host/bucket',
    },
    password: { type: 'string', minLength: 8, pattern: '^[^\\n]*$', description: 'repository password (secret), one line' },
    paths: { type: 'array', minItems: 1, items: absolutePath, description: 'absolute paths to back up' },
    excludes: { type: 'array', items: { type: 'string', minLength: 1, pattern: '^[^\\n]*$' }, description: 'restic --exclude patterns' },
    keepDaily: keep('daily'),
    keepWeekly: keep('weekly'),
    keepMonthly: keep('monthly'),
    keepYearly: keep('yearly'),
    onCalendar: { type: 'string', minLength: 1, pattern: '^[^\\n]*$', description: 'systemd OnCalendar= of the backup timer' },
    cronSchedule: {
      type: 'string',
      pattern: '^\\s*(@(daily|weekly|monthly|yearly|hourly)|\\S+\\s+\\S+\\s+\\S+\\s+\\S+\\s+\\S+)\\s*$',
      description: 'five cron fields (or @daily …) for hosts without systemd',
    },
    sftpIdentity: { type: 'string', pattern: '-----BEGIN ', description: 'private key for the sftp repository host (secret)' },
    sftpIdentityFile: { type: 'string', pattern: '^/[^\\s\'"\\\\]+$', description: 'path of a private key already on the host' },
    knownHosts: { type: 'array', items: { type: 'string', pattern: '^[^\\n#]+ [^\\n]+$' }, description: 'known_hosts lines of the sftp repository host' },
    s3AccessKeyId: { type: 'string', minLength: 1, pattern: '^[^\\n]*$', description: 'AWS_ACCESS_KEY_ID for an s3: repository' },
    s3SecretAccessKey: { type: 'string', minLength: 1, pattern: '^[^\\n]*$', description: 'AWS_SECRET_ACCESS_KEY for an s3: repository (secret)' },
  },
  allOf: [
    { not: { required: ['sftpIdentity', 'sftpIdentityFile'] } },
    {
      if: { properties: { repository: { pattern: '^s3:' } }, required: ['repository'] },
      then: { required: ['s3AccessKeyId', 's3SecretAccessKey'] },
    },
  ],
}
