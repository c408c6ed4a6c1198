import { definePlaybook } from 'havn'
import wireguardHub, { wireguardKeys } from 'havn/roles/wireguard-hub'

/** The mesh playbook for a non-root login: every play through sudo. */
export default definePlaybook({
  name: 'wireguard mesh (become)',
  plays: [
    { name: 'wireguard keys', hosts: 'wg_mesh', become: true, roles: [wireguardKeys()] },
    { name: 'wireguard hub', hosts: 'wg_hub', become: true, roles: [wireguardHub()] },
    { name: 'wireguard spokes', hosts: 'wg_spokes', become: true, roles: [wireguardHub()] },
  ],
})
