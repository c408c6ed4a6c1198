import type { BurstServer, CoreServer, HaproxyBurstVars } from './schema.ts'

/** Where Debian's (and Fedora's) init scripts and units read HAProxy's configuration. */
export const CONFIG_PATH = '/etc/haproxy/haproxy.cfg'

/** Core servers carry this weight unless they set their own (the seed's value). */
export const DEFAULT_WEIGHT = 100

/** `address:port` as HAProxy parses it; IPv6 gets the `ipv6@` prefix so its colons are not mistaken for the port. */
export function endpoint(address: string, port: number): string {
  return address.includes(':') ? `ipv6@${address}:${port}` : `${address}:${port}`
}

/** Throws naming the duplicate when two servers share a name, which HAProxy would reject at load time. */
export function assertUniqueNames(servers: readonly (CoreServer | BurstServer)[]): void {
  const seen = new Set<string>()
  for (const s of servers) {
    if (seen.has(s.name)) throw new Error(`haproxy-burst: server name '${s.name}' is used twice in coreServers/burstServers; names must be unique`)
    seen.add(s.name)
  }
}

/** One `server` line of a core server: health-checked and weighted. */
export function coreServerLine(s: CoreServer): string {
  return `server ${s.name} ${endpoint(s.address, s.port)} check weight ${s.weight ?? DEFAULT_WEIGHT}`
}

/** One `server` line of a burst server: health-checked and `backup`, so idle while any core server is up. */
export function burstServerLine(s: BurstServer): string {
  return `server ${s.name} ${endpoint(s.address, s.port)} check backup`
}

/**
 * The whole haproxy.cfg for the vars: a deterministic function of them (servers keep the order the
 * user gave, since `balance first` and readers depend on it), so reruns write identical bytes.
 */
export function renderConfig(v: HaproxyBurstVars): string {
  assertUniqueNames([...v.coreServers, ...v.burstServers])
  const bind = v.bindAddress === '*' ? `*:${v.frontendPort}` : endpoint(v.bindAddress, v.frontendPort)
  const lines = [
    '# Managed by havn (role haproxy-burst); local edits are overwritten.',
    'global',
    '\tlog /dev/log local0',
    '\tlog /dev/log local1 notice',
    '\tchroot /var/lib/haproxy',
    '\tstats socket /run/haproxy/admin.sock mode 660 level admin',
    '\tstats timeout 30s',
    '\tuser haproxy',
    '\tgroup haproxy',
    '\tdaemon',
    `\tmaxconn ${v.maxconn}`,
    '',
    'defaults',
    '\tlog global',
    '\tmode http',
    '\toption httplog',
    '\toption dontlognull',
    '\toption http-keep-alive',
    // A request sent to a server that died before its checks noticed is retried on another one.
    '\toption redispatch',
    '\tretries 3',
    `\ttimeout connect ${v.timeoutConnect}`,
    `\ttimeout client ${v.timeoutClient}`,
    `\ttimeout server ${v.timeoutServer}`,
    `\ttimeout http-keep-alive ${v.timeoutHttpKeepAlive}`,
    `\ttimeout check ${v.timeoutCheck}`,
    '',
    `frontend ${v.frontendName}`,
    `\tbind ${bind}`,
    `\tdefault_backend ${v.backendName}`,
    '',
    `backend ${v.backendName}`,
    `\tbalance ${v.balance}`,
    '\toption httpchk',
    `\thttp-check send meth ${v.healthMethod} uri ${v.healthPath} ver HTTP/1.1 hdr Host ${v.healthHost}`,
    // Several burst servers share the load once the core is down; without it only the first is used.
    ...(v.burstServers.length > 1 ? ['\toption allbackups'] : []),
    `\tdefault-server inter ${v.checkInter} fall ${v.fall} rise ${v.rise}`,
    ...v.coreServers.map((s) => `\t${coreServerLine(s)}`),
    ...v.burstServers.map((s) => `\t${burstServerLine(s)}`),
    ...v.extraBackendLines.map((l) => `\t${l.trim()}`),
  ]
  return `${lines.join('\n')}\n`
}
