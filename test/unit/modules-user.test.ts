import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CommandFailedError } from '../../src/connection/errors.ts'
import type { Remote } from '../../src/engine/context.ts'
import { factKey } from '../../src/engine/facts.ts'
import { parseUserInfo, userInfo, type UserInfo } from '../../src/facts/user.ts'
import { userStep, type UserArgs } from '../../src/modules/user.ts'
import { installFakeCommands, remoteWithFakes } from '../support/local-remote.ts'
import { planWith, recorded, applyPlan } from '../support/plan-with.ts'

// Captured on a havn test bed host (Debian 12) by running userCommand(): see facts-user.test.ts.
const userAppCreated = 'passwd=app:x:1500:1600::/home/app:/bin/bash\ngroup=appgrp\ngroups=appgrp ops\n'
const userAppModified = 'passwd=app:x:1501:1600::/srv/app:/bin/sh\ngroup=appgrp\ngroups=appgrp ops web\n'

const app = parseUserInfo(userAppCreated)!
const plan = (args: UserArgs, value: UserInfo | undefined) => planWith(userStep(args), recorded(userInfo, [args.name], value))
const r = 'user:app'

describe('user planning', () => {
  it('changes nothing when every given field matches', async () => {
    const p = await plan({ name: 'app', uid: 1500, group: 'appgrp', groups: ['ops'], shell: '/bin/bash', home: '/home/app', system: true }, app)
    expect(p.changes).toEqual([])
    expect(p.commands).toBeUndefined()
    expect((await plan({ name: 'app', group: '1600', groups: ['appgrp', 'ops'] }, app)).changes).toEqual([])
    expect((await plan({ name: 'app', groups: ['ops'], append: true }, app)).changes).toEqual([])
    expect((await plan({ name: 'gone', state: 'absent' }, undefined)).changes).toEqual([])
  })

  it('creates an account with one change per given field and predicts it', async () => {
    const p = await plan({ name: 'app', uid: 1500, group: 'appgrp', groups: ['ops'], shell: '/bin/bash' }, undefined)
    expect(p.changes).toEqual([
      { resource: r, action: 'create', field: 'state', before: '(absent)', after: 'present' },
      { resource: r, action: 'create', field: 'uid', before: '(absent)', after: '1500' },
      { resource: r, action: 'create', field: 'group', before: '(absent)', after: 'appgrp' },
      { resource: r, action: 'create', field: 'groups', before: '(absent)', after: 'ops' },
      { resource: r, action: 'create', field: 'shell', before: '(absent)', after: '/bin/bash' },
    ])
    expect(p.predict).toEqual([
      { key: factKey(userInfo, ['app']), value: { name: 'app', uid: 1500, gid: -1, group: 'appgrp', groups: ['ops'], home: '/home/app', shell: '/bin/bash' } },
    ])
  })

  it('updates only the fields that differ, adding groups with append and setting them exactly without', async () => {
    const p = await plan({ name: 'app', uid: 1501, groups: ['web'], append: true, shell: '/bin/sh', home: '/srv/app' }, app)
    expect(p.changes).toEqual([
      { resource: r, action: 'update', field: 'uid', before: '1500', after: '1501' },
      { resource: r, action: 'update', field: 'groups', before: 'ops', after: 'ops,web' },
      { resource: r, action: 'update', field: 'home', before: '/home/app', after: '/srv/app' },
      { resource: r, action: 'update', field: 'shell', before: '/bin/bash', after: '/bin/sh' },
    ])
    expect(p.predict?.[0]?.value).toEqual({ ...app, uid: 1501, groups: ['ops', 'web'], home: '/srv/app', shell: '/bin/sh' })
    const exact = await plan({ name: 'app', groups: ['web'] }, parseUserInfo(userAppModified))
    expect(exact.changes).toEqual([{ resource: r, action: 'update', field: 'groups', before: 'ops,web', after: 'web' }])
  })

  it('deletes an existing account', async () => {
    const p = await plan({ name: 'app', state: 'absent' }, app)
    expect(p.changes).toEqual([{ resource: r, action: 'delete', field: 'state', before: 'present', after: '(absent)' }])
    expect(p.predict).toEqual([{ key: factKey(userInfo, ['app']), value: undefined }])
  })

  it('rejects bad arguments before touching the host', async () => {
    await expect(plan({ name: 'app', shell: 'bash' }, app)).rejects.toThrow(/shell must be an absolute path/)
    await expect(plan({ name: 'app', groups: ['a,b'] }, app)).rejects.toThrow(/invalid group name/)
    await expect(plan({ name: 'app', uid: -3 }, app)).rejects.toThrow(/uid must be/)
  })
})

describe('user apply scripts, run by /bin/sh against fake useradd/usermod/userdel', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'havn-user-'))
    const fake = `#!/bin/sh\nprintf '%s' "$(basename "$0")" >> ${dir}/log; for a; do printf ' [%s]' "$a" >> ${dir}/log; done; echo >> ${dir}/log\ncase " $* " in *' nosuchgroup '*) echo "usermod: group 'nosuchgroup' does not exist" >&2; exit 6;; esac\n`
    await installFakeCommands(dir, ['useradd', 'usermod', 'userdel'], fake)
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))
  const withFakes = (): Remote => remoteWithFakes(dir)
  const log = () => readFile(join(dir, 'log'), 'utf8')

  it('passes each value as one argument', async () => {
    await applyPlan(await plan({ name: 'app', uid: 1500, groups: ['ops', 'web'], home: '/srv/my app', system: true }, undefined), withFakes())
    await applyPlan(await plan({ name: 'app', groups: ['web'], append: true, shell: '/bin/sh' }, app), withFakes())
    await applyPlan(await plan({ name: 'app', state: 'absent' }, app), withFakes())
    expect(await log()).toBe(
      'useradd [-r] [-u] [1500] [-G] [ops,web] [-d] [/srv/my app] [-M] [--] [app]\n' +
        'usermod [-a] [-G] [web] [-s] [/bin/sh] [--] [app]\n' +
        'userdel [--] [app]\n',
    )
  })

  it('fails with host, command, exit code and stderr', async () => {
    const err = await applyPlan(await plan({ name: 'app', groups: ['nosuchgroup'] }, app), withFakes()).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CommandFailedError)
    expect((err as Error).message).toBe("host h1: command failed (exit 6): usermod -G nosuchgroup app\nusermod: group 'nosuchgroup' does not exist")
  })
})
