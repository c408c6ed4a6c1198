import { describe, expect, inject, it } from 'vitest'
import { events, havn } from './cli.ts'
import { ROLE_HOSTS_BY_KIND, ROLE_KINDS } from './hosts.ts'
import { bedHosts, hostsYaml, hostWrites, writeInventory, changeSet, failures, hostSh } from './support.ts'

const bed = inject('testbed')
const ssh = ['--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts]
const PLAYBOOK = 'test/e2e/playbooks/role-mysql.ts'
const CNF = '/etc/mysql/mariadb.conf.d/60-nvme.cnf'
const MIB = 1024 * 1024



const sh = (host: string, script: string): Promise<string> => hostSh(bed, host, script)

/** The server's global variables, as `SHOW GLOBAL VARIABLES` reports them to root over the socket. */
async function variables(host: string, names: readonly string[]): Promise<Record<string, string>> {
  const list = names.map((n) => `'${n}'`).join(',')
  const out = await sh(host, `mariadb -N -B -e "SHOW GLOBAL VARIABLES WHERE Variable_name IN (${list})"`)
  return Object.fromEntries(out.trim().split('\n').map((l) => l.split('\t') as [string, string]))
}

/** The mysqld PID and its uptime in seconds: a restart changes the first and resets the second. */
async function serverLife(host: string): Promise<{ pid: string; uptime: number }> {
  const pid = (await sh(host, 'cat /run/mysqld/mysqld.pid')).trim()
  const uptime = Number((await sh(host, `mariadb -N -B -e "SHOW GLOBAL STATUS LIKE 'Uptime'"`)).split('\t')[1])
  return { pid, uptime }
}

const TUNED = ['datadir', 'default_storage_engine', 'innodb_buffer_pool_size', 'innodb_file_per_table', 'innodb_flush_method', 'innodb_io_capacity', 'innodb_log_file_size', 'net_read_timeout', 'net_write_timeout']

function tuned(pool: number, over: Record<string, string> = {}): Record<string, string> {
  return {
    datadir: '/var/lib/mysql/',
    default_storage_engine: 'InnoDB',
    innodb_buffer_pool_size: String(pool),
    innodb_file_per_table: 'ON',
    innodb_flush_method: 'O_DIRECT',
    innodb_io_capacity: '2000',
    innodb_log_file_size: String(512 * MIB),
    net_read_timeout: '60',
    net_write_timeout: '60',
    ...over,
  }
}

describe.each(ROLE_KINDS)('mysql-nvme role on %s hosts', (kind) => {
  const hosts = [...ROLE_HOSTS_BY_KIND[kind].mysql]
  const [db1, db2] = hosts as [string, string]
  /** Hand-made drift and refused datadirs are proven once, on the init-script set. */
  const itFull = (name: string, fn: () => Promise<void>): void => {
    if (kind === 'bookworm-sysv') it(name, fn)
  }

  /** Inventory for both hosts: db1 gets an explicit pool size, db2 a share of its RAM; `extra` adds vars per host. */
  function inventory(extra: Partial<Record<string, string>> = {}): string {
    const base: Record<string, string> = { [db1]: 'bufferPoolSize: 256M', [db2]: 'bufferPoolFraction: 0.02' }
    return writeInventory({ 'hosts.yaml': hostsYaml(bedHosts(bed, hosts), (n) => [base[n], extra[n]].filter(Boolean).join(', ')) })
  }

  const args = (verb: string, inv: string) => [verb, PLAYBOOK, '-i', inv, ...ssh, '--output', 'json']

  describe('on a real MariaDB', () => {
    it('on fresh hosts: check predicts exactly what run changes, the server runs tuned, a second run changes nothing', async () => {
      const inv = inventory()
      const before = hosts.map((h) => hostWrites(bed, h))

      const check = await havn(args('check', inv))
      const checkEvents = events(check.stdout)
      expect(failures(checkEvents)).toEqual([])
      expect(check.code).toBe(2)
      expect(hosts.map((h) => hostWrites(bed, h))).toEqual(before)
      const predicted = changeSet(checkEvents, ['would-change', 'uncertain'])
      for (const h of hosts) {
        expect(predicted).toEqual(expect.arrayContaining([`${h} file:${CNF} content`, `${h} package:mariadb-server version`]))
      }

      const run = await havn(args('run', inv))
      const runEvents = events(run.stdout)
      expect(failures(runEvents)).toEqual([])
      expect(run.code).toBe(0)
      expect(changeSet(runEvents, ['changed'])).toEqual(predicted)

      // db2's pool is 2% of its RAM, rounded down to 128M so the server keeps it as given.
      const memKb = Number(/MemTotal:\s+(\d+)/.exec(await sh(db2, 'cat /proc/meminfo'))![1])
      const pool2 = Math.max(128 * MIB, Math.floor((memKb * 1024 * 0.02) / (128 * MIB)) * 128 * MIB)
      expect(await variables(db1, TUNED)).toEqual(tuned(256 * MIB))
      expect(await variables(db2, TUNED)).toEqual(tuned(pool2))
      expect(await sh(db1, `cat ${CNF}`)).toContain('[mysqld]\ndatadir = /var/lib/mysql\ndefault-storage-engine = InnoDB\ninnodb_buffer_pool_size = 256M\n')
      // Under systemd the server is mariadb.service's main process, enabled at boot.
      if (kind !== 'bookworm-sysv') {
        for (const h of hosts) expect(await sh(h, 'systemctl is-active mariadb; systemctl is-enabled mariadb; systemctl show -p MainPID --value mariadb')).toBe(`active\nenabled\n${(await serverLife(h)).pid}\n`)
      }

      const again = await havn(args('run', inv))
      const againEvents = events(again.stdout)
      expect(again.code).toBe(0)
      expect(changeSet(againEvents, ['changed', 'would-change', 'uncertain'])).toEqual([])
      for (const h of hosts) expect(againEvents.at(-1)!.hosts[h]).toMatchObject({ changed: 0, failed: 0 })
    })

    itFull('puts dynamic settings changed by hand back live with SET GLOBAL, without a restart', async () => {
      const inv = inventory()
      await sh(db1, `mariadb -e "SET GLOBAL innodb_io_capacity = 300; SET GLOBAL net_read_timeout = 30"`)
      const life = await serverLife(db1)

      const check = await havn(args('check', inv))
      expect(check.code).toBe(2)
      const predicted = changeSet(events(check.stdout), ['would-change', 'uncertain'])
      expect(predicted).toEqual([`${db1} mysql:global innodb_io_capacity`, `${db1} mysql:global net_read_timeout`])

      const run = await havn(args('run', inv))
      const runEvents = events(run.stdout)
      expect(failures(runEvents)).toEqual([])
      expect(changeSet(runEvents, ['changed'])).toEqual(predicted)
      expect(await variables(db1, ['innodb_io_capacity', 'net_read_timeout'])).toEqual({ innodb_io_capacity: '2000', net_read_timeout: '60' })
      expect((await serverLife(db1)).pid).toBe(life.pid)

      // Above the live innodb_io_capacity_max (2000) the server would refuse it: the role raises the max first.
      const high = await havn(args('run', inventory({ [db1]: 'ioCapacity: 5000' })))
      expect(failures(events(high.stdout))).toEqual([])
      expect(changeSet(events(high.stdout), ['changed'])).toEqual([`${db1} file:${CNF} content`, `${db1} mysql:global innodb_io_capacity`])
      expect(await variables(db1, ['innodb_io_capacity', 'innodb_io_capacity_max'])).toEqual({ innodb_io_capacity: '5000', innodb_io_capacity_max: '10000' })
      const back = await havn(args('run', inv))
      expect(changeSet(events(back.stdout), ['changed'])).toEqual([`${db1} file:${CNF} content`, `${db1} mysql:global innodb_io_capacity`])
      expect((await serverLife(db1)).pid).toBe(life.pid)
    })

    it('with allowRestart: false reports a static change as restart pending and leaves the server running', async () => {
      // Put db2 on fsync first (a static setting: the handler restarts the server).
      const fsync = inventory({ [db2]: 'flushMethod: fsync' })
      const first = await havn(args('run', fsync))
      const firstEvents = events(first.stdout)
      expect(failures(firstEvents)).toEqual([])
      expect(changeSet(firstEvents, ['changed'])).toEqual([`${db2} file:${CNF} content`, `${db2} service:mariadb state`, `${db2} service:mariadb static settings`])
      expect((await variables(db2, ['innodb_flush_method'])).innodb_flush_method).toBe('fsync')

      const staged = inventory({ [db2]: 'allowRestart: false' })
      const life = await serverLife(db2)
      const check = await havn(args('check', staged))
      expect(check.code).toBe(2)
      const predicted = changeSet(events(check.stdout), ['would-change', 'uncertain'])
      expect(predicted).toEqual([`${db2} file:${CNF} content`, `${db2} service:mariadb restart`])

      const run = await havn(args('run', staged))
      const runEvents = events(run.stdout)
      expect(failures(runEvents)).toEqual([])
      expect(run.code).toBe(0)
      expect(changeSet(runEvents, ['changed'])).toEqual(predicted)
      const pending = runEvents.find((e) => e.type === 'step:end' && e.host === db2 && e.changes.some((c: { field?: string }) => c.field === 'restart'))!
      expect(pending.changes[0]).toMatchObject({
        resource: 'service:mariadb',
        before: 'running with innodb_flush_method=fsync',
        after: 'restart pending (allowRestart: false): innodb_flush_method=O_DIRECT',
      })
      expect(runEvents.some((e) => e.type === 'step:end' && String(e.role ?? '').includes('handler'))).toBe(false)
      // Not restarted: same process, uptime not reset, still on the old flush method; the file is staged.
      const after = await serverLife(db2)
      expect(after.pid).toBe(life.pid)
      expect(after.uptime).toBeGreaterThanOrEqual(life.uptime)
      expect((await variables(db2, ['innodb_flush_method'])).innodb_flush_method).toBe('fsync')
      expect(await sh(db2, `grep flush_method ${CNF}`)).toBe('innodb_flush_method = O_DIRECT\n')

      // In the maintenance window: allowed to restart, it converges and then stays put.
      const window = await havn(args('run', inventory()))
      const windowEvents = events(window.stdout)
      expect(failures(windowEvents)).toEqual([])
      expect(changeSet(windowEvents, ['changed'])).toEqual([`${db2} service:mariadb state`, `${db2} service:mariadb static settings`])
      expect((await serverLife(db2)).pid).not.toBe(life.pid)
      expect((await variables(db2, ['innodb_flush_method'])).innodb_flush_method).toBe('O_DIRECT')
      const again = await havn(args('run', inventory()))
      expect(changeSet(events(again.stdout), ['changed'])).toEqual([])
    })

    itFull('fails with a clear error before writing anything when the datadir rejects O_DIRECT, and the server stays up', async () => {
      await sh(db1, 'mkdir -p /srv/ramdata && mount -t ramfs ramfs /srv/ramdata')
      try {
        const cnf = await sh(db1, `sha256sum ${CNF}`)
        const life = await serverLife(db1)
        const res = await havn(args('run', inventory({ [db1]: 'datadir: /srv/ramdata, ioCapacity: 3000' })))
        const evs = events(res.stdout)
        expect(res.code).toBe(1)
        const failed = failures(evs)
        expect(failed.map((e) => [e.host, e.step])).toEqual([[db1, 'datadir /srv/ramdata']])
        expect(failed[0]!.error.message).toMatch(/datadir \/srv\/ramdata is ramfs and rejects O_DIRECT \(.*Invalid argument\)/)
        expect(failed[0]!.error.message).toContain("flushMethod: 'fsync'")
        // Nothing was written and the server was not touched; the other host was fine.
        expect(await sh(db1, `sha256sum ${CNF}`)).toBe(cnf)
        expect((await serverLife(db1)).pid).toBe(life.pid)
        expect((await variables(db1, ['innodb_io_capacity'])).innodb_io_capacity).toBe('2000')
        expect(await sh(db1, 'ls -A /srv/ramdata')).toBe('')
        expect(evs.at(-1)!.hosts[db2]).toMatchObject({ failed: 0, changed: 0 })
      } finally {
        await sh(db1, 'umount /srv/ramdata && rmdir /srv/ramdata')
      }
    })

    itFull('refuses a datadir that holds no data while the server runs elsewhere, instead of restarting into an empty server', async () => {
      await sh(db2, 'mkdir -p /srv/newdata')
      try {
        const cnf = await sh(db2, `sha256sum ${CNF}`)
        const life = await serverLife(db2)
        const res = await havn(args('run', inventory({ [db2]: 'datadir: /srv/newdata' })))
        expect(res.code).toBe(1)
        const failed = failures(events(res.stdout))
        expect(failed.map((e) => [e.host, e.step])).toEqual([[db2, 'datadir /srv/newdata']])
        expect(failed[0]!.error.message).toContain('the server runs on datadir /var/lib/mysql, and /srv/newdata holds no initialised data directory')
        expect(await sh(db2, `sha256sum ${CNF}`)).toBe(cnf)
        expect((await serverLife(db2)).pid).toBe(life.pid)
        expect(await sh(db2, 'ls -A /srv/newdata')).toBe('')
      } finally {
        await sh(db2, 'rmdir /srv/newdata')
      }
    })
  })
})
