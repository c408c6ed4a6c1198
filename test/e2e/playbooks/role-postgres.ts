import { definePlaybook, osInfo, packages } from 'havn'
import postgresWanTuning from 'havn/roles/postgres-wan-tuning'
import wireguardHub, { wireguardKeys } from 'havn/roles/wireguard-hub'

/** Seed 001: a WireGuard mesh whose hub is the database, tuned for clients that come through the tunnel. */
export default definePlaybook({
  name: 'postgres over wireguard',
  plays: [
    { name: 'wireguard keys', hosts: 'wg_mesh', roles: [wireguardKeys()] },
    { name: 'wireguard hub', hosts: 'wg_hub', roles: [wireguardHub()] },
    { name: 'wireguard spokes', hosts: 'wg_spokes', roles: [wireguardHub()] },
    { name: 'database', hosts: 'db', roles: [postgresWanTuning()] },
    {
      name: 'clients',
      hosts: 'wg_spokes',
      async run(host) {
        // The bed's repositories hold each release's own client: 15 on Debian 12, 17 on Debian 13.
        const major = (await host.fact(osInfo)).versionId === '13' ? 17 : 15
        await packages({ names: [`postgresql-client-${major}`] })
      },
    },
  ],
})
