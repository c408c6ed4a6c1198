import { describe, expect, it } from 'vitest'
import { classifyError } from '../../src/cli/classify.ts'
import { definePlaybook } from '../../src/engine/define.ts'
import type { RunEvent } from '../../src/engine/events.ts'
import { runPlaybook } from '../../src/engine/run.ts'
import { setErrorClassifier } from '../../src/engine/step.ts'
import type { RetryKeywords } from '../../src/engine/retry.ts'
import { command } from '../../src/modules/command.ts'

/**
 * Runs `command('probe', keywords)` on one fake host whose probe fails (exit 1) for its first
 * `failures` tries and prints `try N` each time; returns the step's end event and every script
 * the host was sent.
 */
async function probe(keywords: RetryKeywords, o: { failures?: number; check?: boolean; creates?: boolean } = {}) {
  const sent: string[] = []
  const evs: RunEvent[] = []
  let tries = 0
  const started = Date.now()
  await runPlaybook({
    playbook: definePlaybook({ name: 'p', plays: [{ hosts: 'all', run: async () => {
      await command('probe', { ...keywords, ...(o.creates ? { creates: '/ready' } : {}) }).catch(() => undefined)
    } }] }),
    playbookFile: 'p.ts',
    hosts: new Map([['a', { name: 'a', address: 'a', groups: ['all'], vars: {}, varSources: {} }]]),
    select: () => ['a'],
    check: o.check ?? false,
    connect: async () => ({
      host: 'a',
      async exec(script) {
        if (script.includes('havn.lock')) return { code: 0, stdout: 'acquired\n---\n', stderr: '' }
        sent.push(script.split('\n').at(-1)!)
        if (script.endsWith('probe')) {
          tries++
          return { code: tries <= (o.failures ?? 0) ? 1 : 0, stdout: `try ${tries}\n`, stderr: tries <= (o.failures ?? 0) ? 'not yet\n' : '' }
        }
        // The creates guard's read: the path "appears" once the probe has run three times.
        if (script.includes('/ready')) return { code: tries >= 3 ? 0 : 1, stdout: '', stderr: '' }
        return { code: 0, stdout: '', stderr: '' }
      },
      async close() {},
    }),
    classify: classifyError,
    emit: (e) => evs.push(e),
  })
  const end = evs.find((e) => e.type === 'step:end')
  if (end?.type !== 'step:end') throw new Error('no step:end')
  return { end, probes: sent.filter((s) => s.endsWith('probe')).length, ms: Date.now() - started }
}

setErrorClassifier(classifyError)

describe('retries, delay and until on every step', () => {
  it('retries a failing step until it succeeds, reporting it once with the number of tries', async () => {
    const { end, probes } = await probe({ retries: 3, delay: 0 }, { failures: 2 })
    expect(probes).toBe(3)
    expect(end).toMatchObject({ status: 'changed', tries: 3, stdout: 'try 3\n' })
  })

  it('runs a step once when it succeeds, and once without keywords even when it fails', async () => {
    expect((await probe({ retries: 3, delay: 0 })).end).not.toHaveProperty('tries')
    const once = await probe({}, { failures: 5 })
    expect(once.probes).toBe(1)
    expect(once.end).toMatchObject({ status: 'failed', error: { kind: 'command' } })
  })

  it('gives up after retries + 1 tries with the last failure', async () => {
    const { end, probes } = await probe({ retries: 2, delay: 0 }, { failures: 9 })
    expect(probes).toBe(3)
    expect(end).toMatchObject({ status: 'failed', tries: 3, error: { kind: 'command', exitCode: 1, stderrTail: 'not yet' } })
  })

  it('until: tries again while the predicate is false, planning afresh each time (a guard that starts to hold ends it)', async () => {
    const seen = await probe({ delay: 0, until: (r) => r.stdout === 'try 2\n' })
    expect(seen.probes).toBe(2)
    expect(seen.end).toMatchObject({ status: 'changed', tries: 2 })
    // Planned again before each try: once the guard's path exists the step is ok, and until sees that.
    const guarded = await probe({ retries: 5, delay: 0, until: (r) => r.status === 'ok' }, { creates: true })
    expect(guarded.probes).toBe(3)
    expect(guarded.end).toMatchObject({ status: 'ok', tries: 4 })
  })

  it('until that never holds fails after its tries (default 3 retries), naming why; a predicate that throws counts as false', async () => {
    const never = await probe({ delay: 0, until: () => false })
    expect(never.probes).toBe(4)
    expect(never.end).toMatchObject({ status: 'failed', tries: 4, error: { kind: 'until', message: 'until was not met after 4 tries (the last one ended changed)' } })
    const throwing = await probe({ retries: 1, delay: 0, until: () => { throw new Error('boom') } })
    expect(throwing.end).toMatchObject({ status: 'failed', tries: 2, error: { kind: 'until' } })
  })

  it('waits delay seconds between tries', async () => {
    const { ms, probes } = await probe({ retries: 2, delay: 0.1 }, { failures: 2 })
    expect(probes).toBe(3)
    expect(ms).toBeGreaterThanOrEqual(200)
  })

  it('check mode never retries: it plans once and reports that plan', async () => {
    const { end, probes } = await probe({ retries: 5, delay: 0, until: () => false }, { check: true })
    expect(probes).toBe(0)
    expect(end).toMatchObject({ status: 'would-change' })
    expect(end).not.toHaveProperty('tries')
  })

  it('refuses retries or a delay out of range, in check mode too, naming the step', async () => {
    for (const check of [false, true]) {
      const bad = await probe({ retries: -1 }, { check })
      expect(bad.probes).toBe(0)
      expect(bad.end).toMatchObject({ status: 'failed', error: { kind: 'refused', message: "step 'probe': retries must be a whole number from 0 to 1000, got -1" } })
    }
    expect((await probe({ retries: 1, delay: Number.NaN })).end.error?.message).toBe("step 'probe': delay must be a number of seconds from 0 to 3600, got NaN")
  })
})
