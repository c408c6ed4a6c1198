import type { Change, HostRecap, RunEvent } from '../engine/events.ts'

/** One `<testcase>`: a step on a host, or a host-level problem (unreachable, drifted from a plan). */
interface Case {
  readonly name: string
  readonly classname: string
  readonly seconds: number
  readonly failure?: { readonly type: string; readonly message: string; readonly detail?: string }
  readonly skipped?: string
  readonly out?: string
}

/** XML text with the five special characters escaped and characters XML cannot hold removed. */
function xml(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
}

function changeLine(c: Change): string {
  const field = c.field ? ` ${c.field}` : ''
  if (c.sensitive) return `${c.action} ${c.resource}${field}: (sensitive)`
  const value = (v: string | undefined) => (v === undefined ? '(none)' : v.includes('\n') ? `${v.replace(/\n$/, '').split('\n').length} line(s)` : v)
  return `${c.action} ${c.resource}${field}: ${value(c.before)} -> ${value(c.after)}`
}

/**
 * Collects a run's events into JUnit XML, as CI systems (GitLab, Jenkins) read it: a test suite per
 * host, a test case per step (failed steps, and hosts that were unreachable or drifted from a plan,
 * are failures; skipped steps are skipped), the host's recap as suite properties. Values are the
 * already-masked event values; nothing else is added.
 */
export class JunitCollector {
  private readonly cases = new Map<string, Case[]>()
  private readonly started = new Map<string, number>()
  private recap: Readonly<Record<string, HostRecap>> = {}
  private playbook = 'havn'
  private mode = 'apply'

  /** Takes one event of the run, in order. */
  onEvent(e: RunEvent): void {
    if (e.type === 'run:start') {
      this.playbook = e.playbook
      this.mode = e.mode
      for (const h of e.hosts) this.of(h)
    } else if (e.type === 'step:start') this.started.set(`${e.host}\n${e.step}`, Date.now())
    else if (e.type === 'step:end') {
      const t0 = this.started.get(`${e.host}\n${e.step}`)
      const c: Case = {
        name: e.step,
        classname: `${e.host}${e.role ? `.${e.role}` : ''}`,
        seconds: t0 === undefined ? 0 : (Date.now() - t0) / 1000,
        ...(e.status === 'failed' && e.error ? { failure: { type: e.error.kind, message: e.error.message, ...(e.error.stderrTail ? { detail: e.error.stderrTail } : {}) } } : {}),
        ...(e.status === 'skipped' ? { skipped: e.reason ?? 'skipped' } : {}),
        out: [`status: ${e.status}`, ...(e.reason ? [`reason: ${e.reason}`] : []), ...e.changes.map(changeLine)].join('\n'),
      }
      this.of(e.host).push(c)
    } else if (e.type === 'host:unreachable') {
      this.of(e.host).push({ name: 'connect', classname: e.host, seconds: 0, failure: { type: e.error.kind, message: e.error.message } })
    } else if (e.type === 'recap') this.recap = e.hosts
  }

  /** A failure of the whole host that is not a step of the run (a host `havn apply` refused). */
  hostFailure(host: string, type: string, message: string): void {
    this.of(host).push({ name: 'matches the plan', classname: host, seconds: 0, failure: { type, message } })
  }

  /** The JUnit XML document. */
  toXml(): string {
    const all = [...this.cases.values()].flat()
    const failures = all.filter((c) => c.failure).length
    const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="${xml(`havn ${this.mode} ${this.playbook}`)}" tests="${all.length}" failures="${failures}">`]
    for (const [host, cases] of this.cases) {
      const r = this.recap[host]
      const time = cases.reduce((s, c) => s + c.seconds, 0)
      lines.push(`  <testsuite name="${xml(host)}" tests="${cases.length}" failures="${cases.filter((c) => c.failure).length}" skipped="${cases.filter((c) => c.skipped !== undefined).length}" time="${time.toFixed(3)}">`)
      if (r) {
        lines.push('    <properties>')
        for (const [k, v] of Object.entries(r)) lines.push(`      <property name="${xml(k)}" value="${xml(String(v))}"/>`)
        lines.push('    </properties>')
      }
      for (const c of cases) {
        lines.push(`    <testcase classname="${xml(c.classname)}" name="${xml(c.name)}" time="${c.seconds.toFixed(3)}">`)
        if (c.failure) lines.push(`      <failure type="${xml(c.failure.type)}" message="${xml(c.failure.message)}">${xml(c.failure.detail ?? c.failure.message)}</failure>`)
        if (c.skipped !== undefined) lines.push(`      <skipped message="${xml(c.skipped)}"/>`)
        if (c.out) lines.push(`      <system-out>${xml(c.out)}</system-out>`)
        lines.push('    </testcase>')
      }
      lines.push('  </testsuite>')
    }
    lines.push('</testsuites>')
    return `${lines.join('\n')}\n`
  }

  private of(host: string): Case[] {
    let list = this.cases.get(host)
    if (!list) this.cases.set(host, (list = []))
    return list
  }
}
