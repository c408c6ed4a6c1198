import type { JsonSchema, Secret } from 'havn'

/** A client allowed in through the tunnel: one `hostssl … scram-sha-256` line of pg_hba.conf. */
export interface AllowedPeer {
  /** The peer's WireGuard address as a CIDR, e.g. `10.10.0.2/32`. */
  address: string
  /** Database the peer may use; default `all`. */
  database?: string
  /** Login role the peer may use; default `all`. */
  user?: string
}

/** A login role (and optionally a database it owns) for the clients. */
export interface DatabaseUser {
  name: string
  /** Stored only as a SCRAM-SHA-256 verifier computed on the controller; plain strings are wrapped in `secret()`. */
  password: Secret | string
  /** A database created with this role as its owner. */
  database?: string
}

/** Vars of the `postgres-wan-tuning` role (defaults from seed 001: PostgreSQL behind a WireGuard hub). */
export interface PostgresWanTuningVars {
  /** Major version, e.g. `'15'`; default: the installed (or installable) `postgresql` package's. */
  version?: string
  /** Cluster name (Debian's `pg_createcluster` default is `main`). */
  cluster: string
  /** Install the `postgresql` package when missing. */
  installPackage: boolean
  /** `listen_addresses`: the host's WireGuard address, e.g. `'10.10.0.1'` (or `'localhost,10.10.0.1'`). */
  listenAddress: string
  /** `tcp_keepalives_idle` in seconds. */
  tcpKeepalivesIdle: number
  /** `tcp_keepalives_interval` in seconds. */
  tcpKeepalivesInterval: number
  /** `tcp_keepalives_count`. */
  tcpKeepalivesCount: number
  /** `work_mem`, e.g. `'16MB'`. */
  workMem: string
  /** `maintenance_work_mem`, e.g. `'256MB'`. */
  maintenanceWorkMem: string
  /** PEM certificate for SSL; default: Debian's ssl-cert snakeoil certificate (generated when missing). */
  sslCert?: string
  /** PEM private key matching `sslCert`; never shown. */
  sslKey?: Secret
  /** The only clients pg_hba.conf lets in over TCP (SSL and scram-sha-256 required). */
  allowedPeers: AllowedPeer[]
  /** Login roles to create, with their SCRAM password and optional own database. */
  users: DatabaseUser[]
}

/** Seed 001's settings: 60/10/3 keepalives, 16MB work_mem, 256MB maintenance_work_mem, main cluster. */
export const defaults: Omit<PostgresWanTuningVars, 'listenAddress'> = {
  cluster: 'main',
  installPackage: true,
  tcpKeepalivesIdle: 60,
  tcpKeepalivesInterval: 10,
  tcpKeepalivesCount: 3,
  workMem: '16MB',
  maintenanceWorkMem: '256MB',
  allowedPeers: [],
  users: [],
}

/** SQL identifiers the role accepts: they end up in pg_hba.conf and SQL unquoted-safe. */
const IDENT = '^[a-z_][a-z0-9_]{0,62}$'
const MEMORY = '^[1-9][0-9]*(kB|MB|GB|TB)$'
const seconds = (description: string, max: number): JsonSchema => ({ description, type: 'integer', minimum: 0, maximum: max })

/** JSON Schema of {@link PostgresWanTuningVars}; checked per host before any connection. */
export const schema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['listenAddress'],
  properties: {
    version: { description: 'PostgreSQL major version; default: from the installed or installable postgresql package.', type: 'string', pattern: '^[1-9][0-9]*$' },
    cluster: { description: 'Cluster name (directory under /etc/postgresql/<version>/).', type: 'string', pattern: '^[A-Za-z0-9_-]+$' },
    installPackage: { description: 'Install the postgresql package when missing.', type: 'boolean' },
    listenAddress: {
      description: "listen_addresses: the host's WireGuard address (e.g. 10.10.0.1), optionally with localhost first ('localhost,10.10.0.1'). Changing it restarts the server.",
      type: 'string',
      pattern: '^[0-9A-Za-z.:-]+(,[0-9A-Za-z.:-]+)*$',
    },
    tcpKeepalivesIdle: seconds('tcp_keepalives_idle in seconds (detect dead tunnel connections).', 2147483647),
    tcpKeepalivesInterval: seconds('tcp_keepalives_interval in seconds.', 2147483647),
    tcpKeepalivesCount: seconds('tcp_keepalives_count (lost probes before the connection is dropped).', 2147483647),
    workMem: { description: "work_mem, with a unit (kB, MB, GB, TB), e.g. '16MB'.", type: 'string', pattern: MEMORY },
    maintenanceWorkMem: { description: "maintenance_work_mem, with a unit, e.g. '256MB'.", type: 'string', pattern: MEMORY },
    sslCert: { description: 'PEM server certificate; with sslKey. Default: the ssl-cert snakeoil certificate.', type: 'string', pattern: '-----BEGIN CERTIFICATE-----' },
    sslKey: { description: 'PEM private key of sslCert (secret).', type: 'string', secret: true, pattern: '-----BEGIN [A-Z ]*PRIVATE KEY-----' },
    allowedPeers: {
      description: 'Clients allowed over TCP, each a hostssl line with scram-sha-256; nothing else may connect over the network.',
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['address'],
        properties: {
          address: { description: 'Peer address as CIDR, e.g. 10.10.0.2/32.', type: 'string', pattern: '^[0-9a-fA-F.:]+/[0-9]{1,3}$' },
          database: { description: 'Database the peer may use (default all).', type: 'string', pattern: IDENT },
          user: { description: 'Role the peer may log in as (default all).', type: 'string', pattern: IDENT },
        },
      },
    },
    users: {
      description: 'Login roles to create (password stored as a SCRAM-SHA-256 verifier), each optionally with a database it owns.',
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'password'],
        properties: {
          name: { description: 'Role name.', type: 'string', pattern: IDENT },
          password: { description: 'Login password (secret; never shown, never sent to the host in clear).', type: 'string', minLength: 8 },
          database: { description: 'Database to create, owned by this role.', type: 'string', pattern: IDENT },
        },
      },
    },
  },
  dependentRequired: { sslCert: ['sslKey'], sslKey: ['sslCert'] },
}
