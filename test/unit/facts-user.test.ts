import { describe, expect, it } from 'vitest'
import { parseUserInfo, userCommand, userInfo } from '../../src/facts/user.ts'
import { localRemote } from '../support/local-remote.ts'

// Captured on 2026-11-23 from a havn test bed host (Debian 12) by running userCommand() there, for
// built-in accounts, a missing one, and `app` after user() created it (uid 1500, group appgrp,
// groups ops) and then modified it (uid 1501, +web, home /srv/app, shell /bin/sh), and a system account.
const userAppCreated =
  "passwd=app:x:1500:1600::/home/app:/bin/bash\ngroup=appgrp\ngroups=appgrp ops\n"
const userAppModified =
  "passwd=app:x:1501:1600::/srv/app:/bin/sh\ngroup=appgrp\ngroups=appgrp ops web\n"
const userDeploy =
  "passwd=deploy:x:1000:1000::/home/deploy:/bin/bash\ngroup=deploy\ngroups=deploy\n"
const userNobody =
  "passwd=nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\ngroup=nogroup\ngroups=nogroup\n"
const userNosuchuser =
  "absent\n"
const userRoot =
  "passwd=root:x:0:0:root:/root:/bin/bash\ngroup=root\ngroups=root\n"
const userSvc1 =
  "passwd=svc1:x:999:999::/home/svc1:/bin/sh\ngroup=svc1\ngroups=svc1\n"

describe('user.info fact', () => {
  it('parses recorded accounts', () => {
    expect(parseUserInfo(userRoot)).toEqual({ name: 'root', uid: 0, gid: 0, group: 'root', groups: [], home: '/root', shell: '/bin/bash' })
    expect(parseUserInfo(userNobody)).toEqual({ name: 'nobody', uid: 65534, gid: 65534, group: 'nogroup', groups: [], home: '/nonexistent', shell: '/usr/sbin/nologin' })
    expect(parseUserInfo(userAppCreated)).toEqual({ name: 'app', uid: 1500, gid: 1600, group: 'appgrp', groups: ['ops'], home: '/home/app', shell: '/bin/bash' })
    expect(parseUserInfo(userAppModified)?.groups).toEqual(['ops', 'web'])
    expect(parseUserInfo(userSvc1)?.uid).toBe(999)
    expect(parseUserInfo(userDeploy)?.home).toBe('/home/deploy')
    expect(parseUserInfo(userNosuchuser)).toBeUndefined()
  })

  it('rejects names that are unsafe or that getent would read as a uid', () => {
    for (const bad of ['1000', 'a b', '-r', "x'y", 'a'.repeat(40)]) expect(() => userCommand(bad)).toThrow(/invalid user name/)
  })

  it('runs for real on this machine', async () => {
    const remote = localRemote()
    expect(userInfo.parse(await remote.exec(userInfo.command('root')), 'root')).toMatchObject({ name: 'root', uid: 0, gid: 0, group: 'root', home: '/root' })
    const missing = await remote.exec(userInfo.command('havn-no-such-user'))
    expect(missing.stdout).toBe('absent\n')
    expect(userInfo.parse(missing, 'havn-no-such-user')).toBeUndefined()
  })
})
