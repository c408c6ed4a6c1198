import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
  // Run records of the havn processes the tests start go here (workers inherit it), not into the checkout.
  const runs = mkdtempSync(join(tmpdir(), 'havn-test-runs-'))
  process.env.HAVN_RUNS_DIR = runs
  return async () => {
    await down(bed.stateDir)
    rmSync(runs, { recursive: true, force: true })
  }
}
