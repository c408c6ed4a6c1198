import { describe, expect, it } from 'vitest'
import { definePlaybook } from '../../src/engine/define.ts'
import type { RunEvent } from '../../src/engine/events.ts'
import { defineFact } from '../../src/engine/facts.ts'
import { defineHandler } from '../../src/engine/handlers.ts'
import { runPlaybook } from '../../src/engine/run.ts'
import { runStep, type StepResult } from '../../src/engine/step.ts'

const echo = defineFact({ name: 'test.echo', command: (what: string) => `read ${what}`, parse: (r) => r.stdout })
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A step that reads one fact, then makes a change that takes `ms` and may fail. */
function change(name: string, log: string[], o: { ms?: number; fail?: boolean; detachable?: boolean } = {}): Promise<StepResult> {
  return runStep({
    name,
    async plan(ctx) {
      await ctx.fact(echo, name)
      return {
        changes: [{ resource: name, action: 'update' }],
        detachable: o.detachable ?? true,
        // The fake host below makes the change: it takes `ms` and fails on request.
        commands: [{ script: `apply ${JSON.stringify({ name, ms: o.ms ?? 30, fail: o.fail ?? false })}`, display: name, reportOutput: true }],
      }
    },
  })
}

let handlerLog: string[] = []
const handler = defineHandler('test-detached-handler', async () => {
  await change('in handler', handlerLog)
})

async function run(body: (log: string[]) => Promise<void>, handlers = false) {
  const log: string[] = []
  handlerLog = log
  const evs: RunEvent[] = []
  const result = await runPlaybook({
    playbook: definePlaybook({ name: 'p', plays: [{ hosts: 'all', run: async () => {
      await body(log)
      if (handlers) await runStep({ name: 'notify', notify: [handler], plan: async () => ({ changes: [{ resource: 'n', action: 'update' }], detachable: true, commands: [{ script: ':', display: 'notify' }] }) })
    } }] }),
    playbookFile: 'p.ts',
    hosts: new Map([['a', { name: 'a', address: 'a', groups: ['all'], vars: {}, varSources: {} }]]),
    select: () => ['a'],
    check: false,
    connect: async () => ({
      host: 'a',
      async exec(script) {
        if (script.includes('havn.lock')) return { code: 0, stdout: 'acquired\n---\n', stderr: '' }
        const change = /^apply (\{.*\})$/m.exec(script)?.[1]
        if (change) {
          const c = JSON.parse(change) as { name: string; ms: number; fail: boolean }
          log.push(`apply ${c.name} start`)
          await sleep(c.ms)
          if (c.fail) return { code: 1, stdout: '', stderr: `${c.name} broke\n` }
          log.push(`apply ${c.name} end`)
          return { code: 0, stdout: `${c.name} output`, stderr: '' }
        }
        log.push(script.startsWith('read ') ? script : `exec ${script.split('\n').at(-1)}`)
        return { code: 0, stdout: script, stderr: '' }
      },
      async close() {},
    }),
    classify: (e) => ({ kind: 'internal', message: e instanceof Error ? e.message : String(e) }),
    emit: (e) => evs.push(e),
  })
  const steps = evs.flatMap((e) => (e.type === 'step:start' ? [`start ${e.step}`] : e.type === 'step:end' ? [`end ${e.step} ${e.status}`] : []))
  return { log, steps, evs, ...result }
}

describe('detachable changes', () => {
  it("send the next step's reads while the change is made, and report in step order", async () => {
    const { log, steps, evs, recap } = await run(async (log) => {
      const first = await change('one', log)
      expect(first).toMatchObject({ changed: true, status: 'changed' })
      await change('two', log)
    })
    expect(log).toEqual(['read one', 'apply one start', 'read two', 'apply one end', 'apply two start', 'apply two end'])
    expect(steps).toEqual(['start one', 'end one changed', 'start two', 'end two changed'])
    const ends = evs.filter((e) => e.type === 'step:end')
    expect(ends.map((e) => e.type === 'step:end' && e.stdout)).toEqual(['one output', 'two output'])
    expect(recap.a).toMatchObject({ changed: 2, failed: 0 })
  })

  it('a failed change stops the host at that step: nothing after it is applied or started', async () => {
    const { log, steps, recap } = await run(async (log) => {
      await change('one', log, { fail: true })
      await change('two', log)
      log.push('role code after two')
    })
    expect(log).toEqual(['read one', 'apply one start', 'read two'])
    expect(steps).toEqual(['start one', 'end one failed'])
    expect(recap.a).toMatchObject({ changed: 0, failed: 1 })
  })

  it('the last change of a play is made and reported before the host ends', async () => {
    const { log, evs } = await run(async (log) => {
      await change('last', log, { ms: 50 })
    })
    expect(log.at(-1)).toBe('apply last end')
    expect(evs.map((e) => e.type).slice(-4)).toEqual(['step:end', 'host:end', 'play:end', 'recap'])
  })

  it('a handler notification is cleared only after the handler made its change', async () => {
    const { log, steps } = await run(async () => undefined, true)
    expect(log.indexOf('apply in handler end')).toBeGreaterThanOrEqual(0)
    expect(log.findIndex((l) => l.includes('rm -f'))).toBeGreaterThan(log.indexOf('apply in handler end'))
    expect(steps).toEqual(['start notify', 'end notify changed', 'start in handler', 'end in handler changed'])
  })

  it('a change that is not detachable is awaited before the role goes on', async () => {
    const { log } = await run(async (log) => {
      await change('one', log, { detachable: false })
      await change('two', log)
    })
    expect(log.slice(0, 4)).toEqual(['read one', 'apply one start', 'apply one end', 'read two'])
  })
})
