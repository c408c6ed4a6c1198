import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { InputError } from '../engine/errors.ts'
import { isPlaybook, type Playbook } from '../engine/define.ts'
import { importModule, type LoadedVia } from '../loader/import.ts'

/**
 * Imports a playbook file (see `importModule`) and checks that its default export came from
 * `definePlaybook`; `via` says how it was loaded.
 */
export async function loadPlaybook(path: string): Promise<{ playbook: Playbook; file: string; via: LoadedVia }> {
  const file = resolve(path)
  if (!existsSync(file)) throw InputError.at({ file: path }, 'playbook file not found')
  // Playbooks import havn itself: loading it before tsx may be registered keeps its many modules out
  // of tsx's (slower, cross-thread) path.
  await import('../index.ts')
  let mod: { default?: unknown }
  let via: LoadedVia
  try {
    ;({ mod, via } = await importModule(file))
  } catch (err) {
    throw InputError.at({ file: path }, `cannot load playbook: ${err instanceof Error ? err.message : String(err)}`)
  }
  if (!isPlaybook(mod.default)) {
    throw InputError.at({ file: path }, 'the default export is not a playbook; export default definePlaybook({ ... })')
  }
  const problems = mod.default.plays.flatMap((play, i) =>
    typeof play.hosts === 'string' && play.hosts.trim() !== '' ? [] : [{ message: `play ${i + 1} has no 'hosts' pattern`, at: { file: path } }],
  )
  if (problems.length > 0) throw new InputError(problems)
  return { playbook: mod.default, file: path, via }
}
