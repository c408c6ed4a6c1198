import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { secret } from '../../src/connection/quote.ts'
import { fileState, parseFileState } from '../../src/facts/file.ts'
import { renderJinja } from '../../src/modules/jinja.ts'
import { templateStep } from '../../src/modules/template.ts'
import { planWith, recorded } from '../support/plan-with.ts'
import { tempDirs } from '../support/temp-dirs.ts'

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/templates/${name}`, import.meta.url))
const fresh = tempDirs('havn-template-')
/** A template written for one case. */
function tpl(text: string): string {
  const path = join(fresh(), 't.j2')
  writeFileSync(path, text)
  return path
}

// fileState output as a Debian 12 bed host prints it: an absent path in an existing directory, and a file.
const ABSENT = parseFileState({ code: 0, stdout: 'absent 1 root root 0022\n', stderr: '' }, '/etc/motd')
const fileWith = (text: string) => {
  const size = Buffer.byteLength(text)
  return parseFileState({ code: 0, stdout: `file 644 0 0 ${size} root root\ncontent\n${Buffer.from(text).toString('base64')}\n`, stderr: '' }, '/etc/motd')
}

describe('renderJinja: Ansible templates render as Jinja2 renders them in Ansible', () => {
  it('renders an Ansible-style site template (loops, conditionals, filters, whitespace control) byte for byte as Jinja2 3.1 does', () => {
    const vars = {
      app_name: 'Shop',
      backends: [{ host: '10.0.0.1' }, { host: '10.0.0.2', port: 9000, backup: true }],
      listen_port: 80,
      server_names: ['shop.example', 'www.shop.example'],
      tls_enabled: true,
      headers: { 'X-Frame-Options': ' DENY ', 'X-Env': 'prod' },
      extra_directives: ['client_max_body_size 10m;', 'gzip on;'],
      env_name: 'prod',
    }
    // Rendered by Jinja2 3.1.6 with trim_blocks and Ansible's trailing newline rule.
    expect(renderJinja(fixture('nginx-site.conf.j2'), vars)).toBe(`# Managed by havn
upstream Shop {
    server 10.0.0.1:8080;
    server 10.0.0.2:9000 backup;
}

server {
    listen 80;
    server_name shop.example www.shop.example;
    ssl_certificate /etc/ssl/shop.pem;
    add_header X-Frame-Options "DENY";
    add_header X-Env "prod";

    client_max_body_size 10m;
    gzip on;
    location / { proxy_pass http://Shop; }
}
# workers: 4, env: PROD, Shop-80
`)
    expect(renderJinja(fixture('nginx-site.conf.j2'), { ...vars, tls_enabled: false, extra_directives: [], workers: 8 })).toContain('    # tls off\n    add_header')
  })

  it('follows Python where JavaScript differs (truth, printing, %, methods, dict iteration), byte for byte as Jinja2 3.1 with Ansible\'s finalize', () => {
    const vars = { empty_list: [], empty_dict: {}, names: ['ann', 'bob'], enabled: true, disabled: false, nothing: null, settings: { a: 1, b: 'two' }, host: 'db1', port: 5432, csv: 'x,y,z' }
    expect(renderJinja(fixture('python-semantics.j2'), vars)).toBe(`empty values are false
fallback 2 yes
True False  ['ann', 'bob'] {'a': 1, 'b': 'two'}
true ['ann', 'bob'] ['x']
a=1
b=two
db1:5432 db1   | db1:5432 2 -----
x y z z pad True ann, bob
True ["ann", "bob"] {
    "a": 1,
    "b": "two"
}
`)
    expect(() => renderJinja(tpl('a\n{% for x in xs if x %}{{ x }}{% endfor %}'), { xs: [1] })).toThrow(/line 2: loop filters \(for x in xs if …\) are not supported/)
  })

  it('does not escape HTML, trims the newline after block and comment tags, and keeps the template\'s trailing newlines', () => {
    expect(renderJinja(tpl('a {{ x }} b\n'), { x: '<a href="x">&</a>' })).toBe('a <a href="x">&</a> b\n')
    expect(renderJinja(tpl('a\n{# note #}\nb\n'), {})).toBe('a\nb\n')
    expect(renderJinja(tpl('  {% if on %}\nyes\n  {% endif %}\n'), { on: true })).toBe('  yes\n  \n')
    expect(renderJinja(tpl('{% if on %}x{% endif %}\n'), { on: true })).toBe('x\n')
    expect(renderJinja(tpl('{% for i in xs -%}\n  {{ i }}\n{%- endfor %}\n'), { xs: [1, 2] })).toBe('12\n')
    expect(renderJinja(tpl('{% raw %}{{ kept }}{# kept #}\n{% endraw %}'), {})).toBe('{{ kept }}{# kept #}\n')
  })

  it('has the filters and idioms Ansible templates use', () => {
    const vars = { users: [{ name: 'ann' }, { name: 'bob' }], dup: [1, 1, 2], cfg: { port: 80, host: 'h' }, flag: 'yes', s: '  x ' }
    const render = (text: string) => renderJinja(tpl(text), vars)
    expect(render("{{ missing | default('y') }} {{ s | trim | upper }} {{ dup | unique | join(',') }}")).toBe('y X 1,2')
    expect(render("{{ users | map(attribute='name') | map('upper') | join('+') }} {{ '%s:%d' | format(cfg.host, cfg.port) }}")).toBe('ANN+BOB h:80')
    expect(render('{% for k, v in cfg.items() %}{{ k }}={{ v }};{% endfor %} {% for k, v in cfg | dictsort %}{{ k }};{% endfor %}')).toBe('port=80;host=h; host;port;')
    expect(render("{{ users | selectattr('name', 'equalto', 'bob') | map(attribute='name') | list }} {{ users | rejectattr('name', 'in', ['ann']) | list | length }} {{ 'x' | int }} {{ dup | sum(start=10) }}")).toBe("['bob'] 1 0 14")
    expect(() => render('{% set ns = namespace(n=0) %}\n{% set ns.n = 1 %}')).toThrow(/, line 2: \{% set ns\.attr = … %\} \(namespace\(\)\) is not supported/)
    expect(render("{{ cfg | to_json }} {{ flag | bool }} {{ 'abc' | regex_replace('b(c)', 'X\\\\1') }} {{ x is defined }}")).toBe('{"port": 80, "host": "h"} True aXc False')
  })

  it('fails on an undefined value naming the template, the line and the variable', () => {
    const motd = fixture('motd.j2')
    expect(() => renderJinja(motd, { host: 'web1', admins: [], contact: {} })).toThrow(`template ${motd}, line 5: 'contact.email' is undefined`)
    expect(() => renderJinja(motd, { admins: [] })).toThrow(`template ${motd}, line 1: 'host' is undefined`)
    const bad = tpl('a\n{# c #}\n  x = {{ name | upper if up else name }}\n')
    expect(() => renderJinja(bad, { up: false })).toThrow(`template ${bad}, line 3: 'name | upper if up else name' is undefined`)
    expect(() => renderJinja(fixture('outer.j2'), {})).toThrow(`template ${fixture('inner.j2')}, line 2: 'inner_port' is undefined`)
    expect(() => renderJinja(tpl('{% if %}'), {})).toThrow(/^template \/.*\.j2, line 1: .*unexpected token/)
  })
})

describe('template (recorded file facts)', () => {
  const motd = fixture('motd.j2')
  const vars = { host: 'web1', admins: ['ann', 'bob'], contact: { email: 'ops@example.org' } }
  const text = 'Welcome to web1.\nAdmins: ann, bob\nContact: ops@example.org\n'

  it('creates the rendered file, predicting it for later steps, and then changes nothing', async () => {
    const plan = await planWith(templateStep({ src: new URL(`file://${motd}`), dest: '/etc/motd', vars, mode: '0644' }), recorded(fileState, ['/etc/motd'], ABSENT))
    expect(plan.changes).toEqual([
      { resource: 'file:/etc/motd', action: 'create', field: 'content', after: text },
      { resource: 'file:/etc/motd', action: 'create', field: 'mode', after: '0644' },
    ])
    expect(plan.predict).toEqual([{ key: 'file.state ["/etc/motd"]', value: expect.objectContaining({ kind: 'file', mode: 0o644, owner: 'root', content: text }) }])
    expect(plan.commands?.[0]).toMatchObject({ stdin: text, display: 'write /etc/motd' })
    const again = await planWith(templateStep({ src: motd, dest: '/etc/motd', vars, mode: '0644' }), recorded(fileState, ['/etc/motd'], fileWith(text)))
    expect(again.changes).toEqual([])
  })

  it('diffs the rendered content against the host\'s file', async () => {
    const plan = await planWith(templateStep({ src: motd, dest: '/etc/motd', vars: { ...vars, admins: [] } }), recorded(fileState, ['/etc/motd'], fileWith(text)))
    expect(plan.changes).toEqual([{ resource: 'file:/etc/motd', action: 'update', field: 'content', before: text, after: 'Welcome to web1.\nContact: ops@example.org\n' }])
  })

  it('treats the file as sensitive when any var is a secret: no diff, no display, stdin marked secret', async () => {
    const canary = 'canary-7f3a91c2-pw'
    const plan = await planWith(
      templateStep({ src: fixture('db.conf.j2'), dest: '/etc/app/db.conf', vars: { db_user: 'app', db_password: secret(canary) } }),
      recorded(fileState, ['/etc/app/db.conf'], fileWith('[database]\nuser = app\npassword = old\n')),
    )
    expect(plan.changes).toEqual([{ resource: 'file:/etc/app/db.conf', action: 'update', field: 'content', sensitive: true }])
    expect(plan.sensitiveValues).toEqual([`[database]\nuser = app\npassword = ${canary}\n`])
    expect(plan.commands?.[0]).toMatchObject({ sensitiveStdin: true })
    // Only stdin (to the host), sensitiveValues (hashed, never shown) and the prediction (in memory, as for `file`) hold it.
    expect(JSON.stringify({ ...plan, sensitiveValues: [], predict: [], commands: plan.commands?.map((c) => ({ ...c, stdin: '' })) })).not.toContain(canary)
    // A secret never reaches an error either.
    const broken = tpl("password = {{ pw }}\n{{ nothing | mandatory('no ' ~ pw) }}\n")
    const err = await planWith(templateStep({ src: broken, dest: '/etc/x', vars: { pw: secret(canary) } }), {}).catch((e: Error) => e.message)
    expect(err).toMatch(/^template \/.*\.j2: no \*\*\*$/)
    expect(err).not.toContain(canary)
  })

  it('fails before reading the host when the template cannot be rendered, and refuses a relative src', async () => {
    await expect(planWith(templateStep({ src: motd, dest: '/etc/motd', vars: { host: 'x', admins: [] } }), {})).rejects.toThrow(`template ${motd}, line 5: 'contact.email' is undefined`)
    await expect(planWith(templateStep({ src: 'templates/motd.j2', dest: '/etc/motd' }), {})).rejects.toThrow('template: src must be an absolute path')
    await expect(planWith(templateStep({ src: join(fresh(), 'none.j2'), dest: '/etc/motd' }), {})).rejects.toThrow(/^template .*none\.j2: template not found/)
  })
})
