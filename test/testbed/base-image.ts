import { copyFile, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { sh as $ } from './sh.ts'
import { findMirror } from './apt-sources.ts'
import { withLock } from './cache-lock.ts'
import { log, timed } from './log.ts'
import { BUILD_TOOLS, requireTools } from './preflight.ts'
import { BASE_PACKAGES, CONFIGURE_SCRIPT, DOWNLOAD_SCRIPT, recipeKey, REPO_MOUNT, SYSTEMD_LAYER_SCRIPT } from './base-recipe.ts'
import type { Suite } from './kinds.ts'

/** One release's built, immutable image: the overlay lower layers and the local apt repository. */
export interface BaseImage {
  suite: Suite
  key: string
  rootfs: string
  /** Overlay layer stacked on `rootfs` for systemd hosts: systemd, dbus, ssh.service enabled. */
  systemdLayer: string
  repo: string
}

/** Cache root: $HAVN_TESTBED_CACHE or /var/cache/havn-testbed (outside the repository). */
export function cacheDir(): string {
  return process.env.HAVN_TESTBED_CACHE ?? '/var/cache/havn-testbed'
}

const exists = (path: string): Promise<boolean> => stat(path).then(() => true, () => false)

/**
 * Returns the cached image of `suite` for the current recipe, building it first when absent. Safe
 * to call from several processes at once: builds are serialised by a lock and published by rename.
 */
export async function ensureBaseImage(suite: Suite): Promise<BaseImage> {
  const root = cacheDir()
  const key = recipeKey(suite)
  const dir = join(root, `image-${suite}-${key}`)
  const image: BaseImage = { suite, key, rootfs: join(dir, 'rootfs'), systemdLayer: join(dir, 'systemd'), repo: join(dir, 'repo') }
  if (await exists(join(dir, 'complete'))) return image
  await mkdir(root, { recursive: true })
  return withLock(join(root, 'build.lock'), async () => {
    // Someone else may have finished it while we waited for the lock.
    if (await exists(join(dir, 'complete'))) return image
    await requireTools(BUILD_TOOLS)
    const mirror = await findMirror(suite)
    const work = join(root, `build-${suite}-${key}`)
    await rm(work, { recursive: true, force: true })
    await mkdir(work, { recursive: true })
    await timed(`built ${suite} image ${key}`, () => build(suite, work, mirror, root))
    await rm(dir, { recursive: true, force: true })
    await rename(work, dir)
    return image
  })
}

async function build(suite: Suite, work: string, mirror: string, root: string): Promise<void> {
  const rootfs = join(work, 'rootfs')
  const repo = join(work, 'repo')
  const debCache = join(root, `debootstrap-debs-${suite}`)
  await mkdir(debCache, { recursive: true })
  await mkdir(repo)

  log(`building base: debootstrap ${suite} from ${mirror} (several minutes the first time)…`)
  await timed('debootstrap done', () =>
    run($`debootstrap --variant=minbase --cache-dir=${debCache} --include=${BASE_PACKAGES.join(',')} ${suite} ${rootfs} ${mirror}`),
  )

  log('downloading the local apt repository packages…')
  await timed('repository packages downloaded', () => downloadRepo(work, rootfs, repo))
  const debs = (await readdir(repo)).filter((n) => n.endsWith('.deb'))
  if (debs.length === 0) throw new Error('testbed: apt downloaded no packages for the local repository')
  await run($({ cwd: repo })`dpkg-scanpackages --multiversion . /dev/null > Packages && gzip -9 -k -f Packages`)
  log(`local apt repository: ${debs.length} packages`)

  log('configuring base…')
  await timed('base configured', () =>
    inMountNamespace(
      `mount -t proc proc "$R/proc" && mkdir -p "$R${REPO_MOUNT}" && mount --bind -o ro "$REPO" "$R${REPO_MOUNT}" && exec chroot "$R" /bin/sh -c "$SCRIPT"`,
      { R: rootfs, REPO: repo, SCRIPT: CONFIGURE_SCRIPT },
    ),
  )
  if (await exists(join(rootfs, 'usr/bin/python3'))) throw new Error('testbed: /usr/bin/python3 exists in the base image; it must not')
  log('building the systemd layer…')
  await timed('systemd layer built', () => buildSystemdLayer(work, rootfs, repo))
  await writeFile(join(work, 'complete'), `${new Date().toISOString()}\n`)
}

/**
 * Runs `script` in a chroot of a throwaway overlay on `lower`, after the `setup` shell lines (which
 * see the merged root as `$M`); what the script changes lands in `upper`. The overlay's scratch
 * folders are removed afterwards.
 */
async function inOverlayChroot(work: string, name: string, lower: string, upper: string, setup: string[], script: string, env: Record<string, string> = {}): Promise<void> {
  const scratch = join(work, `${name}-work`)
  const merged = join(work, `${name}-merged`)
  for (const d of [upper, scratch, merged]) await mkdir(d, { recursive: true })
  await inMountNamespace(
    [
      'mount -t overlay overlay -o "lowerdir=$R,upperdir=$U,workdir=$W" "$M"',
      'mount -t proc proc "$M/proc"',
      ...setup,
      'chroot "$M" /bin/sh -c "$SCRIPT"',
    ].join(' && '),
    { ...env, R: lower, U: upper, W: scratch, M: merged, SCRIPT: script },
  )
  for (const d of [scratch, merged]) await rm(d, { recursive: true, force: true })
}

async function downloadRepo(work: string, rootfs: string, repo: string): Promise<void> {
  // A throwaway overlay keeps the mirror's lists and the resolver out of the base.
  const upper = join(work, 'dl-upper')
  await inOverlayChroot(work, 'dl', rootfs, upper, ['rm -f "$M/etc/resolv.conf" && cp /etc/resolv.conf "$M/etc/resolv.conf"'], DOWNLOAD_SCRIPT)
  const archives = join(upper, 'var/cache/apt/archives')
  for (const name of await readdir(archives)) {
    if (name.endsWith('.deb')) await copyFile(join(archives, name), join(repo, name))
  }
  await rm(upper, { recursive: true, force: true })
}

/** Installs systemd from the local repository into an overlay upper layer over the configured base. */
async function buildSystemdLayer(work: string, rootfs: string, repo: string): Promise<void> {
  await inOverlayChroot(work, 'sd', rootfs, join(work, 'systemd'), [`mount --bind -o ro "$REPO" "$M${REPO_MOUNT}"`], SYSTEMD_LAYER_SCRIPT, { REPO: repo })
}

/**
 * Runs `script` in private mount and PID namespaces: its mounts vanish when it exits, and so does
 * anything a maintainer script started in a chroot.
 */
async function inMountNamespace(script: string, env: Record<string, string>): Promise<void> {
  await run($({ env: { ...process.env, ...env } })`unshare --mount --pid --fork --propagation private -- /bin/sh -ec ${script}`)
}

async function run(command: Promise<unknown>): Promise<void> {
  try {
    await command
  } catch (error) {
    const out = error as { exitCode?: number; stderr?: string; stdout?: string }
    const tail = `${out.stderr ?? ''}${out.stdout ?? ''}`.trim().split('\n').slice(-15).join('\n')
    throw new Error(`testbed: base build step failed (exit ${out.exitCode ?? '?'}):\n${tail}`)
  }
}
