/** An operating system release a role is written for: os-release `ID` and the `VERSION_ID`s it supports. */
export interface Platform {
  /** os-release `ID`, e.g. `debian`. */
  readonly id: string
  /** os-release `VERSION_ID`s, e.g. `['12', '13']`. */
  readonly versions: readonly string[]
}

/** What a host runs, as os-release names it (`ID`, `VERSION_ID`); read by the caller of the engine. */
export interface PlatformIdentity {
  readonly id: string
  readonly versionId: string
}

/** A role declared the platforms it supports and the host runs none of them; nothing on the host was changed. */
export class UnsupportedPlatformError extends Error {
  override readonly name = 'UnsupportedPlatformError'
  readonly role: string
  constructor(role: string, host: string, os: PlatformIdentity, platforms: readonly Platform[]) {
    const runs = os.id ? `${os.id} ${os.versionId || '(no VERSION_ID)'}` : 'an OS without /etc/os-release'
    super(`role ${role} does not support host ${host}: it runs ${runs}; the role supports ${platforms.map(describePlatform).join('; ')}`)
    this.role = role
  }
}

function describePlatform(p: Platform): string {
  return `${p.id} ${p.versions.join(', ')}`
}

/** True when `os` is one of `platforms`. */
export function supports(platforms: readonly Platform[], os: PlatformIdentity): boolean {
  return platforms.some((p) => p.id === os.id && p.versions.includes(os.versionId))
}
