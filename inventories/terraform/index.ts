// Burst hosts from Terraform: run `terraform output -json` in the Terraform directory (HAVN_TF_DIR,
// default the working directory), or read a saved copy (HAVN_TF_OUTPUT=file). The estate's Terraform
// exports `burst_hosts` as a map of host name → { ip, region }; adapt the shape to your outputs.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { defineInventory, type InventorySpec } from 'havn'

interface TerraformOutputs {
  readonly burst_hosts: { readonly value: Readonly<Record<string, { readonly ip: string; readonly region: string }>> }
}

const saved = process.env.HAVN_TF_OUTPUT
const text = saved
  ? readFileSync(saved, 'utf8')
  : execFileSync('terraform', ['output', '-json'], { cwd: process.env.HAVN_TF_DIR ?? process.cwd(), encoding: 'utf8' })
const outputs = JSON.parse(text) as TerraformOutputs

const hosts: Record<string, NonNullable<InventorySpec['hosts']>[string]> = {}
const regions: Record<string, string[]> = {}
for (const [name, host] of Object.entries(outputs.burst_hosts.value)) {
  hosts[name] = { address: host.ip, user: 'deploy', vars: { region: host.region } }
  ;(regions[`burst_${host.region}`] ??= []).push(name)
}

export default defineInventory({
  hosts,
  groups: {
    burst: { children: Object.keys(regions) },
    ...Object.fromEntries(Object.entries(regions).map(([group, names]) => [group, { hosts: names }])),
  },
})
