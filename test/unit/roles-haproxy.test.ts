import { describe, expect, it } from 'vitest'
import { burstServerLine, coreServerLine, endpoint, renderConfig } from '../../roles/haproxy-burst/render.ts'
import { defaults, schema, type HaproxyBurstVars } from '../../roles/haproxy-burst/schema.ts'
import { validateSchema } from '../../src/schema/validate.ts'

const vars = (over: Partial<HaproxyBurstVars> = {}): HaproxyBurstVars => ({
  ...defaults,
  coreServers: [
    { name: 'core-1', address: '10.10.1.5', port: 80 },
    { name: 'core-2', address: '10.10.1.6', port: 80, weight: 50 },
  ],
  burstServers: [{ name: 'burst-1', address: '192.168.5.10', port: 80 }],
  ...over,
})

describe('haproxy-burst render', () => {
  it('renders the seed backend: weighted checked core, backup burst, HEAD /health with a Host header', () => {
    const cfg = renderConfig(vars())
    expect(cfg).toContain(
      [
        'backend app_nodes',
        '\tbalance roundrobin',
        '\toption httpchk',
        '\thttp-check send meth HEAD uri /health ver HTTP/1.1 hdr Host www.example.com',
        '\tdefault-server inter 2s fall 3 rise 2',
        '\tserver core-1 10.10.1.5:80 check weight 100',
        '\tserver core-2 10.10.1.6:80 check weight 50',
        '\tserver burst-1 192.168.5.10:80 check backup',
        '',
      ].join('\n'),
    )
    expect(cfg).toContain('frontend www\n\tbind *:80\n\tdefault_backend app_nodes\n')
    expect(cfg).toContain('\tmode http\n')
    expect(cfg).not.toContain('allbackups')
    expect(cfg.endsWith('\n')).toBe(true)
  })

  it('is deterministic for equal vars', () => {
    expect(renderConfig(vars())).toBe(renderConfig(structuredClone(vars())))
  })

  it('lets several burst servers share the load once the core is down', () => {
    const cfg = renderConfig(vars({ burstServers: [{ name: 'b1', address: '192.0.2.1', port: 80 }, { name: 'b2', address: '192.0.2.2', port: 80 }] }))
    expect(cfg).toContain('\toption allbackups\n')
  })

  it('renders vars into the right places', () => {
    const cfg = renderConfig(
      vars({ bindAddress: '192.0.2.7', frontendPort: 8443, healthMethod: 'GET', healthPath: '/ready?x=1', healthHost: 'app.example.test', checkInter: '500ms', fall: 5, rise: 4, timeoutHttpKeepAlive: '3s', extraBackendLines: ['  http-response set-header X-A 1'] }),
    )
    expect(cfg).toContain('\tbind 192.0.2.7:8443\n')
    expect(cfg).toContain('\thttp-check send meth GET uri /ready?x=1 ver HTTP/1.1 hdr Host app.example.test\n')
    expect(cfg).toContain('\tdefault-server inter 500ms fall 5 rise 4\n')
    expect(cfg).toContain('\ttimeout http-keep-alive 3s\n')
    expect(cfg.trimEnd().endsWith('\thttp-response set-header X-A 1')).toBe(true)
  })

  it('prefixes IPv6 addresses so their colons are not read as the port', () => {
    expect(endpoint('fd00::1', 8080)).toBe('ipv6@fd00::1:8080')
    expect(coreServerLine({ name: 'c', address: 'fd00::1', port: 80, weight: 0 })).toBe('server c ipv6@fd00::1:80 check weight 0')
    expect(burstServerLine({ name: 'b', address: 'burst.example.test', port: 81 })).toBe('server b burst.example.test:81 check backup')
  })

  it('refuses a server name used twice', () => {
    expect(() => renderConfig(vars({ burstServers: [{ name: 'core-1', address: '192.0.2.1', port: 80 }] }))).toThrow(/'core-1' is used twice/)
  })
})

describe('haproxy-burst schema', () => {
  it('accepts the defaults with core servers', () => {
    expect(validateSchema(schema, vars())).toEqual([])
  })

  it('requires at least one core server', () => {
    expect(validateSchema(schema, { ...defaults }).map((p) => p.pointer)).toEqual(['/coreServers'])
    expect(validateSchema(schema, { ...defaults, coreServers: [] }).map((p) => p.pointer)).toEqual(['/coreServers'])
  })

  it('rejects names and addresses that would break or inject config', () => {
    const bad = vars({
      coreServers: [
        { name: 'core 1', address: '10.0.0.1', port: 80 },
        { name: 'ok', address: '10.0.0.1:80', port: 80 },
        { name: 'ok2', address: '10.0.0.1', port: 0, weight: 300 },
      ],
      burstServers: [{ name: 'b', address: 'x\nlisten evil', port: 80 }],
      healthPath: '/health check',
      healthHost: 'www.example.com\r\nX: y',
      extraBackendLines: ['a\nb'],
      checkInter: '2 s',
    })
    const pointers = validateSchema(schema, bad).map((p) => p.pointer)
    for (const p of ['/coreServers/0/name', '/coreServers/1/address', '/coreServers/2/port', '/coreServers/2/weight', '/burstServers/0/address', '/healthPath', '/healthHost', '/extraBackendLines/0', '/checkInter']) {
      expect(pointers, p).toContain(p)
    }
  })

  it('reports a value that fits no alternative once, naming each alternative and never the value', () => {
    const problems = validateSchema(schema, vars({ bindAddress: 'canary-1.2.3', coreServers: [{ name: 'a', address: 'canary not an address', port: 80 }] }))
    expect(problems).toEqual([
      { pointer: '/bindAddress', message: 'must be one of: "*" | format ipv4 | format ipv6 (got string)' },
      { pointer: '/coreServers/0/address', message: 'must be one of: format ipv4 | format ipv6 | format hostname (got string)' },
    ])
  })

  it('rejects unknown vars', () => {
    expect(validateSchema(schema, { ...vars(), maxFails: 3 }).map((p) => p.message)).toContain("unknown var 'maxFails'")
  })
})
