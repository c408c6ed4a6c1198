import type { Change } from '../engine/events.ts'
import { isFailure, type Transcript } from './transcript.ts'

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
 * A run as JUnit XML, as CI systems (GitLab, Jenkins) read it: a test suite per host with its
 * recap as properties, a test case per step; failed steps, unreachable hosts and hosts that
 * drifted from a plan are failures, skipped steps are skipped. Only already-masked values appear.
 */
export function junitXml(t: Transcript): string {
  const all = [...t.hosts.values()].flat()
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="${xml(`havn ${t.mode} ${t.playbook}`)}" tests="${all.length}" failures="${all.filter(isFailure).length}">`]
  for (const [host, steps] of t.hosts) {
    const time = steps.reduce((s, c) => s + c.seconds, 0)
    lines.push(`  <testsuite name="${xml(host)}" tests="${steps.length}" failures="${steps.filter(isFailure).length}" skipped="${steps.filter((s) => s.status === 'skipped').length}" time="${time.toFixed(3)}">`)
    const r = t.recap[host]
    if (r) {
      lines.push('    <properties>')
      for (const [k, v] of Object.entries(r)) lines.push(`      <property name="${xml(k)}" value="${xml(String(v))}"/>`)
      lines.push('    </properties>')
    }
    for (const s of steps) {
      lines.push(`    <testcase classname="${xml(`${host}${s.role ? `.${s.role}` : ''}`)}" name="${xml(s.step)}" time="${s.seconds.toFixed(3)}">`)
      if (isFailure(s) && s.error) lines.push(`      <failure type="${xml(s.error.kind)}" message="${xml(s.error.message)}">${xml(s.error.stderrTail ?? s.error.message)}</failure>`)
      if (s.status === 'skipped') lines.push(`      <skipped message="${xml(s.reason ?? 'skipped')}"/>`)
      const out = [`status: ${s.status}`, ...(s.reason ? [`reason: ${s.reason}`] : []), ...s.changes.map(changeLine)].join('\n')
      lines.push(`      <system-out>${xml(out)}</system-out>`)
      lines.push('    </testcase>')
    }
    lines.push('  </testsuite>')
  }
  lines.push('</testsuites>')
  return `${lines.join('\n')}\n`
}
