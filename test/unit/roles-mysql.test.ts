import { describe, expect, it } from 'vitest'
import { parseLiveServer, parseODirectProbe } from '../../roles/mysql-nvme/facts.ts'
import { configPath, renderConfig } from '../../roles/mysql-nvme/render.ts'
import { defaults, type MysqlNvmeVars } from '../../roles/mysql-nvme/schema.ts'
import { bufferPoolBytes, desiredSettings, formatSize, parseSize } from '../../roles/mysql-nvme/settings.ts'
import { liveDifferences } from '../../roles/mysql-nvme/steps.ts'

const MIB = 1024 * 1024
const GIB = 1024 * MIB
const vars = (over: Partial<MysqlNvmeVars> = {}): MysqlNvmeVars => ({ ...defaults, ...over })

describe('mysql-nvme sizes', () => {
  it('parses and spells sizes exactly', () => {
    expect(parseSize('512M')).toBe(512 * MIB)
    expect(parseSize('4g')).toBe(4 * GIB)
    expect(parseSize('64K')).toBe(65536)
    expect(parseSize(1048576)).toBe(MIB)
    expect(() => parseSize('1.5G')).toThrow(/not a size/)
    expect([formatSize(4 * GIB), formatSize(1664 * MIB), formatSize(65536), formatSize(1000)]).toEqual(['4G', '1664M', '64K', '1000'])
  })

  it('rounds the buffer pool to 128M: a RAM share down, an explicit size up, never below 128M', () => {
    expect(bufferPoolBytes(vars({ bufferPoolFraction: 0.7 }), 4 * GIB)).toBe(2816 * MIB) // 2867.2M -> 22 x 128M
    expect(bufferPoolBytes(vars({ bufferPoolFraction: 0.01 }), 4 * GIB)).toBe(128 * MIB)
    expect(bufferPoolBytes(vars({ bufferPoolSize: '3G' }), 0)).toBe(3 * GIB)
    expect(bufferPoolBytes(vars({ bufferPoolSize: '200M' }), 0)).toBe(256 * MIB)
    expect(() => bufferPoolBytes(vars(), 0)).toThrow(/set bufferPoolSize/)
  })
})

describe('mysql-nvme config', () => {
  it('renders the seed defaults as a sorted [mysqld] section', () => {
    expect(renderConfig(desiredSettings(vars(), 4 * GIB))).toBe(
      [
        '# Managed by havn (role mysql-nvme); local edits are overwritten on the next run.',
        '# NVMe tuning: O_DIRECT bypasses the page cache, so the buffer pool is the only cache.',
        '[mysqld]',
        'datadir = /var/lib/mysql',
        'default-storage-engine = InnoDB',
        'innodb_buffer_pool_size = 2816M',
        'innodb_file_per_table = 1',
        'innodb_flush_method = O_DIRECT',
        'innodb_io_capacity = 2000',
        'innodb_log_file_size = 512M',
        'net_read_timeout = 60',
        'net_write_timeout = 60',
        '',
      ].join('\n'),
    )
  })

  it('is the same text for the same vars and RAM, and follows each var', () => {
    const a = renderConfig(desiredSettings(vars({ bufferPoolSize: '4G', filePerTable: false, flushMethod: 'fsync', logFileSize: 1000000 }), 8 * GIB))
    expect(renderConfig(desiredSettings(vars({ bufferPoolSize: '4G', filePerTable: false, flushMethod: 'fsync', logFileSize: 1000000 }), 8 * GIB))).toBe(a)
    expect(a).toContain('innodb_buffer_pool_size = 4G\n')
    expect(a).toContain('innodb_file_per_table = 0\n')
    expect(a).toContain('innodb_flush_method = fsync\n')
    expect(a).toContain('innodb_log_file_size = 1M\n') // rounded up to whole MiB
    expect(configPath('mariadb')).toBe('/etc/mysql/mariadb.conf.d/60-nvme.cnf')
    expect(configPath('mysql')).toBe('/etc/mysql/mysql.conf.d/60-nvme.cnf')
  })
})

describe('mysql-nvme live state', () => {
  const out = [
    'client=mariadb',
    'var\tdatadir\t/var/lib/mysql/',
    'var\tdefault_storage_engine\tInnoDB',
    'var\tinnodb_buffer_pool_size\t134217728',
    'var\tinnodb_file_per_table\tON',
    'var\tinnodb_flush_method\tfsync',
    'var\tinnodb_io_capacity\t200',
    'var\tinnodb_log_file_size\t100663296',
    'var\tnet_read_timeout\t30',
    'var\tnet_write_timeout\t60',
    'rc=0',
    'ro\tinnodb_flush_method\tYES',
    'ro\tinnodb_log_file_size\tNO',
    'ro\tdatadir\tYES',
  ].join('\n')

  it('splits differing settings into live (SET GLOBAL) and restart-only by the server’s own read-only flags', () => {
    const live = parseLiveServer(out, '')
    expect(live.reachable).toBe(true)
    const diff = liveDifferences(desiredSettings(vars({ bufferPoolSize: '128M' }), 0), live)
    expect(diff.dynamic.map((s) => s.variable)).toEqual(['innodb_io_capacity', 'innodb_log_file_size', 'net_read_timeout'])
    expect(diff.static.map((s) => s.variable)).toEqual(['innodb_flush_method'])
  })

  it('treats the redo log size as restart-only where the server does not say (MySQL)', () => {
    const live = parseLiveServer(out.split('\n').filter((l) => !l.startsWith('ro')).join('\n'), '')
    const diff = liveDifferences(desiredSettings(vars({ bufferPoolSize: '128M' }), 0), live)
    expect(diff.static.map((s) => s.variable)).toEqual(['innodb_flush_method', 'innodb_log_file_size'])
  })

  it('reports an unreachable server with the client error', () => {
    expect(parseLiveServer('client=none\n', '')).toMatchObject({ reachable: false, error: 'no mariadb or mysql client is installed' })
    const down = parseLiveServer('client=mariadb\nrc=1\n', "ERROR 2002 (HY000): Can't connect to local server through socket '/run/mysqld/mysqld.sock' (2)\n")
    expect(down.reachable).toBe(false)
    expect(down.error).toMatch(/mariadb client exited 1: ERROR 2002/)
  })

  it('parses the O_DIRECT probe', () => {
    expect(parseODirectProbe('initialised=yes\nprobed=/var/lib/mysql\nfstype=ext2/ext3\nodirect=ok\n')).toEqual({ initialised: true, probed: '/var/lib/mysql', fsType: 'ext2/ext3', ok: true })
    expect(parseODirectProbe("probed=/srv/r\nfstype=ramfs\nodirect=failed\nerror=dd: failed to open '/srv/r/f': Invalid argument\n")).toEqual({
      initialised: false,
      probed: '/srv/r',
      fsType: 'ramfs',
      ok: false,
      error: "dd: failed to open '/srv/r/f': Invalid argument",
    })
  })
})
