import type { JsonSchema } from 'havn'

/** Vars of the wireguard-hub roles (`wireguardKeys` and the default `wireguardHub` share them). */
export interface WireguardHubVars {
  /** Inventory name of this mesh's hub; the host of that name is the hub, every other host a spoke. */
  hub: string
  /** This host's tunnel address with prefix: the hub's gives the mesh subnet (`10.10.0.1/24`), a spoke's is usually a `/32`. */
  tunnelAddress: string
  /** WireGuard interface name; the config is `/etc/wireguard/<interface>.conf`, the key `<interface>.key`. */
  interface: string
  /** UDP port the hub listens on (spokes use a random source port). */
  listenPort: number
  /** Interface MTU; 1360 leaves room for WireGuard over links with a reduced path MTU. */
  mtu: number
  /** Host or IP (optionally `:port`) spokes connect to; set on the hub. Default: the hub's inventory address. */
  endpoint?: string
  /** What a spoke routes through the tunnel. Default: the mesh subnet, taken from the hub's tunnel address. */
  allowedIps?: string[]
  /** Seconds between keepalives a spoke sends to keep NAT mappings open; 0 disables. */
  persistentKeepalive: number
  /** DNS servers a spoke uses while the tunnel is up (wg-quick needs `resolvconf` for this). */
  dns?: string[]
  /** On the hub: masquerade tunnel traffic leaving through this interface (e.g. `eth0`) via iptables PostUp/PostDown. */
  natEgressInterface?: string
  /** Install wireguard-go: `auto` only where the kernel has no WireGuard module, `always`, or `never`. */
  wireguardGo: 'auto' | 'always' | 'never'
}

/** The defaults of the seeds: port 51820, MTU 1360, keepalive 25 s, interface wg0. */
export const defaults: Partial<WireguardHubVars> = {
  interface: 'wg0',
  listenPort: 51820,
  mtu: 1360,
  persistentKeepalive: 25,
  wireguardGo: 'auto',
}

const CIDR = '^(?:[0-9]{1,3}(?:\\.[0-9]{1,3}){3}/(?:[0-9]|[12][0-9]|3[0-2])|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*/(?:[0-9]|[1-9][0-9]|1[01][0-9]|12[0-8]))$'
const IP = '^(?:[0-9]{1,3}(?:\\.[0-9]{1,3}){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$'

/** JSON Schema of {@link WireguardHubVars}; checked per host before any host is contacted. */
export const schema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['hub', 'tunnelAddress', 'interface', 'listenPort', 'mtu', 'persistentKeepalive', 'wireguardGo'],
  properties: {
    hub: { type: 'string', minLength: 1, description: "Inventory name of the mesh's hub host" },
    tunnelAddress: { type: 'string', pattern: CIDR, description: "This host's tunnel address with prefix, e.g. 10.10.0.1/24 on the hub, 10.10.0.2/32 on a spoke" },
    interface: { type: 'string', pattern: '^[A-Za-z0-9_=+.-]{1,15}$', description: 'WireGuard interface name (wg-quick config name)' },
    listenPort: { type: 'integer', minimum: 1, maximum: 65535, description: 'UDP port the hub listens on' },
    mtu: { type: 'integer', minimum: 1280, maximum: 9000, description: 'Interface MTU' },
    endpoint: { type: 'string', pattern: '^[A-Za-z0-9.:\\[\\]-]+$', description: 'Host or IP (optionally :port) spokes connect to; set on the hub; default its inventory address' },
    allowedIps: { type: 'array', items: { type: 'string', pattern: CIDR }, minItems: 1, description: 'Networks a spoke routes through the tunnel; default the mesh subnet' },
    persistentKeepalive: { type: 'integer', minimum: 0, maximum: 65535, description: 'Keepalive interval of spokes in seconds; 0 disables' },
    dns: { type: 'array', items: { type: 'string', pattern: IP }, minItems: 1, description: 'DNS servers of a spoke while the tunnel is up (needs resolvconf)' },
    natEgressInterface: { type: 'string', pattern: '^[A-Za-z0-9_.@-]{1,15}$', description: 'Hub only: masquerade tunnel traffic leaving through this interface' },
    wireguardGo: { enum: ['auto', 'always', 'never'], description: 'Install the wireguard-go userspace implementation: auto = only without a kernel module' },
  },
}
