import type { Change, HostRecap } from '../engine/events.ts'
import { isTextChange, unifiedDiff } from './diff.ts'
import { isFailure, type Transcript, type TranscriptStep } from './transcript.ts'

/** HTML text with the characters that could start markup escaped. */
function html(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')
}

const RECAP_FIELDS = ['ok', 'changed', 'wouldChange', 'uncertain', 'failed', 'skipped'] as const satisfies readonly (keyof HostRecap)[]
const RECAP_LABELS: Record<(typeof RECAP_FIELDS)[number], string> = { ok: 'ok', changed: 'changed', wouldChange: 'would change', uncertain: 'uncertain', failed: 'failed', skipped: 'skipped' }

function changeHtml(c: Change): string {
  const head = `<span class="action">${html(c.action)}</span> <code>${html(c.resource)}</code>${c.field ? ` <span class="field">${html(c.field)}</span>` : ''}`
  if (c.sensitive) return `<li>${head}: <em>sensitive, changed</em></li>`
  if (c.before === undefined && c.after === undefined) return `<li>${head}</li>`
  if (isTextChange(c)) {
    const lines = unifiedDiff(c).map((l) => {
      const kind = l.startsWith('+++') || l.startsWith('---') ? 'meta' : l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : l.startsWith('@@') ? 'hunk' : 'ctx'
      return `<span class="${kind}">${html(l)}</span>`
    })
    return `<li>${head}:<pre class="diff" aria-label="diff of ${html(c.resource)}">${lines.join('\n')}</pre></li>`
  }
  return `<li>${head}: <code>${html(c.before ?? '(none)')}</code> → <code>${html(c.after ?? '(none)')}</code></li>`
}

function stepHtml(s: TranscriptStep): string {
  const parts = [`<li class="step ${s.status}"><span class="status">${html(s.status)}</span> <span class="name">${html(s.step)}</span>${s.role ? ` <span class="role">${html(s.role)}</span>` : ''} <span class="time">${s.seconds.toFixed(2)} s</span>`]
  if (s.reason) parts.push(`<p class="reason">${html(s.reason)}</p>`)
  if (s.error) {
    const detail = [s.error.command ? `command: ${s.error.command}` : '', s.error.exitCode !== undefined ? `exit code: ${s.error.exitCode}` : '', s.error.stderrTail ?? ''].filter(Boolean).join('\n')
    parts.push(`<div class="error" role="alert"><strong>${html(s.error.kind)}</strong>: ${html(s.error.message)}${detail ? `<pre>${html(detail)}</pre>` : ''}</div>`)
  }
  if (s.changes.length > 0) parts.push(`<ul class="changes">${s.changes.map(changeHtml).join('')}</ul>`)
  if (s.stdout || s.stderr) parts.push(`<pre class="output">${html([s.stdout ?? '', s.stderr ?? ''].filter(Boolean).join('\n'))}</pre>`)
  parts.push('</li>')
  return parts.join('')
}

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#1b1b1b;background:#fff}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}
table{border-collapse:collapse}th,td{border:1px solid #bbb;padding:.25rem .6rem;text-align:right}th:first-child,td:first-child{text-align:left}
.bad{background:#fde2e2}.warn{background:#fff3cd}
details{border:1px solid #ccc;border-radius:4px;margin:.5rem 0;padding:.3rem .8rem}
summary{cursor:pointer;font-weight:600}summary:focus-visible,a:focus-visible{outline:3px solid #1a5fb4;outline-offset:2px}
ul.steps{list-style:none;padding-left:0}li.step{border-top:1px solid #eee;padding:.4rem 0}
.status{display:inline-block;min-width:7.5rem;font-weight:600}.failed .status,.drift .status,.unreachable .status{color:#a40000}
.changed .status,.would-change .status{color:#8a5a00}.uncertain .status{color:#6b2a86}.ok .status{color:#1e6b2a}
.time,.role{color:#555}.reason{margin:.2rem 0 .2rem 8rem;color:#6b2a86}
.error{margin:.3rem 0 .3rem 8rem;border-left:4px solid #a40000;padding-left:.6rem}
ul.changes{margin:.2rem 0 .2rem 8rem;padding-left:1rem}
pre{background:#f6f6f6;padding:.5rem;overflow-x:auto;white-space:pre-wrap}
.diff .add{color:#0a5c1a;background:#e6ffec}.diff .del{color:#8b0000;background:#ffebe9}.diff .hunk,.diff .meta{color:#555}
`

/**
 * The run as one self-contained HTML page for a reviewer: the recap, then every host with its
 * steps, diffs, uncertain reasons, drift, errors and timings. No script, no external asset, and a
 * policy that forbids loading any; hosts are `<details>` sections, so it works from the keyboard.
 * Only already-masked values appear.
 */
export function htmlReport(t: Transcript, title: string): string {
  const hosts = [...t.hosts.keys()]
  const total = (f: (typeof RECAP_FIELDS)[number]) => hosts.reduce((n, h) => n + (t.recap[h]?.[f] ?? 0), 0)
  const rows = hosts.map((h) => {
    const r = t.recap[h]
    const steps = t.hosts.get(h) ?? []
    const drift = steps.some((s) => s.status === 'drift')
    const cls = r?.failed || r?.unreachable || drift ? ' class="bad"' : r && (r.changed || r.wouldChange || r.uncertain) ? ' class="warn"' : ''
    const cells = RECAP_FIELDS.map((f) => `<td data-host="${html(h)}" data-field="${f}">${r?.[f] ?? 0}</td>`).join('')
    const state = drift ? 'drifted from the plan' : r?.unreachable ? 'unreachable' : r?.notRun ? 'not run' : r ? `${(r.durationMs / 1000).toFixed(1)} s` : 'not run'
    return `<tr${cls}><td><a href="#host-${html(h)}">${html(h)}</a></td>${cells}<td>${html(state)}</td></tr>`
  })
  const sections = hosts.map((h) => {
    const steps = t.hosts.get(h) ?? []
    const bad = steps.some(isFailure)
    const changed = steps.filter((s) => s.changes.length > 0 && !isFailure(s)).length
    const summary = `${html(h)} — ${steps.length} step(s)${changed ? `, ${changed} with changes` : ''}${bad ? ', failed' : ''}`
    return `<details id="host-${html(h)}"${bad || changed ? ' open' : ''}><summary>${summary}</summary><ul class="steps">${steps.map(stepHtml).join('')}</ul></details>`
  })
  const verb = t.mode === 'check' ? 'check (nothing was changed)' : 'apply'
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${html(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${html(title)}</h1><p>Playbook <code>${html(t.playbook)}</code>, ${html(verb)}, ${hosts.length} host(s), ${(t.durationMs / 1000).toFixed(1)} s.</p></header>
<main>
<h2 id="recap">Recap</h2>
<table aria-describedby="recap">
<thead><tr><th scope="col">host</th>${RECAP_FIELDS.map((f) => `<th scope="col">${RECAP_LABELS[f]}</th>`).join('')}<th scope="col">state</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
<tfoot><tr><th scope="row">all hosts</th>${RECAP_FIELDS.map((f) => `<td data-total="${f}">${total(f)}</td>`).join('')}<td></td></tr></tfoot>
</table>
<h2>Hosts</h2>
${sections.join('\n')}
</main>
</body>
</html>
`
}
