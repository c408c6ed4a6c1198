import type { Testbed } from '../testbed/index.ts'
import { bedHosts, writeInventory } from './support.ts'

/**
 * Writes an inventory for the WireGuard mesh playbooks: `hub` in `wg_hub` (NAT out of eth0), the
 * spokes in `wg_spokes`, both under `wg_mesh`, each host with `tunnelAddress(name)` and `extra`
 * inline vars (e.g. `user: deploy`). Returns its directory.
 */
export function meshInventory(bed: Testbed, hub: string, spokes: readonly string[], tunnelAddress: (name: string) => string, extra = ''): string {
  const line = (name: string, more: string) => {
    const [h] = bedHosts(bed, [name])
    return `            ${name}: { address: ${h!.address}, port: ${h!.port}, tunnelAddress: ${tunnelAddress(name)}${extra ? `, ${extra}` : ''}${more} }`
  }
  const yaml = [
    'all:',
    '  vars:',
    `    hub: ${hub}`,
    '  children:',
    '    wg_mesh:',
    '      children:',
    '        wg_hub:',
    '          hosts:',
    line(hub, ', natEgressInterface: eth0'),
    '        wg_spokes:',
    '          hosts:',
    ...spokes.map((s) => line(s, '')),
  ]
  return writeInventory({ 'hosts.yaml': `${yaml.join('\n')}\n` })
}
