import { defineFact, shQuote } from 'havn'

/** Variables the live fact reads: the tuned ones plus what the role needs to apply them safely. */
export const LIVE_VARIABLES: readonly string[] = [
  'datadir',
  'default_storage_engine',
  'innodb_buffer_pool_size',
  'innodb_file_per_table',
  'innodb_flush_method',
  'innodb_io_capacity',
  'innodb_io_capacity_max',
  'innodb_log_file_size',
  'net_read_timeout',
  'net_write_timeout',
  'version',
]

/** The running server as its SQL client sees it over the unix socket. */
export interface LiveServer {
  /** False when no client is installed or the server did not answer; `error` says why. */
  readonly reachable: boolean
  readonly error?: string
  /** `mariadb` or `mysql`: the client binary found. */
  readonly client?: string
  /** Global variable values by lower-case name. */
  readonly values: Readonly<Record<string, string>>
  /** Whether each variable is read-only (static), when the server reports it (MariaDB ≥ 10.2). */
  readonly readOnly?: Readonly<Record<string, boolean>>
}

const inList = LIVE_VARIABLES.map((v) => `'${v}'`).join(',')

/** Shell that finds the client: MariaDB's own name first, the compatible `mysql` otherwise. */
export const CLIENT_SH = 'c=$(command -v mariadb || command -v mysql) || { echo client=none; exit 0; }'

/**
 * Global variables of the running server and their read-only flags, read as root over the unix
 * socket (`SHOW GLOBAL VARIABLES`, plus MariaDB's `information_schema.SYSTEM_VARIABLES`). Only reads.
 */
export const liveServer = defineFact({
  name: 'mysql-nvme.live',
  command: () =>
    [
      CLIENT_SH,
      'echo "client=${c##*/}"',
      `"$c" --protocol=socket -N -B -e ${shQuote(`SHOW GLOBAL VARIABLES WHERE Variable_name IN (${inList})`)} </dev/null | sed 's/^/var\t/'`,
      // sed hides the client's exit code; ask again cheaply so a refused login is told apart from an empty answer.
      `"$c" --protocol=socket -N -B -e 'SELECT 1' </dev/null >/dev/null; echo "rc=$?"`,
      `"$c" --protocol=socket -N -B -e ${shQuote(`SELECT LOWER(VARIABLE_NAME), READ_ONLY FROM information_schema.SYSTEM_VARIABLES WHERE LOWER(VARIABLE_NAME) IN (${inList})`)} </dev/null 2>/dev/null | sed 's/^/ro\t/'`,
      'true',
    ].join('\n'),
  parse: (res): LiveServer => parseLiveServer(res.stdout, res.stderr),
})

/** Parses the output of {@link liveServer}'s command. */
export function parseLiveServer(stdout: string, stderr: string): LiveServer {
  const client = /^client=(.*)$/m.exec(stdout)?.[1]
  if (client === undefined || client === 'none') return { reachable: false, error: 'no mariadb or mysql client is installed', values: {} }
  const rc = /^rc=(\d+)$/m.exec(stdout)?.[1]
  const values: Record<string, string> = {}
  const readOnly: Record<string, boolean> = {}
  for (const line of stdout.split('\n')) {
    const [tag, name, value] = line.split('\t')
    if (name === undefined || value === undefined) continue
    if (tag === 'var') values[name.toLowerCase()] = value
    if (tag === 'ro') readOnly[name.toLowerCase()] = value === 'YES'
  }
  if (rc !== '0') {
    const tail = stderr.trim().split('\n').slice(-3).join('\n')
    return { reachable: false, client, error: `${client} client exited ${rc ?? '?'}${tail ? `: ${tail}` : ''}`, values }
  }
  return { reachable: true, client, values, ...(Object.keys(readOnly).length ? { readOnly } : {}) }
}

/** Where the datadir lives and whether its filesystem accepts O_DIRECT (found by opening a file there with it). */
export interface ODirectProbe {
  /** Whether the datadir holds the `mysql` system schema, i.e. a server could start on it. */
  readonly initialised: boolean
  /** The directory probed: the datadir, or its nearest existing parent. */
  readonly probed: string
  /** `stat -f -c %T` of the probed directory, e.g. `ext4`, `overlayfs`, `ramfs`. */
  readonly fsType: string
  readonly ok: boolean
  /** The open error when it failed, e.g. `Invalid argument`. */
  readonly error?: string
}

/**
 * Probes O_DIRECT where the datadir lives (its nearest existing parent if it does not exist yet).
 * It reads an existing file there with `iflag=direct`, so the probe writes nothing; only an empty
 * directory gets a 4 KiB file written with `oflag=direct` and removed at once.
 */
export const oDirectProbe = defineFact({
  name: 'mysql-nvme.odirect',
  command: (datadir: string) =>
    [
      `p=${shQuote(datadir)}`,
      '[ -d "$p/mysql" ] && echo initialised=yes',
      'while [ ! -d "$p" ]; do p=$(dirname -- "$p"); done',
      'echo "probed=$p"',
      'echo "fstype=$(stat -f -c %T -- "$p")"',
      'f=$(find "$p" -xdev -maxdepth 2 -type f -readable 2>/dev/null | head -n 1)',
      'if [ -n "$f" ]; then',
      '  err=$(dd if="$f" of=/dev/null bs=4096 count=1 iflag=direct 2>&1 >/dev/null)',
      'else',
      '  t="$p/.havn-odirect-probe.$$"',
      '  err=$(dd if=/dev/zero of="$t" bs=4096 count=1 oflag=direct 2>&1 >/dev/null)',
      '  rc=$?; rm -f -- "$t"; [ $rc = 0 ]',
      'fi',
      'if [ $? = 0 ]; then echo odirect=ok; else echo "odirect=failed"; printf "%s\\n" "$err" | sed -n "1s/^/error=/p"; fi',
    ].join('\n'),
  parse: (res): ODirectProbe => parseODirectProbe(res.stdout),
})

/** Parses the output of {@link oDirectProbe}'s command. */
export function parseODirectProbe(stdout: string): ODirectProbe {
  const get = (k: string): string | undefined => new RegExp(`^${k}=(.*)$`, 'm').exec(stdout)?.[1]
  const ok = get('odirect') === 'ok'
  const error = get('error')
  return { initialised: get('initialised') === 'yes', probed: get('probed') ?? '?', fsType: get('fstype') ?? '?', ok, ...(!ok ? { error: error ?? 'probe did not finish' } : {}) }
}
