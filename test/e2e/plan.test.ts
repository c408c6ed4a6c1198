import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { events, havn, REPO, type CliResult } from './cli.ts'
import { ROLE_HOSTS } from './hosts.ts'
import { bedHosts, changeSet, failures, hostSh, hostsYaml, hostWrites, writeInventory } from './support.ts'

const bed = inject('testbed')
const ssh = ['--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts]
const hosts = bedHosts(bed, ROLE_HOSTS.plan)
const [first, drifting, third] = ROLE_HOSTS.plan
const PLAYBOOK = 'test/e2e/playbooks/plan-estate.ts'
/** The secret file's content: it must appear nowhere, not in the plan and not in any output. */
const CANARY = `plan-canary-${Math.random().toString(36).slice(2)}`
const work = mkdtempSync(join(tmpdir(), 'havn-plan-'))
/** Every run of this file gets its own plan key, so nothing outside the test is used or made. */
const env = { HAVN_PLAN_KEY_FILE: join(work, 'plan-key') }
const outputs: string[] = []

async function cli(args: string[]): Promise<CliResult> {
  const res = await havn(args, { env })
  outputs.push(res.stdout, res.stderr)
  return res
}

const inventory = writeInventory({ 'hosts.yaml': hostsYaml(hosts, () => `motd: hello, token: ${CANARY}`) })
const planPath = join(work, 'maintenance.plan.json')

afterAll(() => rmSync(work, { recursive: true, force: true }))

describe.sequential('plans as data: check --out, show, apply', () => {
  it('check --out saves a plan that holds no secret; show draws it exactly as check did', async () => {
    const before = hosts.map((h) => hostWrites(bed, h.name))
    const check = await cli(['check', PLAYBOOK, '-i', inventory, ...ssh, '--output', 'json', '--out', planPath])
    expect(failures(events(check.stdout))).toEqual([])
    expect(check.code).toBe(2)
    expect(hosts.map((h) => hostWrites(bed, h.name))).toEqual(before)
    const text = readFileSync(planPath, 'utf8')
    const plan = JSON.parse(text) as { format: string; version: number; events: unknown[]; playbook: { files: Record<string, string> }; inventory: { files: Record<string, string> } }
    expect(plan).toMatchObject({ format: 'havn-plan', version: 1 })
    expect(Object.keys(plan.playbook.files)).toContain(PLAYBOOK)
    expect(Object.keys(plan.inventory.files).some((f) => f.endsWith('hosts.yaml'))).toBe(true)
    expect(text).not.toContain(CANARY)

    const show = await cli(['show', planPath, '--output', 'json'])
    expect(show.code).toBe(2)
    expect(show.stdout).toBe(check.stdout)
    const line = await cli(['show', planPath, '--output', 'line'])
    expect(line.stdout).toContain(`${first} |   + file:/etc/havn-plan.motd content`)
  })

  it('apply leaves a drifted host untouched and lists its differences; the others get exactly the plan (exit 5)', async () => {
    const saved = JSON.parse(readFileSync(planPath, 'utf8')) as { events: { type: string; host?: string; status?: string; changes?: { resource: string; field?: string }[] }[] }
    const planned = changeSet(saved.events as never, ['would-change', 'uncertain'])
    // Drift between check and apply: the file the plan would create is already there, by hand.
    await hostSh(bed, drifting, 'echo edited-by-hand > /etc/havn-plan.motd')
    const untouched = hostWrites(bed, drifting)

    const apply = await cli(['apply', planPath, ...ssh, '--output', 'json'])
    expect(apply.code).toBe(5)
    const evs = events(apply.stdout)
    expect(failures(evs)).toEqual([])
    const verdict = evs.find((e) => e.type === 'plan:host' && e.host === drifting)!
    expect(verdict.verdict).toBe('drift')
    expect(verdict.differences.join('\n')).toContain(`${drifting}: file /etc/havn-plan.motd: file:/etc/havn-plan.motd content: the plan expected (none) -> "hello\\n", found "edited-by-hand\\n" -> "hello\\n"`)
    expect(hostWrites(bed, drifting)).toEqual(untouched)
    // The others: what the run changed is exactly what the plan said, host by host.
    expect(changeSet(evs, ['changed'])).toEqual(planned.filter((c) => !c.startsWith(`${drifting} `)))
    expect(await hostSh(bed, third, 'cat /etc/havn-plan.motd; service haproxy status >/dev/null && echo running')).toBe('hello\nrunning\n')
  })

  it('the same plan again changes nothing: applied hosts say so, the drifted one is still refused', async () => {
    const writes = [first, third].map((h) => hostWrites(bed, h))
    const again = await cli(['apply', planPath, ...ssh, '--output', 'json'])
    expect(again.code).toBe(5)
    const evs = events(again.stdout)
    expect(changeSet(evs, ['changed'])).toEqual([])
    expect(evs.filter((e) => e.type === 'plan:host').map((e) => [e.host, e.verdict])).toEqual([[first, 'done'], [drifting, 'drift'], [third, 'done']])
    expect([first, third].map((h) => hostWrites(bed, h))).toEqual(writes)
  })

  it('refuses with exit 4, before contacting any host, an edited plan, a changed inventory and a changed playbook', async () => {
    const writes = hosts.map((h) => hostWrites(bed, h.name))
    const edited = join(work, 'edited.json')
    writeFileSync(edited, readFileSync(planPath, 'utf8').replace('"hello\\n"', '"hullo\\n"'))
    const e1 = await cli(['apply', edited, ...ssh])
    expect(e1.code).toBe(4)
    expect(e1.stderr).toContain('the plan was edited after it was made')

    // A plan made with another inventory: same hosts, one var different.
    const otherInv = writeInventory({ 'hosts.yaml': hostsYaml(hosts, () => `motd: other, token: ${CANARY}`) })
    const otherPlan = join(work, 'other-inventory.json')
    expect((await cli(['check', PLAYBOOK, '-i', otherInv, ...ssh, '--output', 'json', '--out', otherPlan])).code).toBe(2)
    writeFileSync(join(otherInv, 'hosts.yaml'), hostsYaml(hosts, () => `motd: hello, token: ${CANARY}`))
    const e2 = await cli(['apply', otherPlan, ...ssh])
    expect(e2.code).toBe(4)
    expect(e2.stderr).toMatch(/inventory .*hosts\.yaml changed since the plan was made/)

    // A playbook edited after the plan: a copy beside the real one, so it resolves `havn` the same way.
    const dir = mkdtempSync(join(REPO, 'test/e2e/playbooks/.plan-'))
    try {
      const copy = join(dir, 'estate.ts')
      writeFileSync(copy, readFileSync(join(REPO, PLAYBOOK), 'utf8'))
      const pbPlan = join(work, 'playbook.json')
      expect((await cli(['check', copy, '-i', inventory, ...ssh, '--output', 'json', '--out', pbPlan])).code).toBe(2)
      writeFileSync(copy, `${readFileSync(copy, 'utf8')}\n// edited after the plan\n`)
      const e3 = await cli(['apply', pbPlan, ...ssh])
      expect(e3.code).toBe(4)
      expect(e3.stderr).toMatch(/playbook .*estate\.ts: .*estate\.ts changed since the plan was made/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
    expect(hosts.map((h) => hostWrites(bed, h.name))).toEqual(writes)
  })

  it('the secret never appears in any plan or output', () => {
    expect(outputs.length).toBeGreaterThanOrEqual(16)
    for (const o of outputs) expect(o).not.toContain(CANARY)
    for (const f of ['maintenance.plan.json', 'other-inventory.json', 'playbook.json']) expect(readFileSync(join(work, f), 'utf8')).not.toContain(CANARY)
  })
})
