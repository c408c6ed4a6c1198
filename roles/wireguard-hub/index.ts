import { command, defineHandler, defineRole, file, osInfo, packages, service, serviceStatus, sysctl, type Host } from 'havn'
import { fixKeyModeScript, interfaceExists, kernelHasWireguard, keygenScript, keyModeIsRight, linkExists, SYNC_PEERS_SCRIPT, upScript, wireguardPublicKey } from './host-state.ts'
import { configWithPendingKeys } from './pending-config.ts'
import { confPath, formatEndpoint, keyPath, networkOf, renderHubConf, renderSpokeConf, type PublicKey } from './render.ts'
import { defaults, schema, type WireguardHubVars } from './schema.ts'

export type { WireguardHubVars }
export { keyPlaceholder, renderHubConf, renderSpokeConf, type HubConfig, type SpokeConfig } from './render.ts'

/** What each mesh host publishes in the keys play, under {@link meshKey}; never anything secret. */
export interface MeshMember {
  readonly publicKey: PublicKey
  readonly tunnelAddress: string
  readonly hub: string
  /** `host:port` spokes would connect to if this host is the hub. */
  readonly endpoint: string
}

/** The published-values key of an interface's mesh. */
export function meshKey(iface: string): string {
  return `wireguard-hub:${iface}`
}

/** Where the hub persists net.ipv4.ip_forward. */
const SYSCTL_FILE = '/etc/sysctl.d/60-wireguard-hub.conf'

/**
 * Applies peer changes to running interfaces live (`wg syncconf`), without a restart. It needs
 * no vars, so a notification left by an interrupted run is honoured by the next run.
 */
const syncPeers = defineHandler('wireguard-hub:sync-peers', async () => {
  await command({ script: SYNC_PEERS_SCRIPT, display: 'wg syncconf <every running interface configured by wireguard-hub>' }, { name: 'apply peer changes live (wg syncconf)' })
})

/**
 * First play, on every mesh host: installs WireGuard (and wireguard-go where the kernel lacks the
 * module), generates the host's private key in place (mode 0600; it never leaves the host; a new
 * key reaches a running interface through the live-sync handler), and publishes the public key
 * with the host's tunnel address for the later `wireguardHub` plays.
 */
export const wireguardKeys = defineRole<WireguardHubVars>({
  name: 'wireguard-hub-keys',
  schema,
  defaults,
  platforms: [{ id: 'debian', versions: ['12', '13'] }],
  async run(v, host) {
    const key = keyPath(v.interface)
    const userspace = v.wireguardGo === 'always' || (v.wireguardGo === 'auto' && !(await host.fact(kernelHasWireguard)))
    const nat = host.name === v.hub && v.natEgressInterface !== undefined
    await packages({ names: ['wireguard-tools', 'iproute2', ...(userspace ? ['wireguard-go'] : []), ...(nat ? ['iptables'] : [])] })
    // A new key only needs the handler where the interface already runs (the old key was removed).
    const running = await host.fact(interfaceExists, v.interface)
    await command({ script: keygenScript(key), display: `wg genkey > ${key}` }, { creates: key, name: `private key ${key}`, notify: running ? [syncPeers] : [] })
    await command({ script: fixKeyModeScript(key), display: `chown root ${key}; chmod 0600 ${key}` }, { unless: keyModeIsRight(key), name: `private key ${key} is root's, mode 0600` })
    const member: MeshMember = {
      publicKey: await host.fact(wireguardPublicKey, key),
      tunnelAddress: v.tunnelAddress,
      hub: v.hub,
      endpoint: formatEndpoint(v.endpoint ?? host.address, v.listenPort),
    }
    host.publish(meshKey(v.interface), member)
  },
})

/** The members of this host's mesh, or an error saying which play is missing. */
function meshOf(v: WireguardHubVars, host: Host): Readonly<Record<string, MeshMember>> {
  const members = host.published<MeshMember>(meshKey(v.interface))
  if (!members[host.name]) {
    throw new Error(`${host.name} published no WireGuard key for ${v.interface}: run wireguardKeys() on every mesh host in an earlier play of the same playbook`)
  }
  if (!members[v.hub]) {
    throw new Error(`hub '${v.hub}' published no WireGuard key for ${v.interface}: include it in the wireguardKeys() play (and check the 'hub' var names an inventory host)`)
  }
  return members
}

function pendingReason(hosts: readonly string[]): string {
  return `public key${hosts.length > 1 ? 's' : ''} of ${hosts.join(', ')} ${hosts.length > 1 ? 'are' : 'is'} not known yet: generated on ${hosts.length > 1 ? 'those hosts' : 'that host'} during the run`
}

/**
 * Later plays, hub first, then spokes: writes `/etc/wireguard/<interface>.conf` (mode 0600, no
 * private key in it), enables IP forwarding on the hub, brings the interface up (through
 * `wg-quick@<iface>`, started and enabled, where systemd runs; `wg-quick up` elsewhere) and
 * applies peer changes live through a handler.
 */
export default defineRole<WireguardHubVars>({
  name: 'wireguard-hub',
  schema,
  defaults,
  platforms: [{ id: 'debian', versions: ['12', '13'] }],
  async run(v, host) {
    const members = meshOf(v, host)
    const isHub = host.name === v.hub
    let content: string
    const pending: string[] = []
    if (isHub) {
      const peers = Object.entries(members)
        .filter(([name, m]) => name !== host.name && m.hub === host.name)
        .map(([name, m]) => ({ name, publicKey: m.publicKey, tunnelAddress: m.tunnelAddress }))
      pending.push(...peers.filter((p) => p.publicKey === null).map((p) => p.name))
      content = renderHubConf({ iface: v.interface, address: v.tunnelAddress, listenPort: v.listenPort, mtu: v.mtu, natEgressInterface: v.natEgressInterface, peers })
      await sysctl({ key: 'net.ipv4.ip_forward', value: 1, file: SYSCTL_FILE })
    } else {
      const hub = members[v.hub]!
      if (hub.publicKey === null) pending.push(v.hub)
      content = renderSpokeConf({
        iface: v.interface,
        address: v.tunnelAddress,
        mtu: v.mtu,
        dns: v.dns,
        hub: { name: v.hub, publicKey: hub.publicKey, endpoint: hub.endpoint },
        allowedIps: v.allowedIps ?? [networkOf(hub.tunnelAddress)],
        persistentKeepalive: v.persistentKeepalive,
      })
    }
    const path = confPath(v.interface)
    if (pending.length > 0) {
      pending.sort()
      const failure = `no public key could be read on ${pending.join(', ')}: ${keyPath(v.interface)} is missing, not a WireGuard key, or not readable where facts are read`
      await configWithPendingKeys({ path, content, mode: 0o600, reason: pendingReason(pending), failure, notify: [syncPeers] })
    }
    else await file({ path, content, mode: 0o600, notify: [syncPeers] })
    if ((await host.fact(osInfo)).initSystem !== 'systemd') {
      await command({ script: upScript(v.interface), display: `wg-quick up ${v.interface}` }, { unless: linkExists(v.interface), name: `interface ${v.interface} up` })
      return
    }
    // The unit brings the interface up, so systemd knows it is up and brings it back at boot. An
    // interface already up outside the unit (by hand, or an older havn) is left running as it is.
    const unit = `wg-quick@${v.interface}`
    const upOutsideUnit = (await host.fact(interfaceExists, v.interface)) && !(await host.fact(serviceStatus, unit)).running
    await service({ name: unit, enabled: true, ...(upOutsideUnit ? {} : { state: 'started' as const }) })
  },
})
