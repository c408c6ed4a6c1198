import type { JsonSchema } from 'havn'

/** Which server the host runs; picks package, service, client and config directory. */
export type MysqlFlavor = 'mariadb' | 'mysql'

/** InnoDB flush methods both MariaDB 10.11 and MySQL 8 accept in a config file. */
export type FlushMethod = 'O_DIRECT' | 'O_DIRECT_NO_FSYNC' | 'O_DSYNC' | 'fsync'

/** A byte size: a whole number of bytes, or a string with a K, M or G suffix such as `'512M'`. */
export type ByteSize = number | string

/** Vars of the `mysql-nvme` role (defaults from the seed articles: NVMe-backed, dedicated DB node). */
export interface MysqlNvmeVars {
  /** `mariadb` (Debian's default server) or `mysql`. */
  flavor: MysqlFlavor
  /** Install the server package when missing. */
  installPackage: boolean
  /** Where the server keeps its data; O_DIRECT is probed here before the config is written. */
  datadir: string
  /** `innodb_buffer_pool_size`; when unset, `bufferPoolFraction` of the host's RAM. Rounded to 128M. */
  bufferPoolSize?: ByteSize
  /** Share of RAM for the buffer pool when `bufferPoolSize` is unset. */
  bufferPoolFraction: number
  /** `innodb_flush_method`. */
  flushMethod: FlushMethod
  /** `innodb_io_capacity` (IOPS the background flushing may use). */
  ioCapacity: number
  /** `innodb_file_per_table`. */
  filePerTable: boolean
  /** `innodb_log_file_size`. */
  logFileSize: ByteSize
  /** `net_read_timeout` in seconds. */
  netReadTimeout: number
  /** `net_write_timeout` in seconds. */
  netWriteTimeout: number
  /** `default-storage-engine`. */
  defaultStorageEngine: string
  /** Restart the server when a static setting differs from the running one; false only reports it as pending. */
  allowRestart: boolean
}

/** The seed articles' settings: O_DIRECT, 2000 IOPS, file per table, 512M redo log, 60 s net timeouts, InnoDB. */
export const defaults: MysqlNvmeVars = {
  flavor: 'mariadb',
  installPackage: true,
  datadir: '/var/lib/mysql',
  bufferPoolFraction: 0.7,
  flushMethod: 'O_DIRECT',
  ioCapacity: 2000,
  filePerTable: true,
  logFileSize: '512M',
  netReadTimeout: 60,
  netWriteTimeout: 60,
  defaultStorageEngine: 'InnoDB',
  allowRestart: true,
}

const byteSize = (description: string): JsonSchema => ({
  description,
  oneOf: [
    { type: 'integer', minimum: 1048576 },
    { type: 'string', pattern: '^[1-9][0-9]*[KMGkmg]?$' },
  ],
})

/** JSON Schema of {@link MysqlNvmeVars}; checked per host before any connection. */
export const schema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    flavor: { description: 'Server flavour: mariadb or mysql.', enum: ['mariadb', 'mysql'] },
    installPackage: { description: 'Install mariadb-server / mysql-server when missing.', type: 'boolean' },
    datadir: {
      description: 'Data directory of the server (absolute path); probed for O_DIRECT support before the config is written.',
      type: 'string',
      pattern: '^/[A-Za-z0-9._/+-]*$',
    },
    bufferPoolSize: byteSize('innodb_buffer_pool_size, e.g. "4G"; rounded to a multiple of 128M. Overrides bufferPoolFraction.'),
    bufferPoolFraction: {
      description: 'Share of the host RAM for innodb_buffer_pool_size when bufferPoolSize is unset (rounded down to 128M, at least 128M).',
      type: 'number',
      exclusiveMinimum: 0,
      maximum: 0.9,
    },
    flushMethod: { description: 'innodb_flush_method.', enum: ['O_DIRECT', 'O_DIRECT_NO_FSYNC', 'O_DSYNC', 'fsync'] },
    ioCapacity: { description: 'innodb_io_capacity (IOPS for background flushing).', type: 'integer', minimum: 100, maximum: 1000000 },
    filePerTable: { description: 'innodb_file_per_table.', type: 'boolean' },
    logFileSize: byteSize('innodb_log_file_size, e.g. "512M".'),
    netReadTimeout: { description: 'net_read_timeout in seconds.', type: 'integer', minimum: 1, maximum: 31536000 },
    netWriteTimeout: { description: 'net_write_timeout in seconds.', type: 'integer', minimum: 1, maximum: 31536000 },
    defaultStorageEngine: { description: 'default-storage-engine.', type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_]*$' },
    allowRestart: {
      description: 'Restart the server (handler "mysql-nvme:restart") when a static setting differs from the running value; false reports "restart pending" instead.',
      type: 'boolean',
    },
  },
}
