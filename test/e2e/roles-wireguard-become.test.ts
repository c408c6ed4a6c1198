import { readFileSync } from 'node:fs'
import { describe, expect, inject, it } from 'vitest'
import { hostExec } from '../testbed/index.ts'
import { events, havn, type CliResult } from './cli.ts'
import { ROLE_HOSTS } from './hosts.ts'
import { changeSet, failures, hostSh } from './support.ts'
import { meshInventory } from './wireguard-inventory.ts'

const bed = inject('testbed')
const [HUB, SPOKE] = ROLE_HOSTS.wireguardBecome
const hub = HUB
const spoke = SPOKE
const args = ['test/e2e/playbooks/role-wireguard-become.ts', '--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts, '--become-password-file', bed.becomePasswordFile, '--output', 'json']

/** Hub and spoke logging in as `deploy`, in the groups the playbook targets. */
function inventory(): string {
  return meshInventory(bed, hub, [spoke], (name) => (name === hub ? '10.20.0.1/24' : '10.20.0.2/32'), 'user: deploy')
}

describe.sequential('wireguard-hub role through become (non-root login, sudo with a password)', () => {
  const inv = inventory()
  const outputs: string[] = []
  const cli = async (verb: 'check' | 'run'): Promise<CliResult> => {
    const res = await havn([verb, '-i', inv, ...args], { timeoutMs: 170_000 })
    outputs.push(res.stdout, res.stderr)
    return res
  }

  it('check predicts what the run changes; the run builds a working tunnel with root-owned keys; a second run changes nothing; no password or key is printed', async () => {
    for (const h of [hub, spoke]) expect(await hostSh(bed, h, 'ls /etc/wireguard 2>/dev/null | wc -l')).toBe('0\n')

    const check = await cli('check')
    const checkEvents = events(check.stdout)
    expect(failures(checkEvents)).toEqual([])
    expect(check.code).toBe(2)
    const predicted = changeSet(checkEvents, ['would-change', 'uncertain'])
    for (const h of [hub, spoke]) expect(predicted).toContain(`${h} file:/etc/wireguard/wg0.conf content`)

    const run = await cli('run')
    const runEvents = events(run.stdout)
    expect(failures(runEvents)).toEqual([])
    expect(run.code).toBe(0)
    expect(changeSet(runEvents, ['changed'])).toEqual(predicted)

    // Written through sudo: root owns the keys and configs, although havn logged in as deploy.
    for (const h of [hub, spoke]) {
      expect(await hostSh(bed, h, "stat -c '%a %U' /etc/wireguard/wg0.key /etc/wireguard/wg0.conf")).toBe('600 root\n600 root\n')
    }
    expect((await hostExec(bed, spoke, 'ping -c 1 -w 10 10.20.0.1 >/dev/null 2>&1')).code, `${spoke} pings ${hub} through the tunnel`).toBe(0)

    const again = await cli('run')
    const againEvents = events(again.stdout)
    expect(failures(againEvents)).toEqual([])
    expect(again.code).toBe(0)
    expect(changeSet(againEvents, ['changed', 'would-change', 'uncertain'])).toEqual([])

    const password = readFileSync(bed.becomePasswordFile, 'utf8').trim()
    const keys = await Promise.all([hub, spoke].map(async (h) => (await hostSh(bed, h, 'cat /etc/wireguard/wg0.key')).trim()))
    expect(password.length).toBeGreaterThan(8)
    for (const out of outputs) {
      expect(out).not.toContain(password)
      for (const key of keys) expect(out).not.toContain(key)
    }
  })
})
