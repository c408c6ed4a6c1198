import { join } from 'node:path'
import type { BaseImage } from './base-image.ts'
import type { HostStart } from './host-process.ts'
import { kindParts, type HostKind } from './kinds.ts'
import { GATEWAY_SUFFIX, HIDDEN_SUBNET, statePaths, SUBNET } from './layout.ts'
import type { BedState, HostRecord } from './state.ts'

/** A kind's overlay stack: systemd kinds put their release's systemd layer over its base. */
export interface KindStack {
  readonly image: BaseImage
  readonly systemd: boolean
  readonly init: 'sysv' | 'systemd'
  /** Lower layers below the bed-wide one, highest first (`:`-joined for overlayfs). */
  readonly lower: string
  /** The bed-wide layer of this kind (keys, shadow, host names). */
  readonly layer: string
}

/** The stack of `kind` in the bed recorded by `state`; throws when the bed has no image for its release. */
export function kindStack(state: Pick<BedState, 'images' | 'stateDir'>, kind: HostKind): KindStack {
  const { suite, init } = kindParts(kind)
  const image = state.images[suite]
  if (!image) throw new Error(`testbed: the bed has no ${suite} image for kind ${kind}`)
  const systemd = init === 'systemd'
  return { image, systemd, init, lower: systemd ? `${image.systemdLayer}:${image.rootfs}` : image.rootfs, layer: join(statePaths(state.stateDir).layer, kind) }
}

/**
 * Everything startHost needs to boot `record` of the bed `state`, the same at `up` and at a restart:
 * host 1 of a bed with hidden hosts also carries the hidden subnet's gateway address.
 */
export function hostStartOf(state: BedState, record: HostRecord): HostStart {
  const { init, lower, layer, image } = kindStack(state, record.kind)
  const jumpHost = state.hosts[0]
  const hasHidden = state.hosts.some((h) => h.hidden)
  return {
    record,
    init,
    lower,
    layer,
    repo: image.repo,
    gateway: record.hidden ? `${HIDDEN_SUBNET}.${GATEWAY_SUFFIX}` : `${SUBNET}.${GATEWAY_SUFFIX}`,
    ...(record === jumpHost && hasHidden ? { secondAddress: `${HIDDEN_SUBNET}.${GATEWAY_SUFFIX}` } : {}),
  }
}
