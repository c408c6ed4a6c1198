import { chmodSync, existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { loadInventory, selectHosts } from '../../src/inventory/index.ts'
import type { VaultSecret } from '../../src/inventory/vault/decrypt.ts'
import { problemsOf, removeTempInventories, tempInventory } from '../fixtures/inventories/temp-inventory.ts'
import { toAnsibleList } from '../../src/inventory/ansible-list.ts'

// Each case is an inventory plus the JSON that ansible-inventory 2.14 printed for it (`--list`): a
// `<case>.list.json` beside a file `<case>.<ext>`, or beside a directory `<case>/` whose `args.txt`
// holds the `-i` paths it was given, one per line (Ansible and havn both skip .txt files).
afterAll(removeTempInventories)

const DIR = new URL('../fixtures/ansible/inventories/', import.meta.url)
const CASES = readdirSync(DIR).filter((f) => f.endsWith('.list.json')).map((f) => f.replace(/\.list\.json$/, ''))
const DIR_CASES = CASES.filter((c) => existsSync(new URL(`${c}/args.txt`, DIR)))
const FILE_CASES = CASES.filter((c) => !DIR_CASES.includes(c))

/** The `--vault-id` passwords a case was recorded with (`label@file` lines of vault-ids.txt). */
function vaultIds(base: string): VaultSecret[] {
  const file = join(base, 'vault-ids.txt')
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => {
    const [label = '', path = ''] = line.split('@')
    return { label, password: Buffer.from(readFileSync(join(base, path), 'utf8').trim()), origin: line }
  })
}

// ansible-inventory prints an inline !vault value still encrypted, as {"__ansible_vault": envelope};
// havn lists what it decrypted. These are the plaintexts, checked here by hand.
const INLINE_PLAINTEXT = new Map([['inline_secret', 'inline-canary-42d']])

function openInline(list: unknown): unknown {
  const hostvars = (list as { _meta: { hostvars: Record<string, Record<string, unknown>> } })._meta.hostvars
  for (const vars of Object.values(hostvars)) {
    for (const [key, value] of Object.entries(vars)) {
      if (typeof value === 'object' && value !== null && '__ansible_vault' in value) vars[key] = INLINE_PLAINTEXT.get(key)
    }
  }
  return list
}

describe('inventories read exactly as ansible-inventory --list reads them', () => {
  it('has recorded cases to compare', () => {
    expect(FILE_CASES.length).toBeGreaterThanOrEqual(5)
    expect(DIR_CASES.length).toBeGreaterThanOrEqual(2)
  })

  for (const name of DIR_CASES) {
    it(name, async () => {
      const base = fileURLToPath(new URL(`${name}/`, DIR))
      const args = readFileSync(join(base, 'args.txt'), 'utf8').split('\n').filter(Boolean).map((a) => join(base, a))
      const want = JSON.parse(readFileSync(new URL(`${name}.list.json`, DIR), 'utf8')) as unknown
      expect(toAnsibleList(await loadInventory(args, { vault: vaultIds(base) }))).toEqual(openInline(want))
    })
  }

  for (const name of FILE_CASES) {
    it(name, async () => {
      const source = readdirSync(DIR).find((f) => f.startsWith(`${name}.`) && !f.endsWith('.list.json')) ?? name
      const want = JSON.parse(readFileSync(new URL(`${name}.list.json`, DIR), 'utf8')) as unknown
      const inv = await loadInventory(new URL(source, DIR).pathname)
      expect(toAnsibleList(inv)).toEqual(want)
    })
  }
})

describe('vars folders beside an INI file, as Ansible reads them', () => {
  const base = fileURLToPath(new URL('vars-beside/', DIR))

  it('names every file it does not read, and why', async () => {
    const inv = await loadInventory(join(base, 'inventory.ini'))
    expect(inv.warnings.map((w) => [w.at.file?.slice(base.length), w.message])).toEqual([
      ['group_vars/all.yml', 'not read: Ansible reads only the first of all, all.yml, all.yaml and all.json, and all exists'],
      ['group_vars/db.json', 'not read: Ansible reads only the first of db, db.yml, db.yaml and db.json, and db.yml exists'],
      ['group_vars/k8s_cluster.yml', "not read: group_vars for 'k8s_cluster', which is not a group in this inventory"],
      ['host_vars/web1.yaml', 'not read: Ansible reads only the first of web1, web1.yml, web1.yaml and web1.json, and web1 exists'],
    ])
  })

  it('connects as Ansible would: ansible_ssh_* over ansible_*, whatever the level, and per-host key and become', async () => {
    const inv = await loadInventory(join(base, 'inventory.ini'))
    expect(inv.hosts.get('web2')).toMatchObject({ address: '192.0.2.2', port: 2202, user: 'deploy', transport: 'ssh' })
    expect(inv.hosts.get('web1')).toMatchObject({ address: '192.0.2.1', port: 2222, identityFile: '~/.ssh/web1', become: true, becomeUser: 'app' })
    expect(inv.hosts.get('web1')!.vars).not.toHaveProperty('ansible_become')
    expect(inv.hosts.get('db1')).toMatchObject({ address: 'db1', port: 2222 })
  })
})

describe('--limit subscripts pick the hosts Ansible picks', () => {
  // Answers of `ansible PATTERN -i basic.ini --list-hosts` (ansible-core 2.14).
  const ANSIBLE: Record<string, string[]> = {
    'web[0]': ['web1.example.org'],
    'web[-1]': ['lonely'],
    'web[0:1]': ['web1.example.org', 'web2.example.org'],
    'web[1:]': ['web2.example.org', 'lonely'],
    'web[1-2]': ['web2.example.org', 'lonely'],
    'datacenter[1:3]': ['web2.example.org', 'lonely', 'db1'],
    'web[0]:db[1]': ['web1.example.org', 'db2'],
    'web:&datacenter[0:2]': ['web1.example.org', 'web2.example.org', 'lonely'],
    'web[0:1]:!lonely': ['web1.example.org', 'web2.example.org'],
  }

  it('for every recorded pattern (as sets: havn keeps inventory order)', async () => {
    const inv = await loadInventory(fileURLToPath(new URL('basic.ini', DIR)))
    for (const [pattern, want] of Object.entries(ANSIBLE)) expect(selectHosts(inv, pattern).sort(), pattern).toEqual([...want].sort())
  })

  it('names the group and its size when an index is out of range', async () => {
    const inv = await loadInventory(fileURLToPath(new URL('basic.ini', DIR)))
    expect(() => selectHosts(inv, 'db[2]', '--limit')).toThrow("--limit 'db[2]': 'db[2]' is out of range: 'db' has 2 hosts (numbered from 0)")
  })
})

describe('dynamic inventories that fail', () => {
  const script = (body: string): Record<string, string> => ({ 'inv.sh': `#!/bin/sh\n${body}\n` })
  async function problemOf(body: string): Promise<string> {
    const dir = await tempInventory(script(body))
    chmodSync(join(dir, 'inv.sh'), 0o755)
    const problems = await problemsOf(loadInventory(join(dir, 'inv.sh')))
    expect(problems).toHaveLength(1)
    expect(problems[0]!.at.file).toBe(join(dir, 'inv.sh'))
    return problems[0]!.message.replace(dir, 'DIR')
  }

  it('a script that exits non-zero, prints no JSON or hangs is a problem with its stderr tail', async () => {
    expect(await problemOf('echo "cloud API said 403" >&2; exit 3')).toBe('dynamic inventory `DIR/inv.sh --list` exited with code 3; its stderr ends:\ncloud API said 403')
    expect(await problemOf('echo "not json"')).toMatch(/^dynamic inventory `DIR\/inv.sh --list` printed something other than JSON/)
    process.env.HAVN_INVENTORY_TIMEOUT = '1'
    try {
      expect(await problemOf('sleep 5')).toBe('dynamic inventory `DIR/inv.sh --list` did not finish within 1 s (HAVN_INVENTORY_TIMEOUT)')
    } finally {
      delete process.env.HAVN_INVENTORY_TIMEOUT
    }
  })
})

describe('an inventory built from terraform output -json', () => {
  it('inventories/terraform reads a saved output into hosts and region groups', async () => {
    process.env.HAVN_TF_OUTPUT = fileURLToPath(new URL('../fixtures/terraform-output.json', import.meta.url))
    try {
      const inv = await loadInventory(fileURLToPath(new URL('../../inventories/terraform/', import.meta.url)))
      expect(inv.hosts.get('burst-fra2')).toMatchObject({ address: '203.0.113.12', user: 'deploy', vars: { region: 'fra' } })
      expect(inv.groups.get('burst')!.children).toEqual(['burst_fra', 'burst_ams'])
      expect(selectHosts(inv, 'burst_fra')).toEqual(['burst-fra1', 'burst-fra2'])
    } finally {
      delete process.env.HAVN_TF_OUTPUT
    }
  })
})
