import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { openInBrowser } from './browser.ts'
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
const env = { HAVN_PLAN_KEY_FILE: join(work, 'plan-key'), HAVN_RUNS_DIR: join(work, 'runs') }
const outputs: string[] = []

async function cli(args: string[]): Promise<CliResult> {
  const res = await havn(args, { env })
  outputs.push(res.stdout, res.stderr)
  return res
}

/** The content of a file marked `sensitive: true`: never shown either. */
const NOTE = `note-canary-${Math.random().toString(36).slice(2)}`
const inventory = writeInventory({ 'hosts.yaml': hostsYaml(hosts, () => `motd: hello, token: ${CANARY}, note: ${NOTE}`) })
const planPath = join(work, 'maintenance.plan.json')
const reportPath = join(work, 'apply.report.html')

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

    const junitPath = join(work, 'apply.junit.xml')
    const apply = await cli(['apply', planPath, ...ssh, '--output', 'json', '--junit', junitPath, '--report', reportPath])
    expect(apply.code).toBe(5)
    const evs = events(apply.stdout)
    expect(failures(evs)).toEqual([])
    // CI reads the same verdict: the drifted host is a failure, every applied step a test case.
    const junit = readFileSync(junitPath, 'utf8')
    expect(junit).toMatch(new RegExp(`<testsuite name="${drifting}" tests="1" failures="1"`))
    expect(junit).toContain('<failure type="drift"')
    expect(junit).toMatch(new RegExp(`<testsuite name="${first}" tests="5" failures="0"`))
    outputs.push(junit)
    const verdict = evs.find((e) => e.type === 'plan:host' && e.host === drifting)!
    expect(verdict.verdict).toBe('drift')
    expect(verdict.differences.join('\n')).toContain(`${drifting}: file /etc/havn-plan.motd: file:/etc/havn-plan.motd content: the plan expected (none) -> "hello\\n", found "edited-by-hand\\n" -> "hello\\n"`)
    expect(hostWrites(bed, drifting)).toEqual(untouched)
    // The run record counts the refused host as failed, so `--limit @last-failed` would take it up.
    expect(JSON.parse(readFileSync(join(work, 'runs', 'last.json'), 'utf8'))).toMatchObject({ command: 'apply', failed: [drifting] })
    // The others: what the run changed is exactly what the plan said, host by host.
    expect(changeSet(evs, ['changed'])).toEqual(planned.filter((c) => !c.startsWith(`${drifting} `)))
    expect(await hostSh(bed, third, 'cat /etc/havn-plan.motd; service haproxy status >/dev/null && echo running')).toBe('hello\nrunning\n')
  })

  it('the HTML report of that apply reads in a real browser: no request, no console error, counts equal to the recap, a visible diff, the drift, no secret', async () => {
    const source = readFileSync(reportPath, 'utf8')
    expect(source).not.toContain(CANARY)
    const recap = events(outputs.find((o) => o.includes('"type":"recap"') && o.includes('"mode":"apply"'))!).at(-1)!.hosts as Record<string, Record<string, number>>
    const loaded = await openInBrowser(pathToFileURL(reportPath).href)
    try {
      const { page } = loaded
      expect(loaded.failedRequests).toEqual([])
      expect(loaded.consoleErrors).toEqual([])
      const cells = await page.$$eval('td[data-host]', (tds) => tds.map((td) => [td.getAttribute('data-host'), td.getAttribute('data-field'), Number(td.textContent)] as const))
      for (const [host, field, value] of cells) expect(value, `${host} ${field}`).toBe(recap[host!]?.[field!] ?? 0)
      expect(cells.filter(([h]) => h === first).find(([, f]) => f === 'changed')?.[2]).toBeGreaterThan(0)
      // A diff is shown, with the added line marked.
      expect(await page.$eval(`#host-${first} .diff .add:last-child`, (el) => [el.textContent, el.getClientRects().length > 0])).toEqual(['+hello', true])
      expect(await page.$eval(`#host-${drifting}`, (el) => el.textContent)).toContain('the plan expected (none)')
      // From the keyboard: Tab reaches a host's summary, Enter closes it and opens it again.
      const summary = `#host-${third} > summary`
      await page.focus(summary)
      expect(await page.$eval(`#host-${third}`, (el) => el.hasAttribute('open'))).toBe(true)
      await page.keyboard.press('Enter')
      expect(await page.$eval(`#host-${third}`, (el) => el.hasAttribute('open'))).toBe(false)
      await page.keyboard.press('Enter')
      expect(await page.$eval(`#host-${third}`, (el) => el.hasAttribute('open'))).toBe(true)
      expect(await page.content()).not.toContain(CANARY)
      expect(await page.$eval('body', (b) => b.textContent)).not.toContain(CANARY)
      // The screenshot: the page as a reviewer sees it, recap table and hosts drawn.
      const shot = Buffer.from(await page.screenshot({ fullPage: true, type: 'png' }))
      expect(shot.subarray(1, 4).toString()).toBe('PNG')
      expect(shot.readUInt32BE(16)).toBeGreaterThanOrEqual(600)
      expect(shot.readUInt32BE(20)).toBeGreaterThan(400)
      writeFileSync(join(work, 'report.png'), shot)
    } finally {
      await loaded.close()
    }
  })

  it('the same plan again changes nothing: applied hosts say so, the drifted one is still refused', async () => {
    const writes = [first, third].map((h) => hostWrites(bed, h))
    const again = await cli(['apply', planPath, ...ssh, '--output', 'json'])
    expect(again.code).toBe(5)
    const evs = events(again.stdout)
    expect(changeSet(evs, ['changed'])).toEqual([])
    expect(evs.filter((e) => e.type === 'plan:host').map((e) => [e.host, e.verdict])).toEqual([[first, 'done'], [drifting, 'drift'], [third, 'done']])
    // One recap for every host of the plan: nothing done anywhere, the refused host marked not run.
    const recap = evs.at(-1)!
    expect(recap).toMatchObject({ type: 'recap', mode: 'apply' })
    expect(Object.keys(recap.hosts).sort()).toEqual([first, drifting, third].sort())
    expect(recap.hosts[drifting]).toMatchObject({ changed: 0, wouldChange: 0, notRun: true })
    expect(recap.hosts[first]).toMatchObject({ changed: 0, wouldChange: 0, notRun: false })
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
    const otherInv = writeInventory({ 'hosts.yaml': hostsYaml(hosts, () => `motd: other, token: ${CANARY}, note: ${NOTE}`) })
    const otherPlan = join(work, 'other-inventory.json')
    expect((await cli(['check', PLAYBOOK, '-i', otherInv, ...ssh, '--output', 'json', '--out', otherPlan])).code).toBe(2)
    writeFileSync(join(otherInv, 'hosts.yaml'), hostsYaml(hosts, () => `motd: hello, token: ${CANARY}, note: ${NOTE}`))
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

  it('a host the plan leaves alone that drifted (a service stopped, a package removed) is refused too; the rest gets exactly the plan', async () => {
    const second = join(work, 'second.plan.json')
    const check = await cli(['check', PLAYBOOK, '-i', inventory, ...ssh, '--output', 'json', '--out', second])
    expect(check.code).toBe(2)
    const planned = changeSet(events(check.stdout), ['would-change', 'uncertain'])
    expect(planned.every((c) => c.startsWith(`${drifting} `))).toBe(true)
    await hostSh(bed, first, 'service haproxy stop >/dev/null 2>&1 </dev/null')
    await hostSh(bed, third, 'DEBIAN_FRONTEND=noninteractive apt-get remove -y -q haproxy >/dev/null 2>&1')
    const untouched = [first, third].map((h) => hostWrites(bed, h))

    const apply = await cli(['apply', second, ...ssh, '--output', 'json'])
    expect(apply.code).toBe(5)
    const evs = events(apply.stdout)
    const verdicts = Object.fromEntries(evs.filter((e) => e.type === 'plan:host').map((e) => [e.host, e]))
    expect(verdicts[first]?.verdict).toBe('drift')
    expect(verdicts[first]?.differences.join('\n')).toContain(`${first}: service haproxy started, enabled: service:haproxy state: not in the plan, now it would change ("stopped" -> "running")`)
    expect(verdicts[third]?.verdict).toBe('drift')
    expect(verdicts[third]?.differences.join('\n')).toMatch(new RegExp(`${third}: packages present haproxy: package:haproxy version: not in the plan`))
    expect([first, third].map((h) => hostWrites(bed, h))).toEqual(untouched)
    expect(changeSet(evs, ['changed'])).toEqual(planned)
    expect(await hostSh(bed, drifting, 'cat /etc/havn-plan.motd')).toBe('hello\n')
  })

  it('a host that drifts in the middle of an apply stops at the step that differs, and says so', async () => {
    const [mid] = bedHosts(bed, ROLE_HOSTS.planMidway)
    const inv = writeInventory({ 'hosts.yaml': hostsYaml([mid!]) })
    const midPlan = join(work, 'midway.plan.json')
    expect((await cli(['check', 'test/e2e/playbooks/plan-midway.ts', '-i', inv, ...ssh, '--output', 'json', '--out', midPlan])).code).toBe(2)
    const applying = cli(['apply', midPlan, ...ssh, '--output', 'json'])
    // Once the first file is written the pause runs for 3 s (bounded wait: 10 s); then the second
    // file appears by hand: the plan would create it, now it would update it.
    const wait = 'for i in $(seq 100); do [ -f /etc/havn-mid.a ] && break; sleep 0.1; done; cat /etc/havn-mid.a'
    expect(await hostSh(bed, mid!.name, wait)).toBe('a\n')
    await hostSh(bed, mid!.name, 'echo by-hand > /etc/havn-mid.b')
    const res = await applying
    expect(res.code).toBe(1)
    const [failed] = failures(events(res.stdout))
    expect(failed).toMatchObject({ host: mid!.name, step: 'file /etc/havn-mid.b', error: { kind: 'drift' } })
    expect(failed!.error.message).toContain('the host no longer matches the plan, so this step and the rest of the host were not applied')
    expect(failed!.error.message).toContain('file:/etc/havn-mid.b content: the plan expected (none) -> "b\\n", found "by-hand\\n" -> "b\\n"')
    expect(changeSet(events(res.stdout), ['changed'])).toEqual([`${mid!.name} command:sleep 3 -`, `${mid!.name} file:/etc/havn-mid.a content`, `${mid!.name} file:/etc/havn-mid.a mode`])
    expect(await hostSh(bed, mid!.name, 'cat /etc/havn-mid.b')).toBe('by-hand\n')
  })

  it('a secret from outside the inventory that changed between check and apply is drift; the one the plan was made with applies', async () => {
    const [mid] = bedHosts(bed, ROLE_HOSTS.planMidway)
    const inv = writeInventory({ 'hosts.yaml': hostsYaml([mid!]) })
    const tokenPlan = join(work, 'token.plan.json')
    const withToken = (token: string) => ({ ...env, HAVN_E2E_TOKEN: token })
    const check = await havn(['check', 'test/e2e/playbooks/plan-token.ts', '-i', inv, ...ssh, '--output', 'json', '--out', tokenPlan], { env: withToken(CANARY) })
    expect(check.code).toBe(2)
    const other = await havn(['apply', tokenPlan, ...ssh, '--output', 'json'], { env: withToken(NOTE) })
    expect(other.code).toBe(5)
    const verdict = events(other.stdout).find((e) => e.type === 'plan:host')!
    expect(verdict.differences).toEqual([`${mid!.name}: file /etc/havn-plan.token2: a secret value it sets is not the one the plan was made with`])
    expect((await hostSh(bed, mid!.name, 'test -e /etc/havn-plan.token2 && echo there || echo absent'))).toBe('absent\n')
    const same = await havn(['apply', tokenPlan, ...ssh, '--output', 'json'], { env: withToken(CANARY) })
    expect(same.code).toBe(0)
    expect(await hostSh(bed, mid!.name, 'cat /etc/havn-plan.token2')).toBe(CANARY)
    for (const o of [check, other, same]) outputs.push(o.stdout, o.stderr)
    outputs.push(readFileSync(tokenPlan, 'utf8'))
  })

  it('neither secret ever appears in any plan, report or output', () => {
    expect(outputs.length).toBeGreaterThanOrEqual(16)
    const files = ['maintenance.plan.json', 'other-inventory.json', 'playbook.json', 'second.plan.json', 'apply.junit.xml', 'apply.report.html'].map((f) => readFileSync(join(work, f), 'utf8'))
    for (const o of [...outputs, ...files]) {
      expect(o).not.toContain(CANARY)
      expect(o).not.toContain(NOTE)
    }
    // The files were made: the sensitive one is there, its content hidden.
    expect(files[0]).toContain('file:/etc/havn-plan.note')
  })
})
