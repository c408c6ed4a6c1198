import { describe, expect, it } from 'vitest'
import type { Remote } from '../../src/engine/context.ts'
import { factKey } from '../../src/engine/facts.ts'
import { createHash } from 'node:crypto'
import { fileState, type FileState } from '../../src/facts/file.ts'
import { parseServiceStatus, serviceStatus, type ServiceStatus } from '../../src/facts/service.ts'
import { secret } from '../../src/connection/quote.ts'
import { systemdUnitStep, type SystemdUnitArgs } from '../../src/modules/systemd-unit.ts'
import { planWith, recorded, type RecordedFacts, applyPlan } from '../support/plan-with.ts'

const UNIT = 'app.service'
const PATH = `/etc/systemd/system/${UNIT}`
const TEXT = '[Service]\nExecStart=/bin/sleep 100\n\n[Install]\nWantedBy=multi-user.target\n'

const notFound = parseServiceStatus('init=systemd\nLoadState=not-found\nActiveState=inactive\nUnitFileState=\nNeedDaemonReload=no\nIsEnabled=\n')
const runningEnabled = parseServiceStatus('init=systemd\nLoadState=loaded\nActiveState=active\nUnitFileState=enabled\nNeedDaemonReload=no\nIsEnabled=enabled\n')
const stale = parseServiceStatus('init=systemd\nLoadState=loaded\nActiveState=active\nUnitFileState=enabled\nNeedDaemonReload=yes\nIsEnabled=enabled\n')
const sysv = parseServiceStatus('init=sysv\nexists=no\n')
const absent: FileState = { kind: 'absent', parentIsDirectory: true, creator: { owner: 'root', group: 'root', umask: 0o022 } }
const fileWith = (content: string): FileState => ({
  kind: 'file', mode: 0o644, owner: 'root', group: 'root', uid: 0, gid: 0, size: Buffer.byteLength(content), sha256: createHash('sha256').update(content).digest('hex'), content,
})

function facts(status: ServiceStatus, files: Record<string, FileState>): RecordedFacts {
  const out: Record<string, unknown> = { ...recorded(serviceStatus, [UNIT], status) }
  for (const [p, v] of Object.entries(files)) Object.assign(out, recorded(fileState, [p], v))
  return out
}
const plan = (args: Partial<SystemdUnitArgs>, status: ServiceStatus, files: Record<string, FileState>) =>
  planWith(systemdUnitStep({ name: UNIT, ...args }), facts(status, files))
const recording = (): { remote: Remote; scripts: string[]; displays: string[] } => {
  const scripts: string[] = []
  const displays: string[] = []
  return { scripts, displays, remote: { host: 'h1', exec: async (s, o) => (scripts.push(s), displays.push(o?.display ?? ''), { code: 0, stdout: '', stderr: '' }) } }
}

describe('systemdUnit planning', () => {
  it('creates, verifies, reloads, enables and starts a new unit in one command, predicting it running and enabled', async () => {
    const p = await plan({ content: TEXT, dropIns: { '10-env.conf': '[Service]\nEnvironment=A=1\n' }, enabled: true, state: 'started' }, notFound, {
      [PATH]: absent,
      [`${PATH}.d`]: absent,
      [`${PATH}.d/10-env.conf`]: absent,
    })
    expect(p.changes.map((c) => `${c.resource} ${c.field ?? '-'} ${c.before ?? ''}->${c.after ?? ''}`)).toEqual([
      `file:${PATH} content ->${TEXT}`,
      `file:${PATH} mode ->0644`,
      `directory:${PATH}.d - ->`,
      `file:${PATH}.d/10-env.conf content ->[Service]\nEnvironment=A=1\n`,
      `file:${PATH}.d/10-env.conf mode ->0644`,
      `unit:${UNIT} enabled (new unit)->true`,
      `unit:${UNIT} state (new unit)->running`,
    ])
    const status = p.predict?.find((x) => x.key === factKey(serviceStatus, [UNIT]))
    expect(status?.value).toEqual({ init: 'systemd', exists: true, running: true, enabled: 'enabled', hasLinks: false })
    const r = recording()
    await applyPlan(p, r.remote)
    expect(r.scripts).toHaveLength(1)
    expect(r.displays[0]).toBe(`verify and write write ${PATH}, mkdir ${PATH}.d, write ${PATH}.d/10-env.conf; systemctl daemon-reload; systemctl enable ${UNIT}; systemctl start ${UNIT}`)
    const script = r.scripts[0]!
    // Verification comes before any write, and daemon-reload after the last one.
    expect(script.indexOf('systemd-analyze verify')).toBeLessThan(script.indexOf('mv -f'))
    expect(script.lastIndexOf('mv -f')).toBeLessThan(script.indexOf('systemctl daemon-reload'))
  })

  it('changes nothing when files and state match; reloads only when systemd says its copy is stale', async () => {
    const files = { [PATH]: fileWith(TEXT) }
    expect((await plan({ content: TEXT, enabled: true, state: 'started' }, runningEnabled, files)).changes).toEqual([])
    const p = await plan({ content: TEXT, enabled: true, state: 'started', restartOnChange: true }, stale, files)
    expect(p.changes).toEqual([{ resource: `unit:${UNIT}`, action: 'update', field: 'loaded', before: 'older than its files', after: 'reloaded' }, { resource: `unit:${UNIT}`, action: 'update', field: 'state', before: 'running', after: 'restarted' }])
    const r = recording()
    await applyPlan(p, r.remote)
    expect(r.displays).toEqual([`systemctl daemon-reload; systemctl restart ${UNIT}`])
  })

  it('restarts a running unit on a change only when asked', async () => {
    const files = { [PATH]: fileWith('[Service]\nExecStart=/bin/true\n') }
    const quiet = await plan({ content: TEXT, state: 'started' }, runningEnabled, files)
    expect(quiet.changes.map((c) => c.field)).toEqual(['content'])
    const loud = await plan({ content: TEXT, state: 'started', restartOnChange: true }, runningEnabled, files)
    expect(loud.changes.map((c) => `${c.field} ${c.after}`)).toEqual([`content ${TEXT}`, 'state restarted'])
  })

  it('removes a drop-in given as null, and leaves an absent one alone', async () => {
    const p = await plan({ dropIns: { 'old.conf': null, 'gone.conf': null } }, runningEnabled, {
      [`${PATH}.d`]: { kind: 'directory', mode: 0o755, owner: 'root', group: 'root' },
      [`${PATH}.d/old.conf`]: fileWith('[Service]\nNice=5\n'),
      [`${PATH}.d/gone.conf`]: absent,
    })
    expect(p.changes).toEqual([{ resource: `file:${PATH}.d/old.conf`, action: 'delete', before: 'file (17 bytes)' }])
  })

  it('hides secret content from changes and scrubs it from a verify failure', async () => {
    const token = 'canary-token-6b1d2f'
    const p = await plan({ content: secret(`[Service]\nEnvironment=TOKEN=${token}\nExecStart=/bin/true\n`) }, notFound, { [PATH]: absent })
    expect(JSON.stringify(p.changes)).not.toContain(token)
    const failing: Remote = { host: 'h1', exec: async () => ({ code: 4, stdout: '', stderr: `${PATH}:2: Environment=TOKEN=${token} bad\n` }) }
    const err = (await applyPlan(p, failing).catch((e: unknown) => e)) as Error
    expect(err.message).toContain('exit 4')
    expect(err.message).not.toContain(token)
  })

  it('reports a packaged unit that is not installed as missing, with what it would do', async () => {
    const p = await plan({ dropIns: { '10-limits.conf': '[Service]\nLimitNOFILE=65536\n' }, state: 'started' }, notFound, {
      [`${PATH}.d`]: absent,
      [`${PATH}.d/10-limits.conf`]: absent,
    })
    expect(p.missing).toMatch(/unit app.service does not exist/)
    expect(p.changes.at(-1)).toEqual({ resource: `unit:${UNIT}`, action: 'update', field: 'state', before: '(not installed)', after: 'running' })
  })

  it('refuses what systemd cannot do, before anything is read or written', async () => {
    const files = { [PATH]: absent }
    await expect(plan({ content: TEXT }, sysv, files)).rejects.toThrow(/does not run systemd/)
    await expect(plan({ content: '[Service]\nExecStart=/bin/true\n', enabled: true }, notFound, files)).rejects.toThrow(/no \[Install\] section/)
    await expect(plan({ content: TEXT, state: 'started' }, { ...runningEnabled, enabled: 'masked' }, files)).rejects.toThrow(/masked/)
    await expect(planWith(systemdUnitStep({ name: 'app', content: TEXT }), {})).rejects.toThrow(/'app.service'/)
    await expect(planWith(systemdUnitStep({ name: 'app@.service', content: TEXT, state: 'started' }), {})).rejects.toThrow(/template/)
    await expect(planWith(systemdUnitStep({ name: UNIT, dropIns: { '../x.conf': '' } }), {})).rejects.toThrow(/plain file name/)
  })
})
