import { describe, expect, it } from 'vitest'
import { validateSchema } from '../../src/schema/validate.ts'
import {
  parseSftpRepository,
  renderBackupScript,
  renderCron,
  renderEnv,
  renderExcludes,
  renderKnownHosts,
  renderTimerUnit,
  renderWrapper,
  retentionArgs,
  sftpCommand,
} from '../../roles/restic-backup/render.ts'
import { defaults, schema } from '../../roles/restic-backup/schema.ts'

const retention = { keepDaily: 7, keepWeekly: 4, keepMonthly: 6, keepYearly: 0 }

describe('restic-backup: sftp repositories', () => {
  it('reads restic’s short and URL forms', () => {
    expect(parseSftpRepository('sftp:backup@10.0.0.5:/srv/restic')).toEqual({ user: 'backup', host: '10.0.0.5' })
    expect(parseSftpRepository('sftp:vault:repo')).toEqual({ host: 'vault' })
    expect(parseSftpRepository('sftp://backup@[2001:db8::1]:2222//srv/restic')).toEqual({ user: 'backup', host: '2001:db8::1', port: 2222 })
    expect(parseSftpRepository('s3:https://s3.example.test/bucket')).toBeUndefined()
    expect(parseSftpRepository('/var/backups/restic')).toBeUndefined()
  })

  it('refuses what it cannot read, and hosts that ssh would take as an option', () => {
    expect(() => parseSftpRepository('sftp:nohostpath')).toThrow(/cannot read sftp repository/)
    expect(() => parseSftpRepository('sftp:-oProxyCommand=x:/r')).toThrow(/must not start with '-'/)
  })

  it('pins the key and known_hosts in the ssh command, and leaves restic’s own ssh alone without them', () => {
    const base = { repository: 'sftp://backup@vault:2222//srv/r', knownHosts: [] as string[] }
    expect(sftpCommand(base)).toBeUndefined()
    expect(sftpCommand({ ...base, sftpIdentityFile: '/root/.ssh/id_backup', knownHosts: ['vault ssh-ed25519 AAAA'] })).toBe(
      'ssh -i /root/.ssh/id_backup -o IdentitiesOnly=yes -o UserKnownHostsFile=/etc/havn-restic/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes -o ServerAliveInterval=60 -p 2222 backup@vault -s sftp',
    )
    expect(sftpCommand({ repository: '/srv/r', knownHosts: ['x ssh-ed25519 A'], sftpIdentityFile: '/k' })).toBeUndefined()
  })

  it('passes the ssh command to restic as one quoted word', () => {
    expect(renderWrapper('ssh -i /k host -s sftp')).toContain(`exec restic -o 'sftp.command=ssh -i /k host -s sftp' "$@"\n`)
    expect(renderWrapper(undefined)).toContain('exec restic "$@"\n')
    expect(renderWrapper(undefined)).toContain('set -a\n. /etc/havn-restic/env\nset +a\n')
  })
})

describe('restic-backup: rendered files', () => {
  it('env file: repository quoted for sh, password by file, s3 keys only when given', () => {
    expect(renderEnv({ repository: "/srv/it's here" })).toBe(
      "# Managed by havn (role restic-backup); local edits are overwritten.\nRESTIC_REPOSITORY='/srv/it'\\''s here'\nRESTIC_PASSWORD_FILE=/etc/havn-restic/password\n",
    )
    const s3 = renderEnv({ repository: 's3:https://s3.example.test/bucket', s3AccessKeyId: 'AKIDEXAMPLE' }, 'se$cret')
    expect(s3).toContain("AWS_ACCESS_KEY_ID='AKIDEXAMPLE'\nAWS_SECRET_ACCESS_KEY='se$cret'\n")
  })

  it('backup script: sorted unique paths, excludes file, retention, exit 3 still prunes', () => {
    const a = renderBackupScript({ paths: ['/srv', '/etc', "/o'dd", '/srv'], ...retention })
    const b = renderBackupScript({ paths: ["/o'dd", '/etc', '/srv'], ...retention })
    expect(a).toBe(b)
    expect(a).toContain("/usr/local/sbin/havn-restic backup --exclude-caches --exclude-file /etc/havn-restic/excludes '/etc' '/o'\\''dd' '/srv' || rc=$?\n")
    expect(a).toContain('if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then exit "$rc"; fi\n')
    expect(a).toContain('/usr/local/sbin/havn-restic forget --prune --keep-daily 7 --keep-weekly 4 --keep-monthly 6 || exit $?\n')
    expect(renderBackupScript({ paths: ['/etc'], keepDaily: 0, keepWeekly: 0, keepMonthly: 0, keepYearly: 0 })).not.toContain('forget')
  })

  it('retention flags skip rules set to 0', () => {
    expect(retentionArgs({ keepDaily: 0, keepWeekly: 2, keepMonthly: 0, keepYearly: 3 })).toEqual(['--keep-weekly', '2', '--keep-yearly', '3'])
  })

  it('excludes and known_hosts are sorted and de-duplicated', () => {
    expect(renderExcludes({ excludes: ['*.tmp', '/var/cache', '*.tmp'] }).split('\n').slice(1)).toEqual(['*.tmp', '/var/cache', ''])
    expect(renderKnownHosts({ knownHosts: ['b ssh-ed25519 B ', 'a ssh-ed25519 A', 'b ssh-ed25519 B'] })).toBe('a ssh-ed25519 A\nb ssh-ed25519 B\n')
  })

  it('schedule: one cron line for root, and a persistent timer', () => {
    expect(renderCron({ cronSchedule: '30 2 * * *' }).split('\n').at(-2)).toBe('30 2 * * * root /usr/local/sbin/havn-restic-backup >>/var/log/havn-restic-backup.log 2>&1')
    const timer = renderTimerUnit({ onCalendar: '*-*-* 02:30:00' })
    expect(timer).toContain('[Timer]\nOnCalendar=*-*-* 02:30:00\nPersistent=true\n')
    expect(timer).toContain('[Install]\nWantedBy=timers.target\n')
  })
})

describe('restic-backup: schema', () => {
  const valid = { ...defaults, repository: 'sftp:u@h:/r', password: 'long enough' }
  it('accepts the defaults with a repository and password', () => {
    expect(validateSchema(schema, valid)).toEqual([])
  })

  it('requires s3 keys for an s3 repository, and rejects two sftp identities', () => {
    expect(validateSchema(schema, { ...valid, repository: 's3:https://s3.example.test/b' }).map((p) => p.pointer)).toEqual(
      expect.arrayContaining(['/s3AccessKeyId', '/s3SecretAccessKey']),
    )
    expect(validateSchema(schema, { ...valid, sftpIdentity: `-----BEGIN ${'OPENSSH'} PRIVATE KEY-----\n`, sftpIdentityFile: '/k' })).not.toEqual([])
  })

  it('rejects relative paths, unknown repositories, bad cron fields and unknown vars', () => {
    expect(validateSchema(schema, { ...valid, paths: ['etc'] })).not.toEqual([])
    expect(validateSchema(schema, { ...valid, repository: 'backup-host:/r' })).not.toEqual([])
    expect(validateSchema(schema, { ...valid, cronSchedule: '30 2 * *' })).not.toEqual([])
    expect(validateSchema(schema, { ...valid, keepHourly: 3 })).toEqual([{ pointer: '/keepHourly', message: "unknown var 'keepHourly'" }])
  })
})
