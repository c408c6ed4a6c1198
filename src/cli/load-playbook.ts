import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { InputError } from '../engine/errors.ts'
import { isPlaybook, type Playbook } from '../engine/define.ts'

let tsRegistered = false

/** Registers the TypeScript loader once, only when a `.ts` file must be imported. */
export async function ensureTypeScript(file: string): Promise<void> {
  if (tsRegistered || !/\.[mc]?ts$/.test(file)) return
  const { register } = await import('tsx/esm/api')
  register()
  tsRegistered = true
}

/** Imports a playbook file and checks that its default export came from `definePlaybook`. */
export async function loadPlaybook(path: string): Promise<{ playbook: Playbook; file: string }> {
  const file = resolve(path)
  if (!existsSync(file)) throw InputError.at({ file: path }, 'playbook file not found')
  // Playbooks import havn itself: loading it before the TypeScript loader is registered keeps its
  // many modules out of the loader's (slower, cross-thread) path.
  await import('../index.ts')
  await ensureTypeScript(file)
  let mod: { default?: unknown }
  try {
    mod = (await import(pathToFileURL(file).href)) as { default?: unknown }
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
  return { playbook: mod.default, file: path }
}
