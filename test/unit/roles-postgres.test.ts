import { describe, expect, it } from 'vitest'
import { parseLiveCluster } from '../../roles/postgres-wan-tuning/facts.ts'
import { parseWanConf, renderHba, renderWanConf, SNAKEOIL, wanSettings } from '../../roles/postgres-wan-tuning/render.ts'
import { defaults, type PostgresWanTuningVars } from '../../roles/postgres-wan-tuning/schema.ts'
import { scramMatches, scramVerifier } from '../../roles/postgres-wan-tuning/scram.ts'

const vars: PostgresWanTuningVars = { ...defaults, listenAddress: '10.10.0.1' }

describe('postgres-wan-tuning render', () => {
  it('writes the seed settings sorted by name, quoting strings', () => {
    expect(renderWanConf(wanSettings(vars, SNAKEOIL))).toBe(
      [
        '# Managed by havn (role postgres-wan-tuning); local edits are overwritten.',
        '# WAN tuning behind WireGuard: keepalives detect dead tunnels, SSL and SCRAM even inside the tunnel.',
        "listen_addresses = '10.10.0.1'",
        'maintenance_work_mem = 256MB',
        "password_encryption = 'scram-sha-256'",
        'ssl = on',
        "ssl_cert_file = '/etc/ssl/certs/ssl-cert-snakeoil.pem'",
        "ssl_key_file = '/etc/ssl/private/ssl-cert-snakeoil.key'",
        'tcp_keepalives_count = 3',
        'tcp_keepalives_idle = 60',
        'tcp_keepalives_interval = 10',
        'work_mem = 16MB',
        '',
      ].join('\n'),
    )
  })

  it('reads back what it wrote, for the restart prediction', () => {
    const parsed = parseWanConf(renderWanConf(wanSettings({ ...vars, listenAddress: 'localhost,10.10.0.1' }, SNAKEOIL)))
    expect(parsed.get('listen_addresses')).toBe('localhost,10.10.0.1')
    expect(parsed.get('work_mem')).toBe('16MB')
    expect(parsed.size).toBe(10)
  })

  it('pg_hba.conf keeps local peer lines and admits only the listed peers, sorted and de-duplicated', () => {
    const a = renderHba([
      { address: '10.10.0.3/32' },
      { address: '10.10.0.2/32', database: 'app', user: 'app' },
      { address: '10.10.0.3/32' },
    ])
    const b = renderHba([{ address: '10.10.0.2/32', database: 'app', user: 'app' }, { address: '10.10.0.3/32' }])
    expect(a).toBe(b)
    const rules = a.split('\n').filter((l) => l && !l.startsWith('#'))
    expect(rules.map((l) => l.split(/\s+/))).toEqual([
      ['local', 'all', 'postgres', 'peer'],
      ['local', 'all', 'all', 'peer'],
      ['local', 'replication', 'all', 'peer'],
      ['hostssl', 'app', 'app', '10.10.0.2/32', 'scram-sha-256'],
      ['hostssl', 'all', 'all', '10.10.0.3/32', 'scram-sha-256'],
    ])
    expect(renderHba([]).split('\n').some((l) => l.startsWith('host'))).toBe(false)
  })
})

describe('postgres-wan-tuning SCRAM verifiers', () => {
  it('builds the verifier layout PostgreSQL stores and verifies only the right password (the e2e login proves the server accepts it)', () => {
    const salt = Buffer.from('c2FsdHNhbHRzYWx0c2FsdA==', 'base64')
    const v = scramVerifier('secret-pass', salt)
    expect(v).toMatch(/^SCRAM-SHA-256\$4096:c2FsdHNhbHRzYWx0c2FsdA==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/)
    expect(scramMatches(v, 'secret-pass')).toBe(true)
    expect(scramMatches(v, 'secret-pasS')).toBe(false)
    expect(scramMatches('md5abc', 'secret-pass')).toBe(false)
    expect(scramMatches('', 'secret-pass')).toBe(false)
    expect(scramVerifier('x'.repeat(8))).not.toBe(scramVerifier('x'.repeat(8)))
  })
})

describe('postgres-wan-tuning live cluster fact', () => {
  it('parses settings, pending restarts, roles and databases', () => {
    const out = 'state=online\nport=5432\nset\tlisten_addresses\tlocalhost\tpostmaster\tt\nset\twork_mem\t16MB\tuser\tf\nrole\tapp\tt\tSCRAM-SHA-256$4096:x$y:z\ndb\tapp\tapp\ndb\tpostgres\tpostgres\nrc=0\n'
    expect(parseLiveCluster(out, '')).toEqual({
      state: 'online',
      port: 5432,
      reachable: true,
      settings: { listen_addresses: { setting: 'localhost', context: 'postmaster' }, work_mem: { setting: '16MB', context: 'user' } },
      pendingRestart: ['listen_addresses'],
      roles: { app: { canLogin: true, verifier: 'SCRAM-SHA-256$4096:x$y:z' } },
      databases: { app: 'app', postgres: 'postgres' },
    })
  })

  it('says why a cluster cannot be queried', () => {
    expect(parseLiveCluster('state=absent\n', '')).toMatchObject({ reachable: false, error: 'PostgreSQL is not installed' })
    expect(parseLiveCluster('state=down\nport=5432\n', '')).toMatchObject({ reachable: false, error: 'the cluster is down' })
    expect(parseLiveCluster('state=online\nport=5432\nrc=2\n', 'psql: error: connection refused\n')).toMatchObject({ reachable: false, error: 'psql as postgres exited 2: psql: error: connection refused' })
  })
})
