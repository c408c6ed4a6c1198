import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { describeHost, loadInventory } from '../../src/inventory/index.ts'
import { decryptVault, type VaultSecret } from '../../src/inventory/vault/decrypt.ts'
import { problemsOf, removeTempInventories, tempInventory } from '../fixtures/inventories/temp-inventory.ts'

afterAll(removeTempInventories)

// Envelopes written by ansible-vault 2.14 (`encrypt`, `encrypt --vault-id prod@…`, `encrypt_string`).
const FIXTURES = fileURLToPath(new URL('../fixtures/ansible/vault/', import.meta.url))
const read = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8')
const secret = (file: string, label = 'default'): VaultSecret => ({ label, password: Buffer.from(read(file).trim()), origin: file })
const PLAIN = read('vars-plain.yml')

describe('Ansible Vault envelopes open as ansible-vault wrote them', () => {
  it('opens format 1.1 and 1.2 (with a vault id) with the right password', () => {
    expect(decryptVault(read('group-vars-1.1.vault'), [secret('pass.txt')]).toString()).toBe(PLAIN)
    expect(decryptVault(read('group-vars-1.2.vault'), [secret('pass.txt'), secret('pass-b.txt', 'prod')]).toString()).toBe(PLAIN)
    // The label only orders the attempts: a 1.2 vault opens with an unlabelled password too, as in Ansible.
    expect(decryptVault(read('group-vars-1.2.vault'), [secret('pass-b.txt')]).toString()).toBe(PLAIN)
  })

  it('refuses a wrong password, a missing one and a damaged envelope, saying which', () => {
    expect(() => decryptVault(read('group-vars-1.2.vault'), [secret('pass.txt')])).toThrow(/the vault password given \(pass.txt\) does not open it; it was encrypted for vault id 'prod'/)
    expect(() => decryptVault(read('group-vars-1.1.vault'), [])).toThrow(/no vault password was given/)
    const [header, ...body] = read('group-vars-1.1.vault').trim().split('\n')
    const [salt, mac, cipher = ''] = Buffer.from(body.join(''), 'hex').toString('latin1').split('\n')
    const flipped = `${cipher[0] === '0' ? '1' : '0'}${cipher.slice(1)}`
    const damaged = `${header}\n${Buffer.from([salt, mac, flipped].join('\n'), 'latin1').toString('hex')}\n`
    expect(() => decryptVault(damaged, [secret('pass.txt')])).toThrow(/does not open it/)
    expect(() => decryptVault('$ANSIBLE_VAULT;1.1;AES256\nzz\n', [secret('pass.txt')])).toThrow(/not valid hexadecimal/)
  })
})

describe('vaulted inventories', () => {
  const vaulted = fileURLToPath(new URL('../fixtures/ansible/inventories/vaulted/', import.meta.url))
  const ids = [secret('pass.txt'), secret('pass-b.txt', 'prod')]

  it('decrypts whole files and !vault values, resolves plain references, and lists every revealed value as a secret', async () => {
    const inv = await loadInventory(join(vaulted, 'hosts.ini'), { vault: ids })
    const web1 = inv.hosts.get('web1')!
    expect(web1.vars).toMatchObject({
      db_password: 'canary-9f3e1c-vaulted',
      api_token: 'web1-token-5c1d',
      chain: 'canary-9f3e1c-vaulted',
      filtered: '{{ vault_api_token | upper }}',
      inline_secret: 'inline-canary-42d',
      plain: 'visible',
    })
    expect(web1.templates).toEqual({ db_password: '{{ vault_db_password }}', api_token: '{{ vault_api_token }}', chain: '{{ db_password }}' })
    expect([...inv.secrets].sort()).toEqual(['canary-9f3e1c-vaulted', 'inline-canary-42d', 'tok-77aa', 'web1-token-5c1d'])
    expect(inv.secrets).not.toContain('visible')
  })

  it('havn inventory --host hides every value a vault revealed, also where a reference carried it', async () => {
    const inv = await loadInventory(join(vaulted, 'hosts.ini'), { vault: ids })
    const text = describeHost(inv, 'web1')
    for (const key of ['vault_db_password', 'db_password', 'api_token', 'chain', 'inline_secret']) expect(text).toMatch(new RegExp(`^  ${key} += +\\(sensitive, hidden\\) +\\((group|host_)_?vars/`, 'm'))
    expect(text).toMatch(/^  plain += "visible" +\(group_vars\/all\/main\.yml:2, group all\)$/m)
    expect(text).not.toMatch(/canary|web1-token|inline-canary/)
  })

  it('names every file a missing or wrong password leaves closed, without any plaintext or ciphertext', async () => {
    const problems = await problemsOf(loadInventory(join(vaulted, 'hosts.ini'), { vault: [secret('pass.txt')] }))
    expect(problems).toEqual([{ message: expect.stringMatching(/^encrypted with Ansible Vault, and the vault password given \(pass.txt\) does not open it; it was encrypted for vault id 'prod'/), at: { file: join(vaulted, 'host_vars/web1/vault.yml') } }])
    const none = await problemsOf(loadInventory(join(vaulted, 'hosts.ini')))
    expect(none.map((p) => [p.at.file?.slice(vaulted.length), p.at.line])).toEqual([
      ['group_vars/all/vault.yml', undefined],
      ['group_vars/web.yml', 2],
      ['host_vars/web1/vault.yml', undefined],
    ])
    expect(JSON.stringify(none)).not.toMatch(/canary|3730646265/)
  })
})

describe('a vaulted inventory file', () => {
  it('opens as Ansible opens it, and every value in it is a secret', async () => {
    // ansible-inventory -i inventory.ini.vault --vault-password-file pass.txt: db1 at 192.0.2.7 with the password below.
    const inv = await loadInventory(join(FIXTURES, 'inventory.ini.vault'), { vault: [secret('pass.txt')] })
    expect(inv.hosts.get('db1')).toMatchObject({ address: '192.0.2.7', vars: { db_root_password: 'ini-vaulted-canary-31' } })
    expect(inv.secrets).toContain('ini-vaulted-canary-31')
    expect(inv.warnings).toEqual([])
  })
})

describe('plain references', () => {
  it('resolve through connection keys and inventory_hostname, and a cycle is a problem at its line', async () => {
    const dir = await tempInventory({
      hosts: '[web]\nweb1.oslo private_ip=10.0.0.5 ansible_host="{{ private_ip }}" me="{{ inventory_hostname_short }}"\nweb2 a="{{ b }}" b="{{ a }}"\n',
    })
    const problems = await problemsOf(loadInventory(dir))
    expect(problems).toEqual([{ message: 'vars refer to each other in a cycle: {{ b }} → {{ a }} → {{ b }}', at: { file: join(dir, 'hosts'), line: 3 } }])
    const ok = await tempInventory({ hosts: '[web]\nweb1.oslo private_ip=10.0.0.5 ansible_host="{{ private_ip }}" me="{{ inventory_hostname_short }}"\nweb2 ansible_host="{{ nowhere }}"\n' })
    const bad = await problemsOf(loadInventory(ok))
    expect(bad).toEqual([{ message: "ansible_host must be a host name or IP address (a non-empty string without spaces), not the string '{{ nowhere }}'", at: { file: join(ok, 'hosts'), line: 3, host: 'web2' } }])
    const fine = await tempInventory({ hosts: '[web]\nweb1.oslo private_ip=10.0.0.5 ansible_host="{{ private_ip }}" me="{{ inventory_hostname_short }}"\n' })
    const inv = await loadInventory(fine)
    expect(inv.hosts.get('web1.oslo')).toMatchObject({ address: '10.0.0.5', vars: { me: 'web1', private_ip: '10.0.0.5' } })
  })

  it('rejects a connection transport havn cannot honour, naming file and line', async () => {
    const dir = await tempInventory({ hosts: '[win]\nwin1 ansible_connection=winrm\nlocal1 ansible_connection=local\n' })
    expect(await problemsOf(loadInventory(dir))).toEqual([
      { message: "ansible_connection must be one of ssh, smart, paramiko, local (havn connects over SSH, or runs locally), not the string 'winrm'", at: { file: join(dir, 'hosts'), line: 2, column: 1, host: 'win1' } },
    ])
  })
})
