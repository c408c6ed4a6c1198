import { randomBytes } from 'node:crypto'
import { chmod, chown, lstat, mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join, relative, sep } from 'node:path'
import { DEPLOY_UID } from './base-recipe.ts'

/**
 * Creates `rel` (a directory path) under `layerRoot`, giving every component the mode and owner it
 * has in `rootfs`: overlayfs shows an upper directory's own attributes, so a stray 0700 `etc` in a
 * layer would hide the base's 0755 one.
 */
export async function mirrorDirs(rootfs: string, layerRoot: string, rel: string): Promise<void> {
  let current = layerRoot
  for (const part of rel.split(sep).filter(Boolean)) {
    current = join(current, part)
    const source = await lstat(join(rootfs, relative(layerRoot, current)))
    await mkdir(current, { recursive: true })
    await chmod(current, source.mode & 0o7777)
    await chown(current, source.uid, source.gid)
  }
}

/** Writes `content` to `rel` inside a layer, with parent directories mirrored from the base. */
export async function writeLayerFile(
  rootfs: string,
  layerRoot: string,
  rel: string,
  content: string,
  opts: { mode: number; uid?: number; gid?: number },
): Promise<void> {
  await mirrorDirs(rootfs, layerRoot, dirname(rel))
  const path = join(layerRoot, rel)
  await writeFile(path, content, { mode: opts.mode })
  await chmod(path, opts.mode)
  await chown(path, opts.uid ?? 0, opts.gid ?? 0)
}

/** Input for the bed-wide layer shared by every host of one bed. */
export interface BedLayerInput {
  rootfs: string
  /** An overlay layer between the base and this one whose /etc/shadow, if any, is the one to start from. */
  middle?: string
  layer: string
  clientPublicKey: string
  deployPasswordHash: string
  /** name → address of every host in the bed, for /etc/hosts. */
  hosts: Array<{ name: string; address: string }>
}

/** Writes the bed-wide layer: /etc/shadow with deploy's password, both authorized_keys, /etc/hosts. */
export async function writeBedLayer(input: BedLayerInput): Promise<void> {
  const { rootfs, layer } = input
  const middleShadow = input.middle === undefined ? undefined : join(input.middle, 'etc/shadow')
  const shadowPath = middleShadow !== undefined && (await lstat(middleShadow).then(() => true, () => false)) ? middleShadow : join(rootfs, 'etc/shadow')
  const shadowStat = await lstat(shadowPath)
  const lines = (await readFile(shadowPath, 'utf8')).split('\n')
  const deployLine = lines.findIndex((l) => l.startsWith('deploy:'))
  if (deployLine < 0) throw new Error(`testbed: no deploy user in ${shadowPath}; rebuild the base image`)
  const fields = (lines[deployLine] ?? '').split(':')
  fields[1] = input.deployPasswordHash
  lines[deployLine] = fields.join(':')
  await writeLayerFile(rootfs, layer, 'etc/shadow', lines.join('\n'), { mode: 0o640, gid: shadowStat.gid })

  const keys = `${input.clientPublicKey}\n`
  await writeLayerFile(rootfs, layer, 'root/.ssh/authorized_keys', keys, { mode: 0o600 })
  await writeLayerFile(rootfs, layer, 'home/deploy/.ssh/authorized_keys', keys, { mode: 0o600, uid: DEPLOY_UID, gid: DEPLOY_UID })

  const hostsFile = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', ...input.hosts.map((h) => `${h.address}\t${h.name}`)]
  await writeLayerFile(rootfs, layer, 'etc/hosts', `${hostsFile.join('\n')}\n`, { mode: 0o644 })
}

/**
 * Prepares one host's upper dir: its own ed25519 host key (returned, public part), hostname and,
 * for systemd hosts, machine id.
 */
export async function writeHostUpper(
  rootfs: string,
  upper: string,
  name: string,
  keygen: (path: string, comment: string) => Promise<string>,
  systemd = false,
): Promise<string> {
  await mirrorDirs(rootfs, upper, 'etc/ssh')
  const publicKey = await keygen(join(upper, 'etc/ssh/ssh_host_ed25519_key'), `root@${name}`)
  await writeLayerFile(rootfs, upper, 'etc/hostname', `${name}\n`, { mode: 0o644 })
  if (systemd) await writeLayerFile(rootfs, upper, 'etc/machine-id', `${randomBytes(16).toString('hex')}\n`, { mode: 0o444 })
  return publicKey
}
