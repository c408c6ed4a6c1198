import type { TestProject } from 'vitest/node'
import { down, up, type Testbed } from '../testbed/index.ts'

/** Hosts every e2e file may use: host1..host20 for fleet tests, host21 to be stopped, host22 spare. */
export const BED_HOSTS = 22

declare module 'vitest' {
  export interface ProvidedContext {
    testbed: Testbed
  }
}

/** Starts one test bed for the whole e2e run and tears it down afterwards, even on failure. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const bed = await up({ count: BED_HOSTS, jumpOnly: 1 })
  project.provide('testbed', bed)
  return async () => {
    await down(bed.stateDir)
  }
}
