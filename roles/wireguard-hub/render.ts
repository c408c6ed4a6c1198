/** First line of every config this role writes; the live-sync handler only touches files that carry it. */
export const MANAGED_MARK = '# Managed by havn (role wireguard-hub); local edits are overwritten.'

/** Where an interface's private key lives; it is generated there and never leaves the host. */
export function keyPath(iface: string): string {
  return `/etc/wireguard/${iface}.key`
}

/** The wg-quick config of an interface. */
export function confPath(iface: string): string {
  return `/etc/wireguard/${iface}.conf`
}

/** What predicted content shows for a public key that a check run cannot know yet. */
export function keyPlaceholder(host: string): string {
  return `(key generated on ${host} during the run)`
}

/** A peer's key as known: the base64 public key, or null before its host generated one. */
export type PublicKey = string | null

/** One spoke as the hub sees it. */
export interface HubPeer {
  readonly name: string
  readonly publicKey: PublicKey
  readonly tunnelAddress: string
}

/** Everything the hub's config is made of. */
export interface HubConfig {
  readonly iface: string
  readonly address: string
  readonly listenPort: number
  readonly mtu: number
  readonly natEgressInterface?: string
  readonly peers: readonly HubPeer[]
}

/** Everything a spoke's config is made of. */
export interface SpokeConfig {
  readonly iface: string
  readonly address: string
  readonly mtu: number
  readonly dns?: readonly string[]
  readonly hub: { readonly name: string; readonly publicKey: PublicKey; readonly endpoint: string }
  readonly allowedIps: readonly string[]
  readonly persistentKeepalive: number
}

const byName = new Intl.Collator('en', { numeric: true }).compare

function header(iface: string): string[] {
  return [
    MANAGED_MARK,
    `# The private key stays in ${keyPath(iface)}; PostUp loads it, so this file holds no secret.`,
    '[Interface]',
  ]
}

/** Loads the key from its own file, so the config (and every diff of it) never holds the secret. */
function loadKey(iface: string): string {
  return `PostUp = wg set %i private-key ${keyPath(iface)}`
}

function shownKey(host: string, key: PublicKey): string {
  return key ?? keyPlaceholder(host)
}

/**
 * The hub's wg-quick config: its address, port and MTU, optional NAT through an egress
 * interface, and one peer per spoke (sorted by host name, so reruns render the same text).
 */
export function renderHubConf(c: HubConfig): string {
  const lines = [...header(c.iface), `Address = ${c.address}`, `ListenPort = ${c.listenPort}`, `MTU = ${c.mtu}`, loadKey(c.iface)]
  if (c.natEgressInterface !== undefined) {
    const rules = (op: 'A' | 'D') => `iptables -${op} FORWARD -i ${c.iface} -j ACCEPT; iptables -t nat -${op} POSTROUTING -o ${c.natEgressInterface} -j MASQUERADE`
    lines.push(`PostUp = ${rules('A')}`, `PostDown = ${rules('D')}`)
  }
  for (const p of [...c.peers].sort((a, b) => byName(a.name, b.name))) {
    lines.push('', `# ${p.name}`, '[Peer]', `PublicKey = ${shownKey(p.name, p.publicKey)}`, `AllowedIPs = ${hostRoute(p.tunnelAddress)}`)
  }
  return `${lines.join('\n')}\n`
}

/** A spoke's wg-quick config: its address and MTU, optional DNS, and the hub as its one peer. */
export function renderSpokeConf(c: SpokeConfig): string {
  const lines = [...header(c.iface), `Address = ${c.address}`, `MTU = ${c.mtu}`]
  // wg-quick runs resolvconf for DNS=, which most hosts lack: emit it only when asked for.
  if (c.dns && c.dns.length > 0) lines.push(`DNS = ${c.dns.join(', ')}`)
  lines.push(loadKey(c.iface), '', `# hub: ${c.hub.name}`, '[Peer]', `PublicKey = ${shownKey(c.hub.name, c.hub.publicKey)}`, `Endpoint = ${c.hub.endpoint}`, `AllowedIPs = ${c.allowedIps.join(', ')}`)
  if (c.persistentKeepalive > 0) lines.push(`PersistentKeepalive = ${c.persistentKeepalive}`)
  return `${lines.join('\n')}\n`
}

/** `10.10.0.2/24` → `10.10.0.2/32`: the single address a peer may send from. */
export function hostRoute(cidr: string): string {
  const ip = cidr.split('/')[0] ?? cidr
  return `${ip}/${ip.includes(':') ? 128 : 32}`
}

/** The network of an address with prefix: `10.10.0.1/24` → `10.10.0.0/24`; IPv6 is returned as given. */
export function networkOf(cidr: string): string {
  const [ip = '', bits = ''] = cidr.split('/')
  if (ip.includes(':')) return cidr
  const prefix = Number(bits)
  const octets = ip.split('.').map(Number)
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255) || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) {
    throw new Error(`'${cidr}' is not an IPv4 address with prefix such as 10.10.0.1/24`)
  }
  const value = octets.reduce((acc, o) => acc * 256 + o, 0)
  const size = 2 ** (32 - prefix)
  const net = value - (value % size)
  return `${[24, 16, 8, 0].map((s) => Math.floor(net / 2 ** s) % 256).join('.')}/${prefix}`
}

/** `host` or `host:port` → `host:port` with `port` as the default; a bare IPv6 address is bracketed. */
export function formatEndpoint(endpoint: string, port: number): string {
  if (/^\[[^\]]+\]:\d+$/.test(endpoint) || /^[^:]+:\d+$/.test(endpoint)) return endpoint
  if (endpoint.startsWith('[') && endpoint.endsWith(']')) return `${endpoint}:${port}`
  return endpoint.includes(':') ? `[${endpoint}]:${port}` : `${endpoint}:${port}`
}
