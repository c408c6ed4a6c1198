import { spawn as ptySpawn } from 'node-pty'
import { describe, expect, inject, it } from 'vitest'
import { REPO } from './cli.ts'
import { bedHosts, hostNames, hostsYaml, writeInventory } from './support.ts'

const bed = inject('testbed')

/** Runs the real CLI in a pseudo-terminal and returns everything the terminal received. */
function inTerminal(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const term = ptySpawn(process.execPath, [`${REPO}bin/havn.js`, ...args], {
      name: 'xterm-256color',
      cols: 140,
      rows: 40,
      cwd: REPO,
      env: { ...process.env, NO_COLOR: '', TERM: 'xterm-256color' } as Record<string, string>,
    })
    let out = ''
    term.onData((d) => (out += d))
    const timer = setTimeout(() => {
      term.kill('SIGKILL')
      reject(new Error(`havn did not finish in a terminal:\n${out}`))
    }, 120_000)
    term.onExit(({ exitCode }) => {
      clearTimeout(timer)
      resolve({ code: exitCode, out })
    })
  })
}

// eslint-disable-next-line no-control-regex -- matching terminal escape sequences is the point
const SGR = /\u001b\[[0-9;]*m/g

describe('human output in a real terminal', () => {
  it('draws one live row per host, then the recap, and leaves no escape garbage behind', async () => {
    const hosts = hostNames(1, 10)
    const inv = writeInventory({ 'hosts.yaml': hostsYaml(bedHosts(bed, hosts)) })
    const { code, out } = await inTerminal(['run', 'test/e2e/playbooks/hostname.ts', '-i', inv, '--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts])
    expect(code).toBe(0)
    const plain = out.replace(SGR, '')
    // The live view hid the cursor while drawing; it must be shown again before the recap.
    const hidden = out.lastIndexOf('\u001b[?25l')
    const shown = out.lastIndexOf('\u001b[?25h')
    expect(hidden).toBeGreaterThanOrEqual(0)
    expect(shown).toBeGreaterThan(hidden)
    // The final frame has one finished row per host with its counts.
    for (const h of hosts) expect(plain).toMatch(new RegExp(`✔ ${h} +ok 0 +changed 1`))
    const recapAt = plain.lastIndexOf('RECAP (apply')
    expect(recapAt).toBeGreaterThan(0)
    const tail = plain.slice(recapAt)
    for (const h of hosts) expect(tail).toMatch(new RegExp(`^${h} +: ok=0 +changed=1 .*unreachable=no`, 'm'))
    // After the live view: only plain text and colour codes, no cursor movement or erase sequences.
    expect(out.slice(shown + '\u001b[?25h'.length).replace(SGR, '')).not.toContain('\u001b')
    // Each host's command output was printed once, as a block of its own.
    for (const h of hosts) expect(plain.match(new RegExp(`^${h} +\\|   ${h}\\r?$`, 'gm'))).toHaveLength(1)
  })
})
