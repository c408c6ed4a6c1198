import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { fileState, type FileState } from '../../src/facts/file.ts'
import { groupInfo, parseGroupInfo } from '../../src/facts/group.ts'
import { parseUserInfo, userInfo } from '../../src/facts/user.ts'
import { authorizedKeyStep, editAuthorizedKeys, keyIdentity } from '../../src/modules/authorized-key.ts'
import { cronStep, editCrontab, renderCronFile } from '../../src/modules/cron.ts'
import { parseUserCrontab, userCrontab } from '../../src/facts/cron.ts'
import { groupStep } from '../../src/modules/group.ts'
import { planWith, recorded } from '../support/plan-with.ts'

// getent and id lines as a Debian 12 bed host prints them.
const deploy = parseUserInfo('passwd=deploy:x:1000:1000::/home/deploy:/bin/sh\ngroup=deploy\ngroups=deploy\n')
const ABSENT: FileState = { kind: 'absent', parentIsDirectory: true, creator: { owner: 'root', group: 'root', umask: 0o022 } }
const NO_PARENT: FileState = { kind: 'absent', parentIsDirectory: false, creator: { owner: 'root', group: 'root', umask: 0o022 } }
const KEY_A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0wmN/Cr3JXqmLW7u+g9pTh+wMqVJmBoF0pL4Ytvh8f ops@oslo'
const KEY_B = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBq2zl3rU8bc4o3yH7s8nqQ4b9Gk2q6hRZkq7mJm9vN1 ci@burst'
const regular = (content: string): FileState => ({ kind: 'file', mode: 0o600, owner: 'deploy', group: 'deploy', uid: 1000, gid: 1000, size: Buffer.byteLength(content), sha256: createHash('sha256').update(content).digest('hex'), content })

describe('group (recorded getent output)', () => {
  it('parses getent group lines and absence', () => {
    expect(parseGroupInfo('backup-ops:x:1001:deploy,postgres\n')).toEqual({ name: 'backup-ops', gid: 1001, members: ['deploy', 'postgres'] })
    expect(parseGroupInfo('absent\n')).toBeUndefined()
  })

  it('creates a missing group with groupadd, changes only the gid of an existing one, removes with groupdel', async () => {
    const missing = recorded(groupInfo, ['backup-ops'], undefined)
    const create = await planWith(groupStep({ name: 'backup-ops', gid: 1500, system: true }), missing)
    expect(create.changes).toEqual([
      { resource: 'group:backup-ops', action: 'create', field: 'state', before: '(absent)', after: 'present' },
      { resource: 'group:backup-ops', action: 'create', field: 'gid', before: '(absent)', after: '1500' },
    ])
    expect(create.commands).toEqual([{ script: "groupadd -r -g 1500 -- 'backup-ops'", display: 'groupadd -r -g 1500 backup-ops' }])
    const there = recorded(groupInfo, ['backup-ops'], { name: 'backup-ops', gid: 1001, members: [] })
    expect((await planWith(groupStep({ name: 'backup-ops' }), there)).changes).toEqual([])
    expect((await planWith(groupStep({ name: 'backup-ops', gid: 1001 }), there)).changes).toEqual([])
    const mod = await planWith(groupStep({ name: 'backup-ops', gid: 1600 }), there)
    expect(mod.commands?.[0]?.display).toBe('groupmod -g 1600 backup-ops')
    expect((await planWith(groupStep({ name: 'backup-ops', state: 'absent' }), there)).commands?.[0]?.display).toBe('groupdel backup-ops')
    expect((await planWith(groupStep({ name: 'backup-ops', state: 'absent' }), missing)).changes).toEqual([])
  })

  it('refuses a bad name or gid before reading anything', async () => {
    await expect(planWith(groupStep({ name: 'bad name' }), {})).rejects.toThrow('invalid group name "bad name"')
    await expect(planWith(groupStep({ name: 'ok', gid: -2 }), {})).rejects.toThrow('group ok: gid must be a non-negative integer, got -2')
  })
})

describe('authorizedKey', () => {
  it('identifies keys by type and blob, whatever their options and comment', () => {
    expect(keyIdentity(`from="10.10.0.0/24",no-pty ${KEY_A}`)).toBe(KEY_A.split(' ').slice(0, 2).join(' '))
    expect(keyIdentity(KEY_A.replace('ops@oslo', 'other comment'))).toBe(keyIdentity(KEY_A))
    expect(keyIdentity('# a comment')).toBeUndefined()
  })

  it('adds a missing key, keeps other lines, and is a no-op when the key is there under another comment', () => {
    const text = `# fleet keys\n${KEY_B}\n`
    expect(editAuthorizedKeys(text, [KEY_A], { state: 'present', exclusive: false })).toBe(`${text}${KEY_A}\n`)
    const again = `${KEY_A.replace('ops@oslo', 'renamed')}\n`
    expect(editAuthorizedKeys(again, [KEY_A], { state: 'present', exclusive: false })).toBe(again)
  })

  it('exclusive keeps only the given keys; absent removes them; options rewrite a key without them', () => {
    const text = `# fleet keys\n${KEY_A}\n${KEY_B}\n`
    expect(editAuthorizedKeys(text, [KEY_B], { state: 'present', exclusive: true })).toBe(`${KEY_B}\n`)
    expect(editAuthorizedKeys(text, [KEY_B], { state: 'absent', exclusive: false })).toBe(`# fleet keys\n${KEY_A}\n`)
    expect(editAuthorizedKeys(text, [KEY_A], { state: 'present', exclusive: false, options: 'no-pty' })).toBe(`# fleet keys\nno-pty ${KEY_A}\n${KEY_B}\n`)
    expect(() => editAuthorizedKeys('', ['not a key'], { state: 'present', exclusive: false })).toThrow('not a public key line')
  })

  it('plans ~/.ssh (0700) and authorized_keys (0600), owned by the user, when neither exists', async () => {
    const facts = {
      ...recorded(userInfo, ['deploy'], deploy),
      ...recorded(fileState, ['/home/deploy/.ssh/authorized_keys'], NO_PARENT),
      ...recorded(fileState, ['/home/deploy/.ssh'], { ...ABSENT }),
    }
    const plan = await planWith(authorizedKeyStep({ user: 'deploy', key: KEY_A }), facts)
    expect(plan.changes.map((c) => `${c.resource} ${c.action} ${c.field ?? ''} ${c.after ?? ''}`.trim())).toEqual([
      'directory:/home/deploy/.ssh create',
      'directory:/home/deploy/.ssh create mode 0700',
      'directory:/home/deploy/.ssh create owner deploy',
      'directory:/home/deploy/.ssh create group deploy',
      `file:/home/deploy/.ssh/authorized_keys create content ${KEY_A}`,
      'file:/home/deploy/.ssh/authorized_keys create mode 0600',
      'file:/home/deploy/.ssh/authorized_keys create owner deploy',
      'file:/home/deploy/.ssh/authorized_keys create group deploy',
    ])
    expect(plan.commands?.map((c) => c.display)).toEqual(['mkdir /home/deploy/.ssh', 'write /home/deploy/.ssh/authorized_keys'])
    const there = { ...facts, ...recorded(fileState, ['/home/deploy/.ssh/authorized_keys'], regular(`${KEY_A}\n`)) }
    expect((await planWith(authorizedKeyStep({ user: 'deploy', key: KEY_A }), there)).changes).toEqual([])
    expect((await planWith(authorizedKeyStep({ user: 'deploy', key: KEY_A, state: 'absent' }), facts)).changes).toEqual([])
  })

  it('fails naming the user when the account does not exist', async () => {
    await expect(planWith(authorizedKeyStep({ user: 'nobody2', key: KEY_A }), recorded(userInfo, ['nobody2'], undefined))).rejects.toThrow('authorizedKey: user nobody2 does not exist on h1')
  })
})

describe('cron (an entry in /etc/cron.d, by name)', () => {
  it('renders the entry with its user and env, and plans it as a root-owned 0644 file', async () => {
    const args = { name: 'restic-prune', schedule: '30  3 * * 0', command: '/usr/local/sbin/havn-restic prune', user: 'root', env: { MAILTO: 'ops@example.org' } }
    expect(renderCronFile(args)).toBe('# Managed by havn: cron entry restic-prune\nMAILTO=ops@example.org\n30 3 * * 0 root /usr/local/sbin/havn-restic prune\n')
    const plan = await planWith(cronStep(args), recorded(fileState, ['/etc/cron.d/restic-prune'], ABSENT))
    expect(plan.changes.map((c) => `${c.field} ${c.after?.split('\n')[0]}`)).toEqual(['content # Managed by havn: cron entry restic-prune', 'mode 0644', 'owner root', 'group root'])
    expect((await planWith(cronStep({ name: 'restic-prune', state: 'absent' }), recorded(fileState, ['/etc/cron.d/restic-prune'], ABSENT))).changes).toEqual([])
  })

  it('refuses names cron would skip, bad schedules and multi-line commands, naming the entry', async () => {
    await expect(planWith(cronStep({ name: 'app.daily', schedule: '@daily', command: 'true' }), {})).rejects.toThrow("cron entry name must be letters, digits, '_' or '-'")
    await expect(planWith(cronStep({ name: 'x', schedule: '* * *', command: 'true' }), {})).rejects.toThrow('cron x: schedule must be five cron fields or one of @reboot')
    await expect(planWith(cronStep({ name: 'x', schedule: '@daily', command: 'a\nb' }), {})).rejects.toThrow('cron x: command must be one non-empty line')
    await expect(planWith(cronStep({ name: 'x' }), {})).rejects.toThrow("cron x: schedule and command are required unless state is 'absent'")
  })
})

describe("cron in a user's own crontab (recorded crontab -l output)", () => {
  const listed = (text: string) => parseUserCrontab({ code: 0, stdout: `crontab\n${text}`, stderr: '' }, 'deploy')

  it('reads a listing, an empty crontab, no crontab at all, a missing crontab program and an unknown user', () => {
    expect(listed('# m h dom mon dow command\n0 3 * * * /usr/local/bin/prune\n')).toEqual({ kind: 'crontab', text: '# m h dom mon dow command\n0 3 * * * /usr/local/bin/prune\n' })
    expect(listed('\n')).toEqual({ kind: 'crontab', text: '' })
    expect(listed('')).toEqual({ kind: 'crontab', text: '' })
    expect(parseUserCrontab({ code: 0, stdout: 'missing\n', stderr: '' }, 'deploy')).toEqual({ kind: 'missing' })
    expect(parseUserCrontab({ code: 0, stdout: 'no-user\n', stderr: '' }, 'ghost')).toEqual({ kind: 'no-user' })
    expect(() => parseUserCrontab({ code: 1, stdout: '', stderr: 'crontab: cannot open /var/spool/cron/crontabs\n' }, 'deploy')).toThrow('cannot list the crontab of deploy (exit 1): crontab: cannot open')
  })

  it('edits the entry under its marker, appends a new one and removes one, keeping every other line', () => {
    const text = '# m h dom mon dow command\n0 3 * * * /usr/local/bin/prune\n'
    const added = editCrontab(text, 'report', '15 7 * * * /usr/local/bin/report')
    expect(added).toEqual({ text: `${text}# havn: report\n15 7 * * * /usr/local/bin/report\n` })
    expect(editCrontab(added.text, 'report', '30 7 * * * /usr/local/bin/report')).toEqual({ text: `${text}# havn: report\n30 7 * * * /usr/local/bin/report\n`, before: '15 7 * * * /usr/local/bin/report' })
    expect(editCrontab(added.text, 'report', undefined)).toEqual({ text, before: '15 7 * * * /usr/local/bin/report' })
    expect(editCrontab('', 'report', undefined)).toEqual({ text: '' })
  })

  it('plans one crontab -u install with the whole new crontab on stdin, and nothing when the entry is there', async () => {
    const facts = recorded(userCrontab, ['deploy'], { kind: 'crontab', text: '0 3 * * * /usr/local/bin/prune\n' } as const)
    const args = { name: 'report', crontab: true, user: 'deploy', schedule: '15  7 * * *', command: '/usr/local/bin/report' } as const
    const plan = await planWith(cronStep(args), facts)
    expect(plan.changes).toEqual([{ resource: 'crontab:deploy', action: 'create', field: 'entry report', after: '15 7 * * * /usr/local/bin/report' }])
    expect(plan.commands).toEqual([{ script: "crontab -u 'deploy' -", display: 'crontab -u deploy - (entry report)', stdin: '0 3 * * * /usr/local/bin/prune\n# havn: report\n15 7 * * * /usr/local/bin/report\n' }])
    const there = recorded(userCrontab, ['deploy'], { kind: 'crontab', text: plan.commands?.[0]?.stdin ?? '' } as const)
    expect((await planWith(cronStep(args), there)).changes).toEqual([])
    expect((await planWith(cronStep({ ...args, state: 'absent' }), there)).commands?.[0]?.stdin).toBe('0 3 * * * /usr/local/bin/prune\n')
  })

  it('without crontab on the host the entry is missing (a check after a cron install plans it); a user that does not exist is an error unless a check created it', async () => {
    const args = { name: 'report', crontab: true, user: 'deploy', schedule: '@daily', command: 'true' } as const
    expect((await planWith(cronStep(args), recorded(userCrontab, ['deploy'], { kind: 'missing' } as const))).missing).toContain("install cron first (packages({ names: ['cron'] }))")
    const noUser = recorded(userCrontab, ['deploy'], { kind: 'no-user' } as const)
    await expect(planWith(cronStep(args), { ...noUser, ...recorded(userInfo, ['deploy'], undefined) })).rejects.toThrow('cron report: user deploy does not exist')
    expect((await planWith(cronStep(args), { ...noUser, ...recorded(userInfo, ['deploy'], deploy) })).changes).toHaveLength(1)
    await expect(planWith(cronStep({ ...args, env: { MAILTO: '' } }), {})).rejects.toThrow('env applies to /etc/cron.d entries only')
  })
})
