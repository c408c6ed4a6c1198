import { definePlaybook } from 'havn'
import wireguardHub, { wireguardKeys } from 'havn/roles/wireguard-hub'

/** The mesh as a site playbook builds it: keys on every mesh host, then the hub, then the spokes. */
export default definePlaybook({
  name: 'wireguard mesh',
  plays: [
    { name: 'wireguard keys', hosts: 'wg_mesh', roles: [wireguardKeys()] },
    { name: 'wireguard hub', hosts: 'wg_hub', roles: [wireguardHub()] },
    { name: 'wireguard spokes', hosts: 'wg_spokes', roles: [wireguardHub()] },
  ],
})
