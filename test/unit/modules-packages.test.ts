import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CommandFailedError } from '../../src/connection/errors.ts'
import type { Executed, Remote, RemoteExecOptions } from '../../src/engine/context.ts'
import { factKey } from '../../src/engine/facts.ts'
import { packagesState, parsePackagesState, type PackagesState, pendingInstalls, pendingSources } from '../../src/facts/packages.ts'
import { packagesStep, retryOnAptLock } from '../../src/modules/packages.ts'
import { installFakeCommands, remoteWithFakes } from '../support/local-remote.ts'
import { applyPlan, planWith, recorded } from '../support/plan-with.ts'

// Fact values parsed from output captured on the havn test bed (Debian 12): see facts-packages.test.ts.
const fresh = parsePackagesState(
  'pm=apt\n#pkg haproxy\n#pkg cron\nunknown ok not-installed\t\n#policy haproxy cron\nhaproxy:\n  Installed: (none)\n  Candidate: 2.6.12-1+deb12u3\n  Version table:\n     2.6.12-1+deb12u3 500\n        500 file:/srv/havn-apt ./ Packages\ncron:\n  Installed: (none)\n  Candidate: 3.0pl1-162\n  Version table:\n     3.0pl1-162 500\n        500 file:/srv/havn-apt ./ Packages\n',
  ['haproxy', 'cron'],
)
const installed = parsePackagesState('pm=apt\n#pkg haproxy\ninstall ok installed\t2.6.12-1+deb12u3\n#pkg cron\ninstall ok installed\t3.0pl1-162\n', ['haproxy', 'cron'])
const typo = parsePackagesState('pm=apt\n#pkg haproxyy\n#policy haproxyy\n', ['haproxyy'])

// Captured on 2026-12-03 from a bed host power-cycled while `apt-get install python3` was unpacking.
const interrupted = parsePackagesState(
  'pm=apt\n#dpkg-interrupted\n#pkg python3\nunknown ok not-installed\t\n#pkg cron\nunknown ok not-installed\t\n#policy python3 cron\npython3:\n  Installed: (none)\n  Candidate: 3.11.2-1+b1\n  Version table:\n     3.11.2-1+b1 500\n        500 file:/srv/havn-apt ./ Packages\ncron:\n  Installed: (none)\n  Candidate: 3.0pl1-162\n  Version table:\n     3.0pl1-162 500\n        500 file:/srv/havn-apt ./ Packages\n',
  ['python3', 'cron'],
)

/** A remote that records scripts and answers from a queue of results. */
function scripted(results: Executed[]): Remote & { calls: { script: string; opts?: RemoteExecOptions }[] } {
  const calls: { script: string; opts?: RemoteExecOptions }[] = []
  return {
    host: 'h1',
    calls,
    async exec(script, opts) {
      calls.push({ script, opts })
      return results.shift() ?? { code: 0, stdout: '', stderr: '' }
    },
  }
}

const facts = (names: string[], latest: boolean, v: PackagesState, pending: string[] = [], sources: string[] = []) => ({
  ...recorded(packagesState, [names, latest], v),
  ...recorded(pendingInstalls, [], pending),
  ...recorded(pendingSources, [], sources),
})

describe('packages on apt', () => {
  it('changes nothing when every package is installed (one fact read, no apply)', async () => {
    const plan = await planWith(packagesStep({ names: ['haproxy', 'cron'] }), facts(['haproxy', 'cron'], false, installed))
    expect(plan.changes).toEqual([])
    expect(plan.commands).toBeUndefined()
  })

  it('installs only the missing packages in one apt-get call, showing candidate versions', async () => {
    const state = parsePackagesState('pm=apt\n#pkg haproxy\ninstall ok installed\t2.6.12-1+deb12u3\n#pkg cron\n#policy cron\ncron:\n  Installed: (none)\n  Candidate: 3.0pl1-162\n', ['haproxy', 'cron'])
    const plan = await planWith(packagesStep({ names: ['haproxy', 'cron'] }), facts(['haproxy', 'cron'], false, state))
    expect(plan.changes).toEqual([{ resource: 'package:cron', action: 'create', field: 'version', before: '(absent)', after: '3.0pl1-162' }])
    const remote = scripted([])
    await applyPlan(plan, remote)
    expect(remote.calls).toHaveLength(1)
    expect(remote.calls[0]?.script).toContain(
      "DEBIAN_FRONTEND=noninteractive\napt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -- 'cron'",
    )
    expect(remote.calls[0]?.script).not.toContain('haproxy')
    expect(remote.calls[0]?.script).not.toContain('apt-get update')
    expect(remote.calls[0]?.opts?.display).toBe('apt-get install cron')
  })

  it('predicts the packages as installed under the list key and each single-name key', async () => {
    const plan = await planWith(packagesStep({ names: ['haproxy', 'cron'] }), facts(['haproxy', 'cron'], false, fresh))
    expect(plan.changes.map((c) => [c.resource, c.after])).toEqual([['package:haproxy', '2.6.12-1+deb12u3'], ['package:cron', '3.0pl1-162']])
    const byKey = new Map(plan.predict?.map((p) => [p.key, p.value]))
    expect(byKey.get(factKey(packagesState, [['haproxy', 'cron'], false]))).toEqual({
      manager: 'apt',
      packages: {
        haproxy: { installed: '2.6.12-1+deb12u3', candidate: '2.6.12-1+deb12u3', queried: true },
        cron: { installed: '3.0pl1-162', candidate: '3.0pl1-162', queried: true },
      },
    })
    expect(byKey.get(factKey(packagesState, [['cron'], true]))).toEqual({ manager: 'apt', packages: { cron: { installed: '3.0pl1-162', candidate: '3.0pl1-162', queried: true } } })
    // Installs planned by earlier steps of the run stay pending next to these.
    const later = await planWith(packagesStep({ names: ['haproxy', 'cron'] }), facts(['haproxy', 'cron'], false, fresh, ['restic']))
    expect(new Map(later.predict?.map((p) => [p.key, p.value])).get(factKey(pendingInstalls, []))).toEqual(['restic', 'haproxy', 'cron'])
    // A later identical step in a check run reads the prediction and plans nothing.
    const again = await planWith(packagesStep({ names: ['haproxy', 'cron'] }), Object.fromEntries(byKey))
    expect(again.changes).toEqual([])
  })

  it('fails the plan for a package apt does not know, naming it, unless updateCache is set', async () => {
    await expect(planWith(packagesStep({ names: ['haproxyy'] }), facts(['haproxyy'], false, typo))).rejects.toThrow(
      /package\(s\) haproxyy not available from apt .*updateCache: true/,
    )
    const plan = await planWith(packagesStep({ names: ['haproxyy'], updateCache: true }), facts(['haproxyy'], false, typo))
    expect(plan.changes).toEqual([{ resource: 'package:haproxyy', action: 'create', field: 'version', before: '(absent)', after: 'latest' }])
    const remote = scripted([])
    await applyPlan(plan, remote)
    expect(remote.calls[0]?.script).toMatch(/\( export DEBIAN_FRONTEND=noninteractive\napt-get update -q \|\| exit \$\?\napt-get install .* -- 'haproxyy'\n  \) 2>/)
  })

  it('plans an unknown package as uncertain when a repository added earlier in a check run may bring it', async () => {
    const plan = await planWith(packagesStep({ names: ['haproxyy'] }), facts(['haproxyy'], false, typo, [], ['vendor']))
    expect(plan.changes).toEqual([{ resource: 'package:haproxyy', action: 'create', field: 'version', before: '(absent)', after: 'latest' }])
    expect(plan.uncertain).toBe("package(s) haproxyy not in apt's index yet; repository vendor, added earlier in this run, may provide them")
    expect(plan.commands?.[0]?.display).toBe('apt-get install haproxyy')
  })

  it('upgrades to the candidate with latest, and is a no-op when the candidate is installed', async () => {
    const old = parsePackagesState('pm=apt\n#pkg haproxy\ninstall ok installed\t2.6.12-1+deb12u1\n#policy haproxy\nhaproxy:\n  Installed: 2.6.12-1+deb12u1\n  Candidate: 2.6.12-1+deb12u3\n', ['haproxy'])
    const plan = await planWith(packagesStep({ names: ['haproxy'], state: 'latest' }), facts(['haproxy'], true, old))
    expect(plan.changes).toEqual([{ resource: 'package:haproxy', action: 'update', field: 'version', before: '2.6.12-1+deb12u1', after: '2.6.12-1+deb12u3' }])
    expect(plan.uncertain).toBeUndefined()
    const same = parsePackagesState('pm=apt\n#pkg haproxy\ninstall ok installed\t2.6.12-1+deb12u3\n#policy haproxy\nhaproxy:\n  Installed: 2.6.12-1+deb12u3\n  Candidate: 2.6.12-1+deb12u3\n', ['haproxy'])
    expect((await planWith(packagesStep({ names: ['haproxy'], state: 'latest' }), facts(['haproxy'], true, same))).changes).toEqual([])
  })

  it('removes installed packages with apt-get remove (no purge) and ignores absent ones', async () => {
    const state = parsePackagesState('pm=apt\n#pkg cron\ndeinstall ok config-files\t3.0pl1-162\n#pkg haproxy\ninstall ok installed\t2.6.12-1+deb12u3\n', ['cron', 'haproxy'])
    const plan = await planWith(packagesStep({ names: ['cron', 'haproxy'], state: 'absent' }), facts(['cron', 'haproxy'], false, state))
    expect(plan.changes).toEqual([{ resource: 'package:haproxy', action: 'delete', field: 'version', before: '2.6.12-1+deb12u3', after: '(absent)' }])
    const remote = scripted([])
    await applyPlan(plan, remote)
    expect(remote.calls[0]?.script).toContain("apt-get remove -y -q -- 'haproxy'")
    expect(remote.calls[0]?.script).not.toContain('purge')
    const byKey = new Map(plan.predict?.map((p) => [p.key, p.value]))
    expect(byKey.get(factKey(packagesState, [['haproxy'], false]))).toEqual({ manager: 'apt', packages: { haproxy: { queried: false } } })
  })

  it('throws CommandFailedError naming host, command, exit code and stderr when apt fails', async () => {
    const plan = await planWith(packagesStep({ names: ['haproxy', 'cron'] }), facts(['haproxy', 'cron'], false, fresh))
    const err = await applyPlan(plan, scripted([{ code: 100, stdout: '', stderr: 'E: Unable to locate package cron\n' }])).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CommandFailedError)
    expect((err as Error).message).toBe('host h1: command failed (exit 100): apt-get install haproxy cron\nE: Unable to locate package cron')
  })

  it('finishes an interrupted dpkg first (apt refuses to work until then), shown in the plan and the command', async () => {
    expect(interrupted.interrupted).toBe(true)
    const plan = await planWith(packagesStep({ names: ['python3', 'cron'] }), facts(['python3', 'cron'], false, interrupted))
    expect(plan.changes).toEqual([
      { resource: 'dpkg', action: 'update', field: 'state', before: 'interrupted', after: 'configured' },
      { resource: 'package:python3', action: 'create', field: 'version', before: '(absent)', after: '3.11.2-1+b1' },
      { resource: 'package:cron', action: 'create', field: 'version', before: '(absent)', after: '3.0pl1-162' },
    ])
    const remote = scripted([])
    await applyPlan(plan, remote)
    expect(remote.calls[0]?.script).toMatch(/dpkg --configure -a --force-confdef --force-confold \|\| exit \$\?\napt-get install .* -- 'python3' 'cron'/)
    expect(remote.calls[0]?.opts?.display).toBe('dpkg --configure -a && apt-get install python3 cron')
    // Nothing to install: an interrupted dpkg alone is left to whichever step needs apt next.
    const none = await planWith(packagesStep({ names: ['haproxy'] }), facts(['haproxy'], false, parsePackagesState('pm=apt\n#dpkg-interrupted\n#pkg haproxy\ninstall ok installed\t2.6.12-1+deb12u3\n', ['haproxy'])))
    expect(none.changes).toEqual([])
    expect(parsePackagesState('pm=apt\n#pkg cron\n', ['cron']).interrupted).toBeUndefined()
  })

  it('fails clearly on a host without apt-get or dnf', async () => {
    await expect(planWith(packagesStep({ names: ['x'] }), facts(['x'], false, { manager: 'none', packages: { x: { queried: false } } }))).rejects.toThrow(
      /no supported package manager/,
    )
  })
})

describe('apt lock contention, run by /bin/sh against a fake apt-get', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'havn-apt-'))
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  /** A fake apt-get that reports the lock held for its first `locked` calls, then `last` (an exit code and message). */
  async function fakeApt(locked: number, last: { code: number; err: string }): Promise<void> {
    await installFakeCommands(dir, ['apt-get'], `#!/bin/sh
n=$(cat ${dir}/calls 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${dir}/calls
if [ $n -le ${locked} ]; then echo "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 748 (apt-get)" >&2; exit 100; fi
echo "${last.err}" >&2; exit ${last.code}
`)
  }
  const calls = async () => Number((await readFile(join(dir, 'calls'), 'utf8')).trim())

  it('retries while the lock is held, then succeeds', async () => {
    await fakeApt(2, { code: 0, err: '' })
    const res = await remoteWithFakes(dir).exec(retryOnAptLock('apt-get install -y x', [0, 0, 0, 0]))
    expect(res.code).toBe(0)
    expect(await calls()).toBe(3)
  })

  it('gives up after the bounded number of retries with the lock error, and never retries other failures', async () => {
    await fakeApt(10, { code: 0, err: '' })
    const held = await remoteWithFakes(dir).exec(retryOnAptLock('apt-get install -y x', [0, 0]))
    expect(held.code).toBe(100)
    expect(held.stderr).toContain('Could not get lock')
    expect(await calls()).toBe(3)
    await rm(join(dir, 'calls'))
    await fakeApt(0, { code: 100, err: 'E: Unable to locate package x' })
    const other = await remoteWithFakes(dir).exec(retryOnAptLock('apt-get install -y x', [0, 0]))
    expect(other).toMatchObject({ code: 100, stderr: 'E: Unable to locate package x\n' })
    expect(await calls()).toBe(1)
  })
})

describe('packages on dnf (representative facts)', () => {
  const dnf = parsePackagesState('pm=dnf\n#pkg haproxy\nrpm 2.8.5-1.fc40\n#pkg nginx\n#repoquery haproxy nginx\nhaproxy 2.8.10-1.fc40\nnginx 1:1.26.2-1.fc40\n', ['haproxy', 'nginx'])

  it('installs missing and upgrades outdated packages with dnf in one command', async () => {
    const plan = await planWith(packagesStep({ names: ['haproxy', 'nginx'], state: 'latest', updateCache: true }), facts(['haproxy', 'nginx'], true, dnf))
    expect(plan.changes).toEqual([
      { resource: 'package:haproxy', action: 'update', field: 'version', before: '2.8.5-1.fc40', after: '2.8.10-1.fc40' },
      { resource: 'package:nginx', action: 'create', field: 'version', before: '(absent)', after: '1:1.26.2-1.fc40' },
    ])
    const remote = scripted([])
    await applyPlan(plan, remote)
    expect(remote.calls).toHaveLength(1)
    expect(remote.calls[0]?.script).toBe("dnf -y -q makecache || exit $?\ndnf -y install -- 'nginx' || exit $?\ndnf -y upgrade -- 'haproxy' || exit $?")
  })

  it('reports latest as uncertain when dnf has no cached metadata', async () => {
    const empty = parsePackagesState('pm=dnf\n#pkg haproxy\nrpm 2.8.5-1.fc40\n#repoquery haproxy\n', ['haproxy'])
    const plan = await planWith(packagesStep({ names: ['haproxy'], state: 'latest' }), facts(['haproxy'], true, empty))
    expect(plan.uncertain).toMatch(/newest version of haproxy is unknown/)
    expect(plan.changes).toEqual([{ resource: 'package:haproxy', action: 'update', field: 'version', before: '2.8.5-1.fc40', after: 'latest' }])
  })
})
