import type { ByteSize, MysqlNvmeVars } from './schema.ts'

const KIB = 1024
const MIB = 1024 * KIB
const GIB = 1024 * MIB

/** The buffer pool granularity the role rounds to, so the server never adjusts the value itself. */
export const POOL_STEP = 128 * MIB

/** One tuned server variable: how the config file spells it and how the running server reports it. */
export interface Setting {
  /** Variable name as `SHOW GLOBAL VARIABLES` lists it. */
  readonly variable: string
  /** Option name in the config file. */
  readonly key: string
  /** Value as written in the config file. */
  readonly text: string
  /** Value `SHOW GLOBAL VARIABLES` reports once the setting is in effect (compared case-insensitively). */
  readonly live: string
  /** SQL expression for `SET GLOBAL` (quoted where it is a string). */
  readonly sql: string
}

/** Bytes of a {@link ByteSize}; throws naming the value when it is not a size. */
export function parseSize(size: ByteSize): number {
  if (typeof size === 'number') {
    if (!Number.isSafeInteger(size) || size <= 0) throw new Error(`size ${size} is not a positive whole number of bytes`)
    return size
  }
  const m = /^([1-9][0-9]*)([KMGkmg]?)$/.exec(size)
  if (!m?.[1]) throw new Error(`size '${size}' is not a size like '512M' or '4G'`)
  const unit = (m[2] ?? '').toUpperCase()
  return Number(m[1]) * (unit === 'G' ? GIB : unit === 'M' ? MIB : unit === 'K' ? KIB : 1)
}

/** The shortest exact spelling of a byte count for a config file: `4G`, `512M`, `64K` or plain bytes. */
export function formatSize(bytes: number): string {
  if (bytes % GIB === 0) return `${bytes / GIB}G`
  if (bytes % MIB === 0) return `${bytes / MIB}M`
  if (bytes % KIB === 0) return `${bytes / KIB}K`
  return String(bytes)
}

/**
 * `innodb_buffer_pool_size` in bytes: an explicit size rounded up to a multiple of 128M, or the
 * given share of RAM rounded down to one (at least 128M). Throws when RAM is unknown and no size is given.
 */
export function bufferPoolBytes(v: Pick<MysqlNvmeVars, 'bufferPoolSize' | 'bufferPoolFraction'>, memTotalBytes: number): number {
  if (v.bufferPoolSize !== undefined) return Math.max(POOL_STEP, Math.ceil(parseSize(v.bufferPoolSize) / POOL_STEP) * POOL_STEP)
  if (!(memTotalBytes > 0)) throw new Error('the host did not report its RAM (/proc/meminfo); set bufferPoolSize explicitly')
  return Math.max(POOL_STEP, Math.floor((memTotalBytes * v.bufferPoolFraction) / POOL_STEP) * POOL_STEP)
}

/** The datadir as the server reports it (`@@datadir` ends in a slash). */
function datadirLive(path: string): string {
  return path === '/' ? '/' : `${path.replace(/\/+$/, '')}/`
}

/**
 * Every setting the role manages, sorted by config key, from the vars and the host's RAM. Sizes
 * are spelled exactly (no rounding left to the server): the redo log is rounded up to whole MiB.
 */
export function desiredSettings(v: MysqlNvmeVars, memTotalBytes: number): Setting[] {
  const pool = bufferPoolBytes(v, memTotalBytes)
  const log = Math.ceil(parseSize(v.logFileSize) / MIB) * MIB
  const num = (variable: string, n: number, key = variable): Setting => ({ variable, key, text: formatSize(n), live: String(n), sql: String(n) })
  const plain = (variable: string, n: number): Setting => ({ variable, key: variable, text: String(n), live: String(n), sql: String(n) })
  const out: Setting[] = [
    { variable: 'datadir', key: 'datadir', text: v.datadir, live: datadirLive(v.datadir), sql: sqlString(v.datadir) },
    { variable: 'default_storage_engine', key: 'default-storage-engine', text: v.defaultStorageEngine, live: v.defaultStorageEngine, sql: sqlString(v.defaultStorageEngine) },
    num('innodb_buffer_pool_size', pool),
    { variable: 'innodb_file_per_table', key: 'innodb_file_per_table', text: v.filePerTable ? '1' : '0', live: v.filePerTable ? 'ON' : 'OFF', sql: v.filePerTable ? 'ON' : 'OFF' },
    { variable: 'innodb_flush_method', key: 'innodb_flush_method', text: v.flushMethod, live: v.flushMethod, sql: sqlString(v.flushMethod) },
    plain('innodb_io_capacity', v.ioCapacity),
    num('innodb_log_file_size', log),
    plain('net_read_timeout', v.netReadTimeout),
    plain('net_write_timeout', v.netWriteTimeout),
  ]
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
}

/** A single-quoted SQL string literal; the schema already limits these values to safe characters. */
export function sqlString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`
}

/** True when the running server's value is the wanted one. */
export function sameValue(setting: Setting, live: string | undefined): boolean {
  return live !== undefined && live.trim().toLowerCase() === setting.live.toLowerCase()
}

/**
 * Variables that only take effect at server start, for servers that cannot say so themselves
 * (MySQL, and MariaDB before `information_schema.SYSTEM_VARIABLES`). MariaDB 10.11 resizes the redo
 * log live; the server's own READ_ONLY flag is preferred whenever it is available.
 */
export const STATIC_FALLBACK: ReadonlySet<string> = new Set(['datadir', 'innodb_flush_method', 'innodb_log_file_size'])
