import { describe, expect, it } from 'vitest'
import { definePlaybook, defineRole, type Playbook } from '../../src/engine/define.ts'
import type { RunEvent } from '../../src/engine/events.ts'
import { InputError } from '../../src/engine/errors.ts'
import { runPlaybook, type Session } from '../../src/engine/run.ts'
import { pendingChanges } from '../../src/engine/facts.ts'
import { osInfo } from '../../src/facts/os.ts'
import type { EngineHost } from '../../src/engine/vars.ts'
import { command } from '../../src/modules/command.ts'
import { exitCodeFor } from '../../src/cli/exit-codes.ts'

function hostsOf(names: string[], vars: Record<string, Record<string, unknown>> = {}): Map<string, EngineHost> {
  return new Map(names.map((n) => [n, { name: n, address: n, groups: ['all'], vars: vars[n] ?? {}, varSources: { repeat: { file: `host_vars/${n}.yaml` } } }]))
}

/** A session that answers like sh: `test -e` guards from a set of paths, anything else from a script table. */
function fakeSession(host: string, log: string[], existing = new Set<string>()): Session {
  return {
    host,
    async exec(script) {
      if (script.includes('havn.lock')) return { code: 0, stdout: script.includes('st=acquired') ? 'acquired\n---\n' : '', stderr: '' }
      log.push(`${host}: ${script}`)
      const m = /^test -e '(.*)'$/.exec(script)
      if (m) return { code: existing.has(m[1]!) ? 0 : 1, stdout: '', stderr: '' }
      if (script.startsWith('exit ')) return { code: Number(script.slice(5)), stdout: '', stderr: 'boom\n' }
      return { code: 0, stdout: `${host} ran ${script}\n`, stderr: '' }
    },
    async close() {},
  }
}

async function run(playbook: Playbook, names: string[], opts: { check?: boolean; unreachable?: string[]; vars?: Record<string, Record<string, unknown>> } = {}) {
  const log: string[] = []
  const evs: RunEvent[] = []
  const hosts = hostsOf(names, opts.vars)
  const result = await runPlaybook({
    playbook,
    playbookFile: 'site.ts',
    hosts,
    select: () => names,
    check: opts.check ?? false,
    connect: async (h) => {
      if (opts.unreachable?.includes(h.name)) throw new Error(`cannot reach ${h.name}`)
      return fakeSession(h.name, log)
    },
    classify: (e) => ({ kind: 'internal', message: e instanceof Error ? e.message : String(e) }),
    emit: (e) => evs.push(e),
  })
  return { log, evs, ...result }
}

describe('runPlaybook', () => {
  const pb = definePlaybook({ name: 'p', plays: [{ hosts: 'all', async run() { await command('echo hi') } }] })

  it('applies a command on every host and reports it as changed with its output', async () => {
    const { log, evs, recap } = await run(pb, ['a', 'b'])
    expect(log.sort()).toEqual(['a: echo hi', 'b: echo hi'])
    expect(evs.filter((e) => e.type === 'step:end').map((e) => e.type === 'step:end' && e.stdout)).toEqual(expect.arrayContaining(['a ran echo hi\n', 'b ran echo hi\n']))
    expect(recap.a).toMatchObject({ changed: 1, failed: 0, notRun: false })
    expect(evs.at(-1)?.type).toBe('recap')
  })

  it('never runs the command in check mode and reports would-change', async () => {
    const { log, recap } = await run(pb, ['a'], { check: true })
    expect(log).toEqual([])
    expect(recap.a).toMatchObject({ wouldChange: 1, changed: 0 })
    expect(exitCodeFor(recap, { check: true, detailed: false })).toBe(2)
  })

  it('skips a command whose creates guard holds', async () => {
    const guarded = definePlaybook({ name: 'g', plays: [{ hosts: 'all', async run() { await command('make it', { creates: '/done' }) } }] })
    const log: string[] = []
    const evs: RunEvent[] = []
    const { recap } = await runPlaybook({
      playbook: guarded, playbookFile: 'g.ts', hosts: hostsOf(['a']), select: () => ['a'], check: false,
      connect: async (h) => fakeSession(h.name, log, new Set(['/done'])),
      classify: () => ({ kind: 'internal', message: '' }), emit: (e) => evs.push(e),
    })
    expect(log).toEqual(["a: test -e '/done'"])
    expect(recap.a).toMatchObject({ ok: 1, changed: 0 })
  })

  it('stops a failing host at its failed step while the others go on, and later plays skip it', async () => {
    const two = definePlaybook({
      name: 'two',
      plays: [
        { hosts: 'all', async run(h) { await command(h.name === 'b' ? 'exit 3' : 'true') ; await command('after') } },
        { hosts: 'all', async run() { await command('second play') } },
      ],
    })
    const { log, recap } = await run(two, ['a', 'b', 'c'])
    expect(log.filter((l) => l.startsWith('b:'))).toEqual(['b: exit 3'])
    expect(log.filter((l) => l.startsWith('a:'))).toEqual(['a: true', 'a: after', 'a: second play'])
    expect(recap.b).toMatchObject({ failed: 1, changed: 0 })
    expect(exitCodeFor(recap, { check: false, detailed: false })).toBe(1)
  })

  it('marks an unreachable host and runs the rest (exit 3 when nothing failed)', async () => {
    const { recap, evs } = await run(pb, ['a', 'b'], { unreachable: ['b'] })
    expect(recap.b).toMatchObject({ unreachable: true, changed: 0 })
    expect(recap.a).toMatchObject({ changed: 1 })
    expect(evs.find((e) => e.type === 'host:unreachable')).toMatchObject({ host: 'b', error: { message: 'cannot reach b' } })
    expect(exitCodeFor(recap, { check: false, detailed: false })).toBe(3)
  })

  it('rejects vars of the wrong type for every host before connecting, naming file, host and role', async () => {
    const role = defineRole<{ repeat: number }>({
      name: 'r',
      schema: { type: 'object', properties: { repeat: { type: 'integer' } }, required: ['repeat'] },
      defaults: { repeat: 1 },
      async run() {},
    })
    const typed = definePlaybook({ name: 't', plays: [{ hosts: 'all', roles: [role()] }] })
    const err = await run(typed, ['a', 'b'], { vars: { a: { repeat: 'x' }, b: { repeat: [1] } } }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InputError)
    const msg = (err as InputError).message
    expect(msg).toContain('host_vars/a.yaml, host a, role r, at /repeat: must be integer (got string)')
    expect(msg).toContain('host_vars/b.yaml, host b, role r, at /repeat: must be integer (got array)')
  })

  it('refuses an Ansible template that a role would consume, naming the var, file and host', async () => {
    const role = defineRole<{ repeat: string }>({ name: 'r', schema: { type: 'object', properties: { repeat: { type: 'string' } } }, defaults: { repeat: 'x' }, async run() {} })
    const p = definePlaybook({ name: 't', plays: [{ hosts: 'all', roles: [role()] }] })
    const err = await run(p, ['a'], { vars: { a: { repeat: '{{ other | upper }}', unused: '{{ lookup("env", "HOME") }}' } } }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InputError)
    expect((err as InputError).message).toBe(`host_vars/a.yaml, host a, role r: 'repeat' is an Ansible template ("{{ other | upper }}"), which havn does not evaluate; only a plain reference such as "{{ other_var }}" to a defined var is resolved, so set the value itself`)
  })

  it('gives play vars precedence over inventory and defaults', async () => {
    const seen: unknown[] = []
    const role = defineRole<{ n: number; s: string }>({ name: 'r', defaults: { n: 1, s: 'd' }, async run(v) { seen.push(v) } })
    const p = definePlaybook({ name: 'v', plays: [{ hosts: 'all', roles: [role({ s: 'play' })] }] })
    await run(p, ['a'], { vars: { a: { n: 5, s: 'inv', unrelated: true } } })
    expect(seen).toEqual([{ n: 5, s: 'play' }])
  })
})

describe('exitCodeFor', () => {
  const base = { ok: 0, changed: 0, wouldChange: 0, uncertain: 0, failed: 0, skipped: 0, unreachable: false, notRun: false, durationMs: 0 }
  it('orders failure over unreachable over pending', () => {
    expect(exitCodeFor({ a: { ...base, failed: 1 }, b: { ...base, unreachable: true } }, { check: false, detailed: false })).toBe(1)
    expect(exitCodeFor({ a: { ...base, changed: 1 }, b: { ...base, unreachable: true } }, { check: false, detailed: true })).toBe(3)
    expect(exitCodeFor({ a: { ...base, changed: 1 } }, { check: false, detailed: false })).toBe(0)
    expect(exitCodeFor({ a: { ...base, changed: 1 } }, { check: false, detailed: true })).toBe(2)
    expect(exitCodeFor({ a: { ...base, ok: 3 } }, { check: true, detailed: false })).toBe(0)
  })
})

describe('handlers and published values', () => {
  it('runs a notified handler once at the end of the play, after every step of the host', async () => {
    const { defineHandler } = await import('../../src/engine/handlers.ts')
    const reload = defineHandler('test reload once', async () => {
      await command('reload it')
    })
    const p = definePlaybook({
      name: 'h',
      plays: [{ hosts: 'all', async run() { await command('change one', { notify: [reload] }); await command('change two', { notify: [reload] }); await command('last') } }],
    })
    const { log } = await run(p, ['a'])
    const steps = log.map((l) => l.replace(/^a: /, '')).filter((l) => !l.startsWith('for d in'))
    expect(steps.map((l) => l.split('\n').at(-1))).toEqual(['change one', 'change two', 'last', 'reload it'])
    // The notification marker is written in the same command as the change, before it.
    expect(steps[0]).toMatch(/^\{ d=.*test reload once.*\|\| exit 97\nchange one$/s)
    expect(log.some((l) => l.includes('rm -f') && l.includes('test reload once'))).toBe(true)
  })

  it('flushHandlers runs the handlers notified so far, in the middle of a role, and not again at the end', async () => {
    const { defineHandler, flushHandlers } = await import('../../src/engine/handlers.ts')
    const followUp = defineHandler('test flush follow-up', async () => {
      await command('follow up')
    })
    const restart = defineHandler('test flush restart', async () => {
      // A handler may notify another one and flush: it must not run itself again.
      await command('restart now', { notify: [followUp] })
      await flushHandlers()
    })
    const other = defineHandler('test flush later', async () => {
      await command('later handler')
    })
    const p = definePlaybook({
      name: 'flush',
      plays: [{
        hosts: 'all',
        async run() {
          await command('change config', { notify: [restart] })
          await flushHandlers()
          await command('create database', { notify: [other] })
        },
      }],
    })
    const { log, evs } = await run(p, ['a'])
    const steps = log.map((l) => l.replace(/^a: /, '')).filter((l) => !l.startsWith('for d in')).map((l) => l.split('\n').at(-1))
    expect(steps).toEqual(['change config', 'restart now', 'follow up', 'create database', 'later handler'])
    const roles = evs.flatMap((e) => (e.type === 'step:end' ? [`${e.role ?? '-'}: ${e.step}`] : []))
    expect(roles).toEqual(['-: change config', 'handler test flush restart: restart now', 'handler test flush follow-up: follow up', '-: create database', 'handler test flush later: later handler'])
    // Each marker is cleared once, after its handler.
    expect(log.filter((l) => l.includes('rm -f') && l.includes('test flush restart'))).toHaveLength(1)
  })

  it('predicts a handler in check mode without running anything', async () => {
    const { defineHandler } = await import('../../src/engine/handlers.ts')
    const restart = defineHandler('test-restart-check', async () => {
      await command('restart it')
    })
    const p = definePlaybook({ name: 'hc', plays: [{ hosts: 'all', async run() { await command('change', { notify: [restart] }) } }] })
    const { log, evs } = await run(p, ['a'], { check: true })
    expect(log).toEqual([])
    expect(evs.filter((e) => e.type === 'step:end').map((e) => e.type === 'step:end' && [e.role, e.step, e.status])).toEqual([
      [undefined, 'change', 'would-change'],
      ['handler test-restart-check', 'restart it', 'would-change'],
    ])
  })

  it('shows values published in an earlier play to every host, and not within the same play', async () => {
    const seen: Record<string, unknown> = {}
    const p = definePlaybook({
      name: 'pub',
      plays: [
        { hosts: 'all', async run(h) { h.publish('key', `${h.name}-pub`); seen[`${h.name}-same-play`] = h.published('key') } },
        { hosts: 'all', async run(h) { seen[h.name] = h.published('key') } },
      ],
    })
    await run(p, ['a', 'b'])
    expect(seen.a).toEqual({ a: 'a-pub', b: 'b-pub' })
    expect(seen.b).toEqual({ a: 'a-pub', b: 'b-pub' })
    expect(seen['a-same-play']).toEqual({})
  })
})

describe('rolling batches, failure budget and tags', () => {
  it('splits hosts into serial batches and stops once maxFailPercent is spent, leaving the rest not run', async () => {
    const names = ['a', 'b', 'c', 'd', 'e']
    const p = definePlaybook({
      name: 'roll',
      plays: [{ hosts: 'all', serial: [1, '50%'], maxFailPercent: 0, async run(h) { await command(h.name === 'a' ? 'exit 1' : 'true') } }],
    })
    const { evs, recap } = await run(p, names)
    expect(evs.filter((e) => e.type === 'batch:start').map((e) => e.type === 'batch:start' && e.hosts)).toEqual([['a']])
    expect(evs.find((e) => e.type === 'run:stopped')).toBeDefined()
    expect(recap.a).toMatchObject({ failed: 1, notRun: false })
    for (const n of ['b', 'c', 'd', 'e']) expect(recap[n]).toMatchObject({ notRun: true, changed: 0 })
    expect((evs.at(-1) as { stopped?: string }).stopped).toMatch(/1 of 5 host\(s\) failed, over maxFailPercent 0%/)
  })

  it('keeps rolling when failures stay within the budget; the last batch size repeats', async () => {
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g']
    const p = definePlaybook({
      name: 'roll2',
      plays: [{ hosts: 'all', serial: [1, 2], maxFailPercent: 20, async run(h) { await command(h.name === 'b' ? 'exit 1' : 'true') } }],
    })
    const { evs, recap } = await run(p, names)
    expect(evs.filter((e) => e.type === 'batch:start').map((e) => e.type === 'batch:start' && e.hosts)).toEqual([['a'], ['b', 'c'], ['d', 'e'], ['f', 'g']])
    expect(Object.values(recap).filter((r) => r.notRun)).toEqual([])
  })

  it('rejects an invalid serial before connecting', async () => {
    const p = definePlaybook({ name: 'bad', plays: [{ hosts: 'all', serial: '0%', async run() {} }] })
    await expect(run(p, ['a'])).rejects.toThrow(/serial '0%' is not a percentage/)
  })

  it('selects roles by --tags (role names are tags) and drops them by --skip-tags', async () => {
    const ran: string[] = []
    const mk = (name: string) => defineRole({ name, async run(_v, h) { ran.push(`${name}@${h.name}`) } })
    const [x, y, z] = [mk('x'), mk('y'), mk('z')]
    const p = definePlaybook({ name: 't', plays: [{ hosts: 'all', roles: [x(), y({}, { tags: ['db'] }), z({}, { tags: ['always'] })] }] })
    const runTagged = async (tags?: string[], skipTags?: string[]) => {
      ran.length = 0
      await runPlaybook({
        playbook: p, playbookFile: 't.ts', hosts: hostsOf(['a']), select: () => ['a'], check: false, tags, skipTags,
        connect: async (h) => fakeSession(h.name, []), classify: () => ({ kind: 'internal', message: '' }), emit: () => {},
      })
      return [...ran]
    }
    expect(await runTagged()).toEqual(['x@a', 'y@a', 'z@a'])
    expect(await runTagged(['db'])).toEqual(['y@a', 'z@a'])
    expect(await runTagged(['x'])).toEqual(['x@a', 'z@a'])
    expect(await runTagged(undefined, ['db', 'always'])).toEqual(['x@a'])
  })
})

describe('secret vars', () => {
  it('wraps vars declared `secret: true` in the schema, even when the inventory gives a plain string', async () => {
    const { isSecret } = await import('../../src/connection/quote.ts')
    const seen: unknown[] = []
    const role = defineRole<{ token: unknown; plain: string }>({
      name: 'sec',
      schema: { type: 'object', properties: { token: { type: 'string', secret: true }, plain: { type: 'string' } } },
      async run(v) { seen.push(v.token, v.plain) },
    })
    const p = definePlaybook({ name: 's', plays: [{ hosts: 'all', roles: [role()] }] })
    await run(p, ['a'], { vars: { a: { token: 'from-yaml-123', plain: 'visible' } } })
    expect(isSecret(seen[0])).toBe(true)
    expect(String(seen[0])).toBe('***')
    expect(seen[1]).toBe('visible')
  })

  it('wraps `secret: true` inside objects, maps and lists, and leaves the inventory values unwrapped', async () => {
    const { isSecret } = await import('../../src/connection/quote.ts')
    type V = { s3: { keyId: string; key: unknown }; users: { name: string; password: unknown }[]; tokens: Record<string, unknown> }
    const seen: V[] = []
    const role = defineRole<V>({
      name: 'nested',
      schema: {
        type: 'object',
        properties: {
          s3: { type: 'object', properties: { keyId: { type: 'string' }, key: { type: 'string', secret: true } } },
          users: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, password: { type: 'string', secret: true } } } },
          tokens: { type: 'object', additionalProperties: { type: 'string', secret: true } },
        },
      },
      async run(v) { seen.push(v) },
    })
    const inventoryVars = { s3: { keyId: 'AKIA-visible', key: 'canary-s3-key' }, users: [{ name: 'ann', password: 'canary-pw' }], tokens: { ci: 'canary-token' } }
    const p = definePlaybook({ name: 's', plays: [{ hosts: 'all', roles: [role()] }] })
    await run(p, ['a', 'b'], { vars: { a: inventoryVars, b: inventoryVars } })
    expect(seen).toHaveLength(2)
    for (const v of seen) {
      expect(v.s3.keyId).toBe('AKIA-visible')
      expect(isSecret(v.s3.key)).toBe(true)
      expect(v.users[0]?.name).toBe('ann')
      expect(isSecret(v.users[0]?.password)).toBe(true)
      expect(isSecret(v.tokens.ci)).toBe(true)
      expect(JSON.stringify(v)).not.toContain('canary')
    }
    expect(inventoryVars.s3.key).toBe('canary-s3-key')
    expect(inventoryVars.users[0]?.password).toBe('canary-pw')
  })
})

describe('facts and become', () => {
  it('reads facts through sudo in a become play, and separately from facts read without it', async () => {
    const { defineFact } = await import('../../src/engine/facts.ts')
    const whoami = defineFact({ name: 'test.whoami', command: () => 'id -u', parse: (r) => r.stdout.trim() })
    const calls: string[] = []
    const session: Session = {
      host: 'a',
      async exec(script, o) {
        if (script.includes('havn.lock')) return { code: 0, stdout: script.includes('st=acquired') ? 'acquired\n---\n' : '', stderr: '' }
        calls.push(`${script} become=${String(o?.become ?? false)}`)
        return { code: 0, stdout: o?.become ? '0\n' : '1000\n', stderr: '' }
      },
      async close() {},
    }
    const seen: string[] = []
    const p = definePlaybook({
      name: 'b',
      plays: [
        { hosts: 'all', become: true, async run(h) { seen.push(await h.fact(whoami)) } },
        { hosts: 'all', async run(h) { seen.push(await h.fact(whoami)) } },
      ],
    })
    await runPlaybook({
      playbook: p, playbookFile: 'b.ts', hosts: hostsOf(['a']), select: () => ['a'], check: false,
      connect: async () => session, classify: () => ({ kind: 'internal', message: '' }), emit: () => {},
    })
    expect(seen).toEqual(['0', '1000'])
    expect(calls).toEqual(['id -u become=true', 'id -u become=false'])
  })
})

describe('platforms a role declares', () => {
  const tuned = defineRole({ name: 'tuned', platforms: [{ id: 'debian', versions: ['12', '13'] }], async run() { await command('tune') } })
  const plain = defineRole({ name: 'plain', async run() { await command('plain') } })
  // The refused role runs in the second play: the host must fail before the first play changes anything.
  const pb = definePlaybook({ name: 'p', plays: [{ hosts: 'all', roles: [plain()] }, { hosts: 'all', roles: [tuned()] }] })
  const osRelease: Record<string, string> = { new: 'ID=debian\nVERSION_ID="13"\n', old: 'ID=debian\nVERSION_ID="11"\n', other: 'ID=ubuntu\nVERSION_ID="24.04"\n' }

  it('fails a host on any other release before its first play changes anything, naming role, host and both releases', async () => {
    const log: string[] = []
    const evs: RunEvent[] = []
    const names = Object.keys(osRelease)
    const { recap } = await runPlaybook({
      playbook: pb, playbookFile: 'p.ts', hosts: hostsOf(names), select: () => names, check: false,
      connect: async (h) => {
        const inner = fakeSession(h.name, log)
        return { ...inner, exec: async (script, o) => (script.includes('--havn-os--') ? { code: 0, stdout: `${osRelease[h.name]}--havn-os--\ninit=sysv\npm=apt\n`, stderr: '' } : inner.exec(script, o)) }
      },
      classify: (e) => ({ kind: 'unsupported', message: e instanceof Error ? e.message : String(e) }), emit: (e) => evs.push(e),
      platformOf: (host) => host.fact(osInfo),
    })
    expect(log.sort()).toEqual(['new: plain', 'new: tune'])
    expect(recap.new).toMatchObject({ failed: 0, changed: 2 })
    const failed = evs.filter((e) => e.type === 'step:end' && e.status === 'failed')
    expect(failed.map((e) => e.type === 'step:end' && [e.host, e.role, e.step, e.error?.message])).toEqual([
      ['old', 'tuned', 'supported platform', 'role tuned does not support host old: it runs debian 11; the role supports debian 12, 13'],
      ['other', 'tuned', 'supported platform', 'role tuned does not support host other: it runs ubuntu 24.04; the role supports debian 12, 13'],
    ])
    for (const h of ['old', 'other']) expect(recap[h]).toMatchObject({ failed: 1, changed: 0 })
  })
})

describe('pending changes', () => {
  it('lists the resources earlier steps of a check run would change, and nothing in a real run', async () => {
    const seen: (readonly string[])[] = []
    const pb = definePlaybook({
      name: 'p',
      plays: [{ hosts: 'all', async run(host) {
        await command('install x', { creates: '/x', name: 'x' })
        seen.push(await host.fact(pendingChanges))
      } }],
    })
    await run(pb, ['a'], { check: true })
    await run(pb, ['a'])
    expect(seen).toEqual([['command:install x'], []])
  })
})
