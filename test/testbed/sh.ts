import { $ } from 'zx'

/** zx's `$`, quiet: command output is captured for errors, never echoed to our stderr. */
export const sh = $({ quiet: true })
