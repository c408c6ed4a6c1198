import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { fixKeyModeScript, keygenScript, keyModeIsRight, linkExists, SYNC_PEERS_SCRIPT, upScript, wireguardPublicKey } from '../../roles/wireguard-hub/host-state.ts'
import { formatEndpoint, hostRoute, keyPlaceholder, MANAGED_MARK, networkOf, renderHubConf, renderSpokeConf } from '../../roles/wireguard-hub/render.ts'
import { defaults, schema } from '../../roles/wireguard-hub/schema.ts'
import { validateSchema } from '../../src/schema/validate.ts'

const KEY_A = 'SNd7ReaqSDRn31BnXV2BRzqTXKti0DiQHWT766/OpFY='
const KEY_B = 'DYUp5n0eCLNXkllUW0dEjKA+17fsW+2Z4KeFTo+d/xE='

describe('renderHubConf', () => {
  const peers = [
    { name: 'host10', publicKey: KEY_B, tunnelAddress: '10.10.0.10/32' },
    { name: 'host9', publicKey: null, tunnelAddress: '10.10.0.9/24' },
  ]

  it('renders interface, NAT rules of the seed and peers sorted by host name, with no private key', () => {
    const text = renderHubConf({ iface: 'wg0', address: '10.10.0.1/24', listenPort: 51820, mtu: 1360, natEgressInterface: 'eth0', peers })
    expect(text).toBe(
      [
        MANAGED_MARK,
        '# The private key stays in /etc/wireguard/wg0.key; PostUp loads it, so this file holds no secret.',
        '[Interface]',
        'Address = 10.10.0.1/24',
        'ListenPort = 51820',
        'MTU = 1360',
        'PostUp = wg set %i private-key /etc/wireguard/wg0.key',
        'PostUp = iptables -A FORWARD -i wg0 -j ACCEPT; iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE',
        'PostDown = iptables -D FORWARD -i wg0 -j ACCEPT; iptables -t nat -D POSTROUTING -o eth0 -j MASQUERADE',
        '',
        '# host9',
        '[Peer]',
        `PublicKey = ${keyPlaceholder('host9')}`,
        'AllowedIPs = 10.10.0.9/32',
        '',
        '# host10',
        '[Peer]',
        `PublicKey = ${KEY_B}`,
        'AllowedIPs = 10.10.0.10/32',
        '',
      ].join('\n'),
    )
    expect(text).not.toMatch(/PrivateKey/)
  })

  it('is deterministic whatever order peers arrive in, and has no NAT lines unless asked', () => {
    const a = renderHubConf({ iface: 'wg1', address: '10.10.0.1/24', listenPort: 51821, mtu: 1420, peers })
    const b = renderHubConf({ iface: 'wg1', address: '10.10.0.1/24', listenPort: 51821, mtu: 1420, peers: [...peers].reverse() })
    expect(a).toBe(b)
    expect(a).not.toMatch(/iptables|PostDown/)
    expect(a).toContain('PostUp = wg set %i private-key /etc/wireguard/wg1.key\n')
  })
})

describe('renderSpokeConf', () => {
  const base = {
    iface: 'wg0',
    address: '10.10.0.2/32',
    mtu: 1360,
    hub: { name: 'oslo-hub', publicKey: KEY_A, endpoint: '192.0.2.10:51820' },
    allowedIps: ['10.10.0.0/24'],
    persistentKeepalive: 25,
  }

  it('renders the hub as the one peer with endpoint and keepalive, and no DNS line unless set', () => {
    expect(renderSpokeConf(base)).toBe(
      [
        MANAGED_MARK,
        '# The private key stays in /etc/wireguard/wg0.key; PostUp loads it, so this file holds no secret.',
        '[Interface]',
        'Address = 10.10.0.2/32',
        'MTU = 1360',
        'PostUp = wg set %i private-key /etc/wireguard/wg0.key',
        '',
        '# hub: oslo-hub',
        '[Peer]',
        `PublicKey = ${KEY_A}`,
        'Endpoint = 192.0.2.10:51820',
        'AllowedIPs = 10.10.0.0/24',
        'PersistentKeepalive = 25',
        '',
      ].join('\n'),
    )
  })

  it('adds DNS when set, drops keepalive 0, and shows a placeholder for an unknown hub key', () => {
    const text = renderSpokeConf({ ...base, dns: ['10.10.0.1', '10.10.0.53'], persistentKeepalive: 0, allowedIps: ['0.0.0.0/0'], hub: { ...base.hub, publicKey: null } })
    expect(text).toContain('MTU = 1360\nDNS = 10.10.0.1, 10.10.0.53\nPostUp')
    expect(text).not.toContain('PersistentKeepalive')
    expect(text).toContain('AllowedIPs = 0.0.0.0/0\n')
    expect(text).toContain('PublicKey = (key generated on oslo-hub during the run)\n')
  })
})

describe('address helpers', () => {
  it('derives the mesh subnet from the hub address', () => {
    expect(networkOf('10.10.0.1/24')).toBe('10.10.0.0/24')
    expect(networkOf('10.100.7.200/16')).toBe('10.100.0.0/16')
    expect(networkOf('172.16.5.9/32')).toBe('172.16.5.9/32')
    expect(networkOf('192.168.255.255/0')).toBe('0.0.0.0/0')
    expect(networkOf('fd00:10::1/64')).toBe('fd00:10::1/64')
    expect(() => networkOf('10.10.0/24')).toThrow(/not an IPv4 address/)
  })

  it('turns a tunnel address into the single-host route a peer may send from', () => {
    expect(hostRoute('10.10.0.2/32')).toBe('10.10.0.2/32')
    expect(hostRoute('10.10.0.2/24')).toBe('10.10.0.2/32')
    expect(hostRoute('fd00::2/64')).toBe('fd00::2/128')
  })

  it('adds the listen port to an endpoint without one', () => {
    expect(formatEndpoint('192.0.2.10', 51820)).toBe('192.0.2.10:51820')
    expect(formatEndpoint('hub.example.net:4500', 51820)).toBe('hub.example.net:4500')
    expect(formatEndpoint('2001:db8::1', 51820)).toBe('[2001:db8::1]:51820')
    expect(formatEndpoint('[2001:db8::1]', 51820)).toBe('[2001:db8::1]:51820')
    expect(formatEndpoint('[2001:db8::1]:4500', 51820)).toBe('[2001:db8::1]:4500')
  })
})

describe('schema', () => {
  const ok = { ...defaults, hub: 'oslo-hub', tunnelAddress: '10.10.0.1/24' }

  it('accepts the defaults with a hub and an address, and typical options', () => {
    expect(validateSchema(schema, ok)).toEqual([])
    expect(validateSchema(schema, { ...ok, natEgressInterface: 'eth0', dns: ['10.10.0.1'], allowedIps: ['0.0.0.0/0'], endpoint: '203.0.113.5' })).toEqual([])
  })

  it('rejects a missing hub, a bad address or port, and unknown vars', () => {
    const { hub: _hub, ...noHub } = ok
    expect(validateSchema(schema, noHub).map((p) => p.pointer)).toEqual(['/hub'])
    expect(validateSchema(schema, { ...ok, tunnelAddress: '10.10.0.1' }).map((p) => p.pointer)).toEqual(['/tunnelAddress'])
    expect(validateSchema(schema, { ...ok, listenPort: 70000 }).map((p) => p.pointer)).toEqual(['/listenPort'])
    expect(validateSchema(schema, { ...ok, wireguardGo: 'maybe' }).map((p) => p.pointer)).toEqual(['/wireguardGo'])
    expect(validateSchema(schema, { ...ok, natEgressInterface: 'eth0; reboot' }).map((p) => p.pointer)).toEqual(['/natEgressInterface'])
    expect(validateSchema(schema, { ...ok, privateKey: 'x' }).map((p) => p.message)).toEqual(["unknown var 'privateKey'"])
  })
})

describe('host scripts', () => {
  const scripts = {
    sync: SYNC_PEERS_SCRIPT,
    up: upScript('wg0'),
    keygen: keygenScript('/etc/wireguard/wg0.key'),
    keyMode: keyModeIsRight('/etc/wireguard/wg0.key'),
    fixKeyMode: fixKeyModeScript('/etc/wireguard/wg0.key'),
    link: linkExists('wg0'),
    publicKey: wireguardPublicKey.command('/etc/wireguard/wg0.key'),
  }

  // Under sudo the scripts run in dash, which parses a whole compound command (and its backquotes) before running any of it.
  it.each(Object.entries(scripts))('%s parses in a POSIX sh (dash -n)', (_name, script) => {
    expect(() => execFileSync('dash', ['-n', '-c', script], { stdio: 'pipe' })).not.toThrow()
  })

  it('masks the config text wg quotes in its errors, so a key in a broken line never reaches output', () => {
    const err = "Line unrecognized: `PrivateKey = SNd7ReaqSDRn31BnXV2BRzqTXKti0DiQHWT766/OpFY='\nConfiguration parsing error\n"
    const sed = /sed '([^']+)'/.exec(SYNC_PEERS_SCRIPT)![1]!
    const out = execFileSync('sed', [sed], { input: err, encoding: 'utf8' })
    expect(out).toBe('Line unrecognized: (config text masked)\nConfiguration parsing error\n')
  })

  it('reads only a well-formed public key', () => {
    const parse = (stdout: string) => wireguardPublicKey.parse({ code: 0, stdout, stderr: '' }, '/etc/wireguard/wg0.key')
    expect(parse(`${KEY_A}\n`)).toBe(KEY_A)
    expect(parse('')).toBeNull()
    expect(parse('wg: Key is not the correct length or format\n')).toBeNull()
  })
})
