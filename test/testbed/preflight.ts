import { access, constants } from 'node:fs/promises'
import { delimiter, join } from 'node:path'

/** A command the test bed runs, with the Debian package that provides it. */
export interface Tool {
  command: string
  pkg: string
}

/** Tools needed to start and stop hosts once the base image is cached. */
export const RUNTIME_TOOLS: Tool[] = [
  { command: 'ip', pkg: 'iproute2' },
  { command: 'ssh-keygen', pkg: 'openssh-client' },
  { command: 'unshare', pkg: 'util-linux' },
  { command: 'nsenter', pkg: 'util-linux' },
  { command: 'mount', pkg: 'mount' },
  { command: 'perl', pkg: 'perl-base' },
]

/** Extra tools needed only when the cached base image must be (re)built. */
export const BUILD_TOOLS: Tool[] = [
  { command: 'debootstrap', pkg: 'debootstrap' },
  { command: 'dpkg-scanpackages', pkg: 'dpkg-dev' },
  { command: 'gzip', pkg: 'gzip' },
  { command: 'chroot', pkg: 'coreutils' },
]

async function onPath(command: string): Promise<boolean> {
  // sbin is searched too: root-only tools live there even when PATH omits it.
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin']
  for (const dir of dirs.filter(Boolean)) {
    try {
      await access(join(dir, command), constants.X_OK)
      return true
    } catch {
      // not in this directory
    }
  }
  return false
}

/** Throws one error listing every missing command and the apt packages that provide them; also requires root. */
export async function requireTools(tools: Tool[]): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('testbed: must run as root (it creates namespaces, bridges and mounts)')
  const missing: Tool[] = []
  for (const tool of tools) if (!(await onPath(tool.command))) missing.push(tool)
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map((t) => t.pkg))].join(' ')
    throw new Error(
      `testbed: missing ${missing.map((t) => t.command).join(', ')}; install with: apt-get install -y ${pkgs}`,
    )
  }
}
