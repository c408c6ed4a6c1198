import { readFile, stat } from 'node:fs/promises'
import { createRequire, isBuiltin } from 'node:module'
import { dirname, extname, isAbsolute, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Loader, Plugin } from 'esbuild'

/**
 * A TypeScript module (playbook, typed inventory) compiled with its local imports into one ES module
 * that imports packages by absolute file URL.
 */
export interface Bundle {
  /** The module; absent when the source uses something a bundle cannot reproduce (see `bundle`). */
  readonly code?: string
  /**
   * Every file whose content the bundle depends on: the compiled sources, the package.json of each
   * imported package, tsconfig files above the sources (present or not) and esbuild's own
   * package.json. A change to any of them must recompile.
   */
  readonly dependsOn: readonly string[]
}

/** Why a module cannot be compiled at all: a package it imports is not installed where it looks. */
export interface MissingPackage {
  readonly missing: { readonly spec: string; readonly importer: string }
}

const RESOLVING = Symbol('havn resolving')
const OWN_PACKAGE = /^havn(\/|$)/

/** The folder of the havn package this code runs from (its own name resolves there, through `exports`). */
function havnRoot(): string {
  return dirname(createRequire(import.meta.url).resolve('havn/package.json'))
}
const TS_SOURCE = /\.[cm]?tsx?$/
const META = { url: '__havnImportMetaUrl', filename: '__havnImportMetaFilename', dirname: '__havnImportMetaDirname' } as const

function loaderFor(path: string): Loader {
  const ext = extname(path)
  if (ext === '.tsx' || ext === '.jsx') return ext.slice(1) as Loader
  return TS_SOURCE.test(path) ? 'ts' : 'js'
}

function* upwards(from: string): Generator<string> {
  for (let dir = from; ; dir = dirname(dir)) {
    yield dir
    if (dirname(dir) === dir) return
  }
}

/** The package.json that owns `from`: whether it changes decides where a package's files are. */
async function nearestPackageJson(from: string): Promise<string | undefined> {
  for (const dir of upwards(from)) {
    const path = join(dir, 'package.json')
    if (await stat(path).then(() => true, () => false)) return path
  }
  return undefined
}

/** Dynamic imports the bundle keeps must name a builtin or an absolute file URL; anything computed would resolve against the wrong place. */
function hasUnresolvedDynamicImport(code: string): boolean {
  for (const m of code.matchAll(/\bimport\(\s*(?:(["'])([^"'\n]*)\1\s*\))?/g)) {
    const target = m[2]
    if (target === undefined || !(target.startsWith('file:') || isBuiltin(target))) return true
  }
  return false
}

/**
 * Compiles a TypeScript module and its local imports into one ES module with esbuild, so it loads
 * without a TypeScript loader. Packages stay outside the bundle, imported by the absolute URL
 * Node would resolve for them (so `havn` is the same module instance the CLI uses); a package that
 * resolves to TypeScript source is compiled in. `import.meta.url`, `.filename` and `.dirname` keep
 * naming each source file (and so do `__filename` and `__dirname`).
 *
 * Leaves `code` out when the result could differ from loading the files with Node and tsx: a
 * CommonJS module (`require`, `module.exports`), another use of `import.meta`, a computed
 * `import()`, any esbuild warning. Returns the first package that cannot be found from where it is
 * imported (havn itself is also looked for in the havn that runs), and undefined when esbuild fails
 * otherwise (a syntax error): tsx then reports it as Node would, and nothing about it should be remembered.
 */
export async function bundle(file: string): Promise<Bundle | MissingPackage | undefined> {
  const esbuild = await import('esbuild')
  let missing: MissingPackage['missing'] | undefined
  const dependsOn = new Set<string>([createRequire(import.meta.url).resolve('esbuild/package.json')])
  const plugin: Plugin = {
    name: 'havn-bundle',
    setup(build) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData === RESOLVING || args.kind === 'entry-point') return undefined
        const spec = args.path
        if (spec.startsWith('.') || isAbsolute(spec)) return undefined
        if (isBuiltin(spec)) return { path: spec, external: true }
        let found = await build.resolve(spec, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: RESOLVING })
        // A playbook outside any project with havn installed gets the havn that runs it (a global install, npx).
        if (found.errors.length > 0 && OWN_PACKAGE.test(spec)) {
          const own = await build.resolve(spec, { kind: args.kind, resolveDir: havnRoot(), pluginData: RESOLVING })
          if (own.errors.length === 0) found = own
        }
        if (found.errors.length > 0) {
          missing ??= { spec, importer: args.importer }
          return { errors: found.errors }
        }
        if (TS_SOURCE.test(found.path)) return { path: found.path }
        const pkg = await nearestPackageJson(dirname(found.path))
        if (pkg) dependsOn.add(pkg)
        return { path: pathToFileURL(found.path).href, external: true }
      })
      build.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => {
        dependsOn.add(args.path)
        for (const dir of upwards(dirname(args.path))) dependsOn.add(join(dir, 'tsconfig.json'))
        const text = await readFile(args.path, 'utf8')
        if (!/import\.meta|__dirname|__filename/.test(text)) return { contents: text, loader: loaderFor(args.path) }
        // `define` is global; each file declares the values its own `import.meta` stands for.
        const values = `const ${META.url} = ${JSON.stringify(pathToFileURL(args.path).href)}, ${META.filename} = ${JSON.stringify(args.path)}, ${META.dirname} = ${JSON.stringify(dirname(args.path))};`
        const shebang = text.startsWith('#!') ? text.indexOf('\n') + 1 : 0
        return { contents: `${text.slice(0, shebang)}${values}${text.slice(shebang)}`, loader: loaderFor(args.path) }
      })
    },
  }
  const absWorkingDir = dirname(file)
  let result
  try {
    result = await esbuild.build({
      entryPoints: [file],
      absWorkingDir,
      bundle: true,
      write: false,
      metafile: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      // Node's own resolution: no "module" condition or main field.
      conditions: [],
      mainFields: ['main'],
      charset: 'utf8',
      logLevel: 'silent',
      // A `.ts` file under a CommonJS package.json is compiled as the ES module its syntax says it
      // is, so it gets CommonJS's file names too (bound names of the file's own win over `define`).
      define: { 'import.meta.url': META.url, 'import.meta.filename': META.filename, 'import.meta.dirname': META.dirname, __filename: META.filename, __dirname: META.dirname },
      plugins: [plugin],
    })
  } catch {
    return missing ? { missing } : undefined
  }
  for (const input of Object.keys(result.metafile.inputs)) dependsOn.add(resolve(absWorkingDir, input))
  const code = result.outputFiles[0]?.text ?? ''
  const faithful =
    result.warnings.length === 0 &&
    !Object.values(result.metafile.inputs).some((input) => input.format === 'cjs') &&
    !code.includes('import.meta') &&
    !/\b__require\b/.test(code) &&
    !hasUnresolvedDynamicImport(code)
  return { ...(faithful ? { code } : {}), dependsOn: [...dependsOn].sort() }
}
