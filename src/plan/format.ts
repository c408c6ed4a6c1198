import type { RunEvent } from '../engine/events.ts'
import type { InputFiles } from './inputs.ts'

/** The version of the plan file format this havn writes and reads. */
export const PLAN_VERSION = 1

/** The options that shape what a run does; `havn apply` uses the plan's, never new ones. */
export interface PlanOptions {
  readonly limit?: string
  /** `--shard K/N` as given; apply checks and applies that part again, not every selected host. */
  readonly shard?: string
  readonly tags?: readonly string[]
  readonly skipTags?: readonly string[]
}

/**
 * A saved check (`havn check --out FILE`), version 1. It holds no secret: every value a reporter
 * would mask is masked here too, files are named with keyed hashes, and `mac` seals the rest with
 * the plan key, so an edited or corrupted plan is refused. Described by plan-v1.schema.json.
 */
export interface PlanFile {
  readonly format: 'havn-plan'
  readonly version: typeof PLAN_VERSION
  /** The havn version that made the plan; apply refuses another. */
  readonly havn: string
  readonly createdAt: string
  readonly playbook: { readonly path: string; readonly files: InputFiles }
  /** `paths` holds every `-i` path when there were several; `path` is the first. */
  readonly inventory: { readonly path: string; readonly paths?: readonly string[]; readonly files: InputFiles }
  readonly options: PlanOptions
  /** The check run's events, in order, exactly as its reporters drew them (with fact fingerprints). */
  readonly events: readonly RunEvent[]
  /** HMAC-SHA256 (hex) of the canonical JSON of every other field, with the plan key. */
  readonly mac: string
}

/** A JSON text with object keys sorted, so the same content always gives the same bytes to seal. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  )
}
