import { execFile } from 'node:child_process'
import { symlink } from 'node:fs/promises'
import { join } from 'node:path'
import { REPO } from './measure.ts'

/**
 * Compiles the benchmark's own helper processes (floor, load probe) to plain JS in `outDir` with the
 * project's tsc, so they start under bare `node` like havn's built CLI: timing them through tsx
 * would add its start-up to the floor and flatter havn's ratios.
 */
export async function compileHelpers(outDir: string): Promise<{ floor: string; loadProbe: string }> {
  const files = ['floor.ts', 'load-probe.ts'].map((f) => join(REPO, 'test/bench', f))
  const args = ['--ignoreConfig', ...files, '--outDir', outDir, '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--skipLibCheck', '--strict']
  await new Promise<void>((resolve, reject) => {
    execFile(join(REPO, 'node_modules/.bin/tsc'), args, { timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`compiling bench helpers failed: ${stdout}${stderr}`)) : resolve()))
  })
  // The compiled floor imports ssh2 by name; resolve it from the repository's node_modules.
  await symlink(join(REPO, 'node_modules'), join(outDir, 'node_modules'))
  return { floor: join(outDir, 'floor.js'), loadProbe: join(outDir, 'load-probe.js') }
}
