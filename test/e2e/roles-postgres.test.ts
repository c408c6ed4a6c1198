import { describe, expect, inject, it } from 'vitest'
import { hostExec } from '../testbed/index.ts'
import { events, havn, type CliResult } from './cli.ts'
import { releaseOf, ROLE_HOSTS_BY_KIND, ROLE_KINDS } from './hosts.ts'
import { bedHosts, hostWrites, writeInventory, changeSet, failures, hostSh } from './support.ts'

const bed = inject('testbed')
const ssh = ['--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts]
const PLAYBOOK = 'test/e2e/playbooks/role-postgres.ts'
/** The app's password: only ever in the inventory and the client's ~/.pgpass. */
const PASSWORD = `pw-${Math.random().toString(36).slice(2)}-Zq9`

describe.each(ROLE_KINDS)('postgres-wan-tuning role on %s hosts', (kind) => {
  const [DB, CLIENT, STRANGER] = ROLE_HOSTS_BY_KIND[kind].postgres as [string, string, string]
  const ALL = [DB, CLIENT, STRANGER]
  const PG = releaseOf(kind).postgres

  /** The mesh (db = hub 10.10.0.1, client .2, stranger .3) and the db's vars; only the client is a listed peer. */
  function inventory(workMem = '16MB'): string {
    const line = (name: string, extra: string) => {
      const [h] = bedHosts(bed, [name])
      return `            ${name}: { address: ${h!.address}, port: ${h!.port}${extra} }`
    }
    const yaml = [
      'all:',
      '  vars:',
      `    hub: ${DB}`,
      '  children:',
      '    wg_mesh:',
      '      children:',
      '        wg_hub:',
      '          hosts:',
      line(DB, ', tunnelAddress: 10.10.0.1/24'),
      '        wg_spokes:',
      '          hosts:',
      line(CLIENT, ', tunnelAddress: 10.10.0.2/32'),
      line(STRANGER, ', tunnelAddress: 10.10.0.3/32'),
      '    db:',
      '      hosts:',
      `        ${DB}:`,
      '          listenAddress: 10.10.0.1',
      `          workMem: ${workMem}`,
      '          allowedPeers: [{ address: 10.10.0.2/32, database: app, user: app }]',
      `          users: [{ name: app, password: "${PASSWORD}", database: app }]`,
    ]
    return writeInventory({ 'hosts.yaml': `${yaml.join('\n')}\n` })
  }

  const outputs: string[] = []

  async function cli(verb: 'check' | 'run', inv: string): Promise<CliResult> {
    const res = await havn([verb, PLAYBOOK, '-i', inv, ...ssh, '--output', 'json'], { timeoutMs: 170_000 })
    outputs.push(res.stdout, res.stderr)
    return res
  }



  const sh = (host: string, script: string): Promise<string> => hostSh(bed, host, script)

  /** `SHOW name` on the db as the postgres admin over the local socket. */
  async function show(name: string): Promise<string> {
    return (await sh(DB, `cd / && runuser -u postgres -- psql -X -A -t -c 'SHOW ${name}'`)).trim()
  }

  async function postmasterPid(): Promise<string> {
    return (await sh(DB, `head -1 /var/lib/postgresql/${PG}/main/postmaster.pid`)).trim()
  }

  /** psql from `host` to the db's tunnel address as app (password from ~/.pgpass); code, output and error. */
  function psqlFrom(host: string, sql: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return hostExec(bed, host, `psql "host=10.10.0.1 dbname=app user=app sslmode=require connect_timeout=5" -X -A -t -c ${JSON.stringify(sql)}`, 30_000)
  }

  describe.sequential(`PostgreSQL ${PG} behind a WireGuard hub`, () => {
    const inv = inventory()

    it('check predicts exactly what the run changes and writes nothing; a second run changes nothing', async () => {
      const before = ALL.map((h) => hostWrites(bed, h))
      const check = await cli('check', inv)
      const checkEvents = events(check.stdout)
      expect(failures(checkEvents)).toEqual([])
      expect(check.code).toBe(2)
      expect(ALL.map((h) => hostWrites(bed, h))).toEqual(before)
      const predicted = changeSet(checkEvents, ['would-change', 'uncertain'])
      for (const c of [
        `${DB} file:/etc/postgresql/${PG}/main/conf.d/60-havn-wan.conf content`,
        `${DB} file:/etc/postgresql/${PG}/main/pg_hba.conf content`,
        `${DB} postgres:role/app password`,
        `${DB} postgres:database/app owner`,
        `${DB} postgres:cluster/${PG}/main restart`,
      ]) expect(predicted).toContain(c)

      const run = await cli('run', inv)
      const runEvents = events(run.stdout)
      expect(failures(runEvents)).toEqual([])
      expect(run.code).toBe(0)
      expect(changeSet(runEvents, ['changed'])).toEqual(predicted)

      const again = await cli('run', inv)
      const againEvents = events(again.stdout)
      expect(failures(againEvents)).toEqual([])
      expect(again.code).toBe(0)
      expect(changeSet(againEvents, ['changed', 'would-change', 'uncertain'])).toEqual([])
      for (const h of ALL) expect(againEvents.at(-1)!.hosts[h]).toMatchObject({ changed: 0, failed: 0 })
    })

    it('the listed peer connects through the tunnel with SSL and scram-sha-256', async () => {
      await sh(CLIENT, `umask 077; printf '%s\\n' '10.10.0.1:5432:app:app:${PASSWORD}' > /root/.pgpass`)
      const res = await psqlFrom(CLIENT, 'select ssl, version from pg_stat_ssl where pid = pg_backend_pid()')
      expect(res.stderr).toBe('')
      expect(res.stdout.trim()).toMatch(/^t\|TLSv1\.[23]$/)
      expect(await sh(DB, "cd / && runuser -u postgres -- psql -X -A -t -c \"select left(rolpassword, 14) from pg_authid where rolname = 'app'\"")).toBe('SCRAM-SHA-256$\n')
      // scram, not trust: a wrong password is refused.
      const wrong = await hostExec(bed, CLIENT, 'PGPASSFILE=/dev/null PGPASSWORD=wrong-password psql "host=10.10.0.1 dbname=app user=app sslmode=require connect_timeout=5" -X -c "select 1"', 30_000)
      expect(wrong.code).not.toBe(0)
      expect(wrong.stderr).toMatch(/password authentication failed for user "app"/)
    })

    it('SHOW returns every tuned value in a client session over the tunnel (keepalives read 0 on a Unix socket)', async () => {
      const want: Record<string, string> = {
        tcp_keepalives_idle: '60',
        tcp_keepalives_interval: '10',
        tcp_keepalives_count: '3',
        work_mem: '16MB',
        maintenance_work_mem: '256MB',
        ssl: 'on',
        password_encryption: 'scram-sha-256',
        listen_addresses: '10.10.0.1',
      }
      const names = Object.keys(want)
      const res = await hostExec(bed, CLIENT, `psql "host=10.10.0.1 dbname=app user=app sslmode=require connect_timeout=5" -X -A -t ${names.map((n) => `-c 'SHOW ${n}'`).join(' ')}`, 30_000)
      expect(res.stderr).toBe('')
      const values = res.stdout.trim().split('\n')
      const got = Object.fromEntries(names.map((n, i) => [n, values[i]]))
      expect(got).toEqual(want)
    })

    it('a host that is not a listed peer is refused, through the tunnel and over the bed network', async () => {
      await sh(STRANGER, `umask 077; printf '%s\\n' '*:5432:app:app:${PASSWORD}' > /root/.pgpass`)
      const tunnel = await psqlFrom(STRANGER, 'select 1')
      expect(tunnel.code).not.toBe(0)
      expect(tunnel.stderr).toMatch(/no pg_hba\.conf entry for host "10\.10\.0\.3", user "app", database "app", SSL encryption/)
      const [db] = bedHosts(bed, [DB])
      const direct = await hostExec(bed, STRANGER, `psql "host=${db!.address} dbname=app user=app sslmode=require connect_timeout=5" -X -c "select 1"`, 30_000)
      expect(direct.code).not.toBe(0)
      expect(direct.stderr).toMatch(/Connection refused/)
    })

    it('changing work_mem reloads without a restart', async () => {
      const pid = await postmasterPid()
      const run = await cli('run', inventory('32MB'))
      const runEvents = events(run.stdout)
      expect(failures(runEvents)).toEqual([])
      expect(run.code).toBe(0)
      expect(changeSet(runEvents, ['changed'])).toEqual([
        `${DB} file:/etc/postgresql/${PG}/main/conf.d/60-havn-wan.conf content`,
        `${DB} service:postgresql state`,
      ])
      expect(await postmasterPid()).toBe(pid)
      let workMem = ''
      for (let i = 0; i < 20 && workMem !== '32MB'; i++) {
        workMem = await show('work_mem')
        if (workMem !== '32MB') await new Promise((r) => setTimeout(r, 250))
      }
      expect(workMem).toBe('32MB')
    })

    it('never prints the password', () => {
      for (const o of outputs) expect(o).not.toContain(PASSWORD)
    })
  })
})
