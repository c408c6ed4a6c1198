import { rename, writeFile } from 'node:fs/promises'
import type { RunEvent } from '../engine/events.ts'
import { HAVN_VERSION } from '../version.ts'
import { canonicalJson, PLAN_VERSION, type PlanFile, type PlanOptions } from './format.ts'
import { inventoryInputs, playbookInputs } from './inputs.ts'
import { keyedHash, planKey } from './key.ts'

/** Where a check run's plan comes from and goes to. */
export interface PlanTarget {
  readonly out: string
  readonly playbookFile: string
  readonly inventory: readonly string[]
  readonly options: PlanOptions
}

/**
 * Collects a check run's events (already masked) and, once the run is over, writes them as a
 * plan sealed with the plan key (made on first use). `key` fingerprints the run's facts.
 */
export async function planRecorder(target: PlanTarget): Promise<{ key: Buffer; record(e: RunEvent): void; save(): Promise<void> }> {
  const key = await planKey(true)
  const events: RunEvent[] = []
  return {
    key,
    record: (e) => void events.push(e),
    async save() {
      const [playbookFiles, inventoryFiles] = await Promise.all([playbookInputs(key, target.playbookFile), inventoryInputs(key, target.inventory)])
      const body: Omit<PlanFile, 'mac'> = {
        format: 'havn-plan',
        version: PLAN_VERSION,
        havn: HAVN_VERSION,
        createdAt: new Date().toISOString(),
        playbook: { path: target.playbookFile, files: playbookFiles },
        inventory: { path: target.inventory[0] ?? '', ...(target.inventory.length > 1 ? { paths: [...target.inventory] } : {}), files: inventoryFiles },
        options: target.options,
        events,
      }
      const plan: PlanFile = { ...body, mac: keyedHash(key, canonicalJson(body)) }
      // Written beside and renamed, so a reader never sees half a plan.
      await writeFile(`${target.out}.tmp`, `${JSON.stringify(plan, null, 1)}\n`)
      await rename(`${target.out}.tmp`, target.out)
    },
  }
}
