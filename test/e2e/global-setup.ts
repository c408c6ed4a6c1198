import type { TestProject } from 'vitest/node'
import { down, up, type Testbed } from '../testbed/index.ts'
import { BED_HOSTS, bedKinds } from './hosts.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    testbed: Testbed
  }
}

/**
 * Starts one test bed for the whole e2e run and tears it down afterwards, even on failure.
 * `HAVN_TESTBED_STATE_DIR` (with `HAVN_TESTBED_SLOT`) lets several developers run e2e at once.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const bed = await up({ count: BED_HOSTS, kinds: bedKinds(), jumpOnly: 1, stateDir: process.env.HAVN_TESTBED_STATE_DIR || undefined })
  project.provide('testbed', bed)
  return async () => {
    await down(bed.stateDir)
  }
}
