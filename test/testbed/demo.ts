/**
 * `npm run demo`: brings up a test bed shaped like the Oslo estate (six hosts), generates its
 * inventory from inventories/oslo, runs `havn run playbooks/site.ts` on it, and tears the bed down.
 * Extra arguments go to havn (e.g. `npm run demo -- --output json`); `HAVN_DEMO_KEEP=1` keeps the bed;
 * `HAVN_DEMO_KINDS=bookworm-systemd,trixie-systemd` picks the host kinds (round-robin; default bookworm-sysv).
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeEstateInventory, writeResticPassword } from './estate.ts'
import { down, up } from './index.ts'
import { parseKind } from './kinds.ts'

const repo = fileURLToPath(new URL('../../', import.meta.url))
const kinds = (process.env.HAVN_DEMO_KINDS ?? '').split(',').filter(Boolean).map((k) => parseKind(k.trim()))
const bed = await up({ count: 6, kinds })
process.stderr.write(`demo: host kinds: ${bed.hosts.map((h) => `${h.name}=${h.kind}`).join(', ')}\n`)
// The bed's state folder holds only what the bed makes; the demo's own files go elsewhere.
const work = mkdtempSync(join(tmpdir(), 'havn-demo-'))
let code = 1
try {
  const inventory = join(work, 'inventory')
  const mapping = await writeEstateInventory(bed, bed.hosts.map((h) => h.name), inventory)
  process.stderr.write(`demo: estate on the bed: ${[...mapping].map(([estate, host]) => `${estate}=${host}`).join(', ')}\n`)
  const passwordFile = join(work, 'restic-password')
  await writeResticPassword(passwordFile)
  const args = ['run', 'playbooks/site.ts', '-i', inventory, '--ssh-config', bed.sshConfig, '--known-hosts', bed.knownHosts, '--identity', bed.identityFile, ...process.argv.slice(2)]
  process.stderr.write(`demo: havn ${args.join(' ')}\n`)
  const res = spawnSync(process.execPath, [`${repo}bin/havn.js`, ...args], { cwd: repo, stdio: 'inherit', env: { ...process.env, HAVN_RESTIC_PASSWORD_FILE: passwordFile } })
  code = res.status ?? 1
} finally {
  if (process.env.HAVN_DEMO_KEEP !== '1') {
    await down(bed.stateDir)
    rmSync(work, { recursive: true, force: true })
  }
}
process.exit(code)
