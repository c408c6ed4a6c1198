import type { JsonSchema } from 'havn'

/** A core server: always preferred while at least one core server passes its health check. */
export interface CoreServer {
  /** HAProxy server name, unique within the backend. */
  readonly name: string
  /** IPv4/IPv6 address or a host name the HAProxy host can resolve when it loads its config. */
  readonly address: string
  readonly port: number
  /** Relative share of traffic among core servers (0–256); 100 when unset. */
  readonly weight?: number
}

/** A burst server: a `backup` server, used only while every core server is down. */
export interface BurstServer {
  readonly name: string
  readonly address: string
  readonly port: number
}

/** Vars of the `haproxy-burst` role. */
export interface HaproxyBurstVars {
  /** Address the frontend binds to; `*` means every address. */
  readonly bindAddress: string
  readonly frontendPort: number
  readonly frontendName: string
  readonly backendName: string
  readonly balance: 'roundrobin' | 'leastconn' | 'static-rr' | 'first' | 'source'
  readonly coreServers: readonly CoreServer[]
  readonly burstServers: readonly BurstServer[]
  readonly healthMethod: 'HEAD' | 'GET' | 'OPTIONS'
  readonly healthPath: string
  readonly healthHost: string
  /** Time between health checks of one server, in HAProxy time syntax (`2s`, `500ms`). */
  readonly checkInter: string
  /** Consecutive failed checks before a server counts as down. */
  readonly fall: number
  /** Consecutive passed checks before a down server counts as up again. */
  readonly rise: number
  /** Global connection limit of the HAProxy process. */
  readonly maxconn: number
  readonly timeoutConnect: string
  readonly timeoutClient: string
  readonly timeoutServer: string
  readonly timeoutHttpKeepAlive: string
  readonly timeoutCheck: string
  /** Raw lines appended to the backend section, checked by `haproxy -c` before they go live. */
  readonly extraBackendLines: readonly string[]
}

const TIME = { type: 'string', pattern: '^[0-9]{1,9}(us|ms|s|m|h|d)?$' } as const
const NAME = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$' } as const
const ADDRESS = {
  description: 'IPv4 or IPv6 address, or a host name resolvable on the HAProxy host (no port).',
  anyOf: [
    { type: 'string', format: 'ipv4' },
    { type: 'string', format: 'ipv6' },
    { type: 'string', format: 'hostname', pattern: '^[A-Za-z0-9]' },
  ],
} as const
const PORT = { type: 'integer', minimum: 1, maximum: 65535 } as const

/** The JSON Schema of one server entry; core servers add `weight`. */
function serverItem(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'address', 'port'],
    properties: {
      name: { ...NAME, description: 'Server name, unique within the backend.' },
      address: ADDRESS,
      port: { ...PORT, description: 'Port the server listens on.' },
      ...extra,
    },
  }
}

/** JSON Schema of {@link HaproxyBurstVars}; every var has a default except `coreServers`. */
export const schema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['coreServers'],
  properties: {
    bindAddress: {
      description: "Address the frontend binds to: '*' for all, or an IPv4/IPv6 address.",
      anyOf: [{ type: 'string', const: '*' }, { type: 'string', format: 'ipv4' }, { type: 'string', format: 'ipv6' }],
    },
    frontendPort: { ...PORT, description: 'Port the frontend listens on.' },
    frontendName: { ...NAME, description: 'Name of the frontend section.' },
    backendName: { ...NAME, description: 'Name of the backend section that holds core and burst servers.' },
    balance: { enum: ['roundrobin', 'leastconn', 'static-rr', 'first', 'source'], description: 'HAProxy balance algorithm among the servers in use.' },
    coreServers: {
      description: 'Core servers: weighted, health-checked, always preferred.',
      type: 'array',
      minItems: 1,
      items: serverItem({ weight: { type: 'integer', minimum: 0, maximum: 256, description: 'Relative share of traffic among core servers; default 100.' } }),
    },
    burstServers: {
      description: 'Burst servers: marked backup, used only while all core servers are down.',
      type: 'array',
      items: serverItem({}),
    },
    healthMethod: { enum: ['HEAD', 'GET', 'OPTIONS'], description: 'HTTP method of the health check.' },
    healthPath: { type: 'string', pattern: '^/[A-Za-z0-9._~!$&()*+,;=:@%/?-]*$', maxLength: 256, description: 'Path (and query) the health check requests.' },
    healthHost: { type: 'string', format: 'hostname', minLength: 1, description: 'Host header the health check sends.' },
    checkInter: { ...TIME, description: 'Time between health checks of one server (HAProxy time, e.g. 2s).' },
    fall: { type: 'integer', minimum: 1, maximum: 100, description: 'Failed checks before a server is marked down.' },
    rise: { type: 'integer', minimum: 1, maximum: 100, description: 'Passed checks before a server is marked up again.' },
    maxconn: { type: 'integer', minimum: 1, maximum: 10000000, description: 'Global maximum of concurrent connections.' },
    timeoutConnect: { ...TIME, description: 'timeout connect (to a server).' },
    timeoutClient: { ...TIME, description: 'timeout client (inactivity on the client side).' },
    timeoutServer: { ...TIME, description: 'timeout server (inactivity on the server side).' },
    timeoutHttpKeepAlive: { ...TIME, description: 'timeout http-keep-alive (idle time between requests on a kept-alive connection).' },
    timeoutCheck: { ...TIME, description: 'timeout check (extra read timeout of a health check once connected).' },
    extraBackendLines: {
      type: 'array',
      items: { type: 'string', pattern: '^[^\\n\\r]*$', maxLength: 1024 },
      description: "Raw lines appended to the backend section; `haproxy -c` checks them before the config goes live.",
    },
  },
}

/** The defaults users expect from the seed article: core weight 100, HEAD /health with a Host header, backup burst. */
export const defaults: Omit<HaproxyBurstVars, 'coreServers'> = {
  bindAddress: '*',
  frontendPort: 80,
  frontendName: 'www',
  backendName: 'app_nodes',
  balance: 'roundrobin',
  burstServers: [],
  healthMethod: 'HEAD',
  healthPath: '/health',
  healthHost: 'www.example.com',
  checkInter: '2s',
  fall: 3,
  rise: 2,
  maxconn: 4096,
  timeoutConnect: '5s',
  timeoutClient: '50s',
  timeoutServer: '50s',
  timeoutHttpKeepAlive: '10s',
  timeoutCheck: '2s',
  extraBackendLines: [],
}
