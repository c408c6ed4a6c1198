import { describe, expect, it } from 'vitest'
import type { RunEvent } from '../../src/engine/events.ts'
import { junitXml } from '../../src/output/junit.ts'
import { Transcript } from '../../src/output/transcript.ts'

const recap = { ok: 1, changed: 1, wouldChange: 0, uncertain: 0, failed: 1, skipped: 0, unreachable: false, notRun: false, durationMs: 12 }

describe('JUnit XML', () => {
  it('has a suite per host, a case per step, failures with kind and message, and the recap as properties', () => {
    const j = new Transcript()
    const evs: RunEvent[] = [
      { type: 'run:start', playbook: 'site <prod>', mode: 'apply', hosts: ['db1', 'web1'] },
      { type: 'step:start', host: 'db1', role: 'pg', step: 'file /etc/a' },
      { type: 'step:end', host: 'db1', role: 'pg', step: 'file /etc/a', status: 'changed', changes: [{ resource: 'file:/etc/a', action: 'update', field: 'content', before: 'x\ny\n', after: 'x\n' }, { resource: 'file:/etc/k', action: 'update', field: 'content', sensitive: true }] },
      { type: 'step:end', host: 'db1', role: 'pg', step: 'restart "pg" & co', status: 'failed', changes: [], error: { kind: 'command', message: 'command failed (exit 1): pg_ctl <x>', exitCode: 1, stderrTail: 'FATAL: bad\u0007 config' } },
      { type: 'host:unreachable', host: 'web1', error: { kind: 'unreachable', message: 'no route' } },
      { type: 'recap', mode: 'apply', hosts: { db1: recap, web1: { ...recap, failed: 0, unreachable: true } }, durationMs: 20 },
    ]
    for (const e of evs) j.onEvent(e)
    j.hostRefused('app1', 'app1: file /etc/b: differs')
    const out = junitXml(j)
    expect(out).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="havn apply site &lt;prod&gt;" tests="4" failures="3">/)
    expect(out).toContain('<testsuite name="db1" tests="2" failures="1" skipped="0"')
    expect(out).toContain('<property name="failed" value="1"/>')
    expect(out).toContain('<testcase classname="db1.pg" name="restart &quot;pg&quot; &amp; co"')
    expect(out).toContain('<failure type="command" message="command failed (exit 1): pg_ctl &lt;x&gt;">FATAL: bad config</failure>')
    expect(out).toContain('update file:/etc/a content: 2 line(s) -&gt; 1 line(s)\nupdate file:/etc/k content: (sensitive)')
    expect(out).toContain('<testcase classname="web1" name="connect"')
    expect(out).toContain('<failure type="drift" message="app1: file /etc/b: differs">')
  })
})
