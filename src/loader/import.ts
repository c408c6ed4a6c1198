import { pathToFileURL } from 'node:url'
import { compiled } from './cache.ts'

/** How a module was loaded: from the compile cache, compiled now, through tsx, or as plain JavaScript. */
export type LoadedVia = 'cache' | 'compiled' | 'tsx' | 'import'

let tsxRegistered = false

/** Custom conditions (`node -C x`) change how packages resolve, which the compiled form cannot follow. */
function customConditions(): boolean {
  return [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) => a === '-C' || a.startsWith('--conditions'))
}

/**
 * Imports a playbook or typed inventory. TypeScript is compiled once into havn's cache (`cache.ts`)
 * and loaded from there while none of its files change, which skips tsx's loader thread (about
 * 0.1 s of start-up); what the compiled form cannot reproduce, or cannot compile, goes through tsx.
 * Errors thrown while the module is evaluated are the module's own and are passed on.
 */
export async function importModule(file: string): Promise<{ mod: { default?: unknown }; via: LoadedVia }> {
  if (!/\.[mc]?ts$/.test(file)) return { mod: (await import(pathToFileURL(file).href)) as { default?: unknown }, via: 'import' }
  const built = customConditions() ? undefined : await compiled(file).catch(() => undefined)
  if (built?.missing) {
    const { spec, importer } = built.missing
    const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec)
    throw new Error(`cannot find package '${name}' imported from ${importer}; install it where that file can find it (npm install ${name})`)
  }
  if (built?.code !== undefined) {
    const url = `data:text/javascript;base64,${Buffer.from(built.code).toString('base64')}`
    return { mod: (await import(url)) as { default?: unknown }, via: built.cached ? 'cache' : 'compiled' }
  }
  if (!tsxRegistered) {
    const { register } = await import('tsx/esm/api')
    register()
    tsxRegistered = true
  }
  return { mod: (await import(pathToFileURL(file).href)) as { default?: unknown }, via: 'tsx' }
}
