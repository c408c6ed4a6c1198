import { execFileSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inventoryYaml, knownHosts, sshConfig, type ArtifactHost } from '../testbed/artifacts.ts'

const KEY1 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAugZC11M1PqZqGup+sRIuhfbCN6OTHKTn0bWqnfMOwj root@host1'
const KEY2 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKulcXbeYG1FdBJrMiNpfwHlEdKxDvIh4Sf1mzkxF6/C root@hidden1'
const HOSTS: ArtifactHost[] = [
  { name: 'host1', address: '10.213.0.11', hostKey: KEY1 },
  { name: 'hidden1', address: '10.214.0.11', hostKey: KEY2, via: 'host1' },
]

describe('inventoryYaml', () => {
  it('has the Ansible shape with connection keys, and groups reachable and hidden hosts', () => {
    expect(parse(inventoryYaml(HOSTS))).toEqual({
      all: {
        hosts: {
          host1: { address: '10.213.0.11', port: 22, user: 'root' },
          hidden1: { address: '10.214.0.11', port: 22, user: 'root' },
        },
        children: { testbed: { hosts: { host1: {} } }, hidden: { hosts: { hidden1: {} } } },
      },
    })
  })
})

describe('client files, checked with OpenSSH itself', () => {
  let dir = ''
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'havn-artifacts-'))
    await writeFile(join(dir, 'known_hosts'), knownHosts(HOSTS))
    await writeFile(join(dir, 'ssh_config'), sshConfig(HOSTS, join(dir, 'id'), join(dir, 'known_hosts')))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })
  it('known_hosts finds each key under its plain address (ssh-keygen -F)', () => {
    const out = execFileSync('ssh-keygen', ['-F', '10.214.0.11', '-f', join(dir, 'known_hosts')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    expect(out).toContain(KEY2.split(' ')[1])
    expect(out).not.toContain(KEY1.split(' ')[1])
  })
  it('ssh_config resolves (ssh -G) to the address, root, strict checking, and ProxyJump for hidden hosts', () => {
    const resolved = (host: string) => execFileSync('ssh', ['-G', '-F', join(dir, 'ssh_config'), host], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    const hidden = resolved('hidden1')
    expect(hidden).toMatch(/^hostname 10\.214\.0\.11$/m)
    expect(hidden).toMatch(/^user root$/m)
    expect(hidden).toMatch(/^proxyjump host1$/m)
    expect(hidden).toMatch(/^stricthostkeychecking true$/m)
    expect(hidden).toContain(`userknownhostsfile ${join(dir, 'known_hosts')}`)
    expect(resolved('host1')).not.toMatch(/^proxyjump/m)
  })
})
