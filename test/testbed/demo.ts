/**
 * `npm run demo`: brings up a small local test bed, runs `havn run playbooks/site.ts` against the
 * inventory it generated, then tears the bed down. Extra arguments go to havn (e.g. `-- --output json`).
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { down, up } from './index.ts'

const repo = fileURLToPath(new URL('../../', import.meta.url))
const bed = await up({ count: 3, prefix: 'oslo' })
let code = 1
try {
  const args = ['run', 'playbooks/site.ts', '-i', bed.inventoryDir, '--ssh-config', bed.sshConfig, '--known-hosts', bed.knownHosts, '--identity', bed.identityFile, ...process.argv.slice(2)]
  process.stderr.write(`demo: havn ${args.join(' ')}\n`)
  const res = spawnSync(process.execPath, [`${repo}bin/havn.js`, ...args], { cwd: repo, stdio: 'inherit' })
  code = res.status ?? 1
} finally {
  await down(bed.stateDir)
}
process.exit(code)
