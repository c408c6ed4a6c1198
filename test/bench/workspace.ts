import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/** A bed host as the benchmark sees it. */
export interface BenchHost {
  readonly name: string
  readonly address: string
}

/** Host vars W5 renders into app.conf; the same values go to havn's and Ansible's inventories. */
export function hostVars(index: number): { app_port: number } {
  return { app_port: 8000 + index }
}

/** The group var W5 renders into app.conf. */
export const APP_ENV = 'bench'

/**
 * Writes, under `dir`, a havn inventory directory (`havn-N/hosts.yaml`) and the floor's target list
 * (`floor-N.json`) for the first `n` hosts. Returns their paths.
 */
export async function writeTargets(dir: string, hosts: readonly BenchHost[], n: number): Promise<{ inventory: string; floorHosts: string }> {
  const subset = hosts.slice(0, n)
  const inventory = join(dir, `havn-${n}`)
  await mkdir(inventory, { recursive: true })
  const lines = ['all:', '  vars:', `    app_env: ${APP_ENV}`, '  hosts:']
  subset.forEach((h, i) => lines.push(`    ${h.name}: { address: ${h.address}, port: 22, user: root, app_port: ${hostVars(i).app_port} }`))
  await writeFile(join(inventory, 'hosts.yaml'), `${lines.join('\n')}\n`)
  const floorHosts = join(dir, `floor-${n}.json`)
  await writeFile(floorHosts, JSON.stringify(subset.map((h) => ({ address: h.address, port: 22 }))))
  return { inventory, floorHosts }
}
