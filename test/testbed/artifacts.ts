/** One host as written into the client-side files. */
export interface ArtifactHost {
  name: string
  address: string
  /** Public host key line (`ssh-ed25519 AAAA… comment`). */
  hostKey: string
  /** Name of the host to ProxyJump through, for hosts the controller cannot reach. */
  via?: string
}

/** inventory/hosts.yaml in the Ansible YAML shape: reachable hosts in `testbed`, jump-only ones in `hidden`. */
export function inventoryYaml(hosts: ArtifactHost[]): string {
  const lines = ['all:', '  hosts:']
  for (const h of hosts) lines.push(`    ${h.name}: { address: ${h.address}, port: 22, user: root }`)
  lines.push('  children:')
  const group = (name: string, members: ArtifactHost[]) => {
    if (members.length === 0) return
    lines.push(`    ${name}:`, '      hosts:')
    for (const h of members) lines.push(`        ${h.name}: {}`)
  }
  group('testbed', hosts.filter((h) => !h.via))
  group('hidden', hosts.filter((h) => h.via))
  return `${lines.join('\n')}\n`
}

/** known_hosts: one `address keytype key` line per host, plain (unhashed) addresses. */
export function knownHosts(hosts: ArtifactHost[]): string {
  return hosts.map((h) => {
    const [type, key] = h.hostKey.split(/\s+/)
    return `${h.address} ${type} ${key}\n`
  }).join('')
}

/**
 * ssh_config: one self-contained block per host (no `Host *`), jump-only hosts with ProxyJump.
 * Each block matches the name and the address, because havn (like Ansible) looks a host up in ssh
 * config by its inventory address when it has one.
 */
export function sshConfig(hosts: ArtifactHost[], identityFile: string, knownHostsFile: string): string {
  return hosts.map((h) => [
    `Host ${h.name} ${h.address}`,
    `  HostName ${h.address}`,
    '  Port 22',
    '  User root',
    `  IdentityFile ${identityFile}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${knownHostsFile}`,
    '  GlobalKnownHostsFile /dev/null',
    '  StrictHostKeyChecking yes',
    ...(h.via ? [`  ProxyJump ${h.via}`] : []),
    '',
  ].join('\n')).join('\n')
}
