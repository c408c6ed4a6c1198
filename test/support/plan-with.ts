import { factKey, readFact, type Fact } from '../../src/engine/facts.ts'
import type { HostInfo } from '../../src/engine/define.ts'
import { executeCommands, type StepPlan, type StepSpec } from '../../src/engine/step.ts'
import type { Remote } from '../../src/engine/context.ts'

/** Recorded fact values keyed by `factKey` (`name ["arg",…]`); build keys with `recorded()`. */
export type RecordedFacts = Readonly<Record<string, unknown>>

/** One recorded fact entry, keyed exactly as the engine's cache keys it. */
export function recorded<A extends readonly unknown[], T>(fact: Fact<A, T>, args: A, value: T): RecordedFacts {
  return { [factKey(fact, args)]: value }
}

/** Plans a step against recorded facts; a fact the table lacks fails the test, naming its key. */
export async function planWith(spec: StepSpec, facts: RecordedFacts, host: Partial<HostInfo> = {}): Promise<StepPlan> {
  const info: HostInfo = { name: 'h1', address: '192.0.2.1', groups: ['all'], vars: {}, ...host }
  return spec.plan({
    host: info,
    async fact(fact, ...args) {
      const key = factKey(fact, args)
      if (!(key in facts)) throw new Error(`planWith: no recorded value for fact ${key}`)
      return facts[key] as never
    },
  })
}

/** Plans a step against a real Remote (e.g. `localRemote()`), reading each fact for real, uncached. */
export async function planOn(spec: StepSpec, remote: Remote): Promise<StepPlan> {
  return spec.plan({
    host: { name: remote.host, address: '127.0.0.1', groups: [], vars: {} },
    fact: (f, ...args) => readFact(remote, f, args),
  })
}

/** Runs a plan's commands on `remote` exactly as the engine does when it applies a step. */
export function applyPlan(plan: StepPlan, remote: Remote): Promise<{ stdout?: string; stderr?: string }> {
  return executeCommands(remote, plan.commands ?? [])
}
