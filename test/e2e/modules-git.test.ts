import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { events, havn, type JsonEvent } from './cli.ts'
import { ROLE_HOSTS } from './hosts.ts'
import { bedHosts, changeSet, failures, hostSh, hostsYaml, hostWrites, writeInventory } from './support.ts'

const bed = inject('testbed')
const ssh = ['--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts]

/** The `commit` change of the git step on `host`, as `before -> after`. */
function commitChange(evs: readonly JsonEvent[], host: string): string | undefined {
  const step = evs.find((e) => e.type === 'step:end' && e.host === host && String(e.step).startsWith('git '))
  const c = (step?.changes as { field?: string; before?: string; after?: string }[] | undefined)?.find((x) => x.field === 'commit')
  return c ? `${c.before} -> ${c.after}` : undefined
}

describe('git over SSH between bed hosts', () => {
  it('clones a branch from a bare repository on another host, changes nothing again, follows a pushed commit and pins a tag: check equals run each time', async () => {
    const [client, server] = bedHosts(bed, ROLE_HOSTS.git)
    const dir = mkdtempSync(join(tmpdir(), 'havn-git-'))
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'havn-git@e2e', '-f', join(dir, 'key')])
    const known = readFileSync(bed.knownHosts, 'utf8').split('\n').find((l) => l.startsWith(`${server!.address} `))
    expect(known).toBeDefined()

    // The server's repository is the test's fixture: a bare repository with branch main, pushed from a work tree.
    const onServer = (script: string) => hostSh(bed, server!.name, `set -e\n${script}`)
    await onServer('export DEBIAN_FRONTEND=noninteractive; apt-get install -y -q git >/dev/null')
    const commit = (text: string) =>
      onServer(`cd /root/work && echo ${text} > app.txt && git add app.txt && git -c user.name=t -c user.email=t@e commit -q -m ${text} && git push -q origin main && git rev-parse HEAD`).then((s) => s.trim())
    await onServer('git init -q --bare -b main /srv/app.git && git init -q -b main /root/work && git -C /root/work remote add origin /srv/app.git')
    const first = await commit('one')

    const inv = writeInventory({ 'hosts.yaml': hostsYaml([client!, server!], (h) => `gitRole: ${h === client!.name ? 'client' : 'server'}`) })
    const common = ['test/e2e/playbooks/git.ts', '-i', inv, ...ssh, '--output', 'json']
    const base = { HAVN_E2E_GIT_KEY: join(dir, 'key'), HAVN_E2E_GIT_KNOWN: known!, HAVN_E2E_GIT_REPO: `ssh://root@${server!.address}/srv/app.git` }
    const converge = async (version: string) => {
      const env = { ...base, HAVN_E2E_GIT_VERSION: version }
      const before = [client!, server!].map((h) => hostWrites(bed, h.name))
      const check = await havn(['check', ...common], { env })
      expect(failures(events(check.stdout)), check.stderr).toEqual([])
      expect(check.code).toBe(2)
      expect([client!, server!].map((h) => hostWrites(bed, h.name))).toEqual(before)
      const run = await havn(['run', ...common], { env })
      expect(failures(events(run.stdout)), run.stderr).toEqual([])
      expect(run.code).toBe(0)
      expect(changeSet(events(run.stdout), ['changed'])).toEqual(changeSet(events(check.stdout), ['would-change', 'uncertain']))
      const again = await havn(['run', ...common], { env })
      expect(again.code, again.stderr).toBe(0)
      expect(changeSet(events(again.stdout), ['changed'])).toEqual([])
      return { check: events(check.stdout), run: events(run.stdout) }
    }
    const head = () => hostSh(bed, client!.name, 'cd /srv/app && git rev-parse HEAD && cat app.txt')

    const cloned = await converge('main')
    expect(commitChange(cloned.run, client!.name)).toBe(`(absent) -> ${first}`)
    // git was not on the client yet, so the check could not read the commit.
    expect(cloned.check.find((e) => e.type === 'step:end' && String(e.step).startsWith('git '))?.status).toBe('uncertain')
    expect(await head()).toBe(`${first}\none\n`)

    const second = await commit('two')
    const moved = await converge('main')
    expect(commitChange(moved.check, client!.name)).toBe(`${first} -> ${second}`)
    expect(commitChange(moved.run, client!.name)).toBe(`${first} -> ${second}`)
    expect(await head()).toBe(`${second}\ntwo\n`)

    await onServer(`cd /root/work && git -c user.name=t -c user.email=t@e tag -a -m v1 v1 ${first} && git push -q origin v1`)
    const pinned = await converge('v1')
    expect(commitChange(pinned.run, client!.name)).toBe(`${second} -> ${first}`)
    expect(await head()).toBe(`${first}\none\n`)
  })
})
