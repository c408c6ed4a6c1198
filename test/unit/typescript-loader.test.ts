import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

// The built loader runs in its own node process, as the CLI would: `havn` must be one module instance
// for the CLI and the playbook, and the compiled form is imported by Node itself, not by vitest.
const REPO = fileURLToPath(new URL('../../', import.meta.url))
const LOADER = pathToFileURL(join(REPO, 'dist/src/cli/load-playbook.js')).href
const roots: string[] = []

afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })))

/** A scratch project with `havn` installed (linked) and the given files; returns its folder and a cache folder. */
function project(files: Record<string, string>, type: 'module' | 'commonjs' = 'module'): { dir: string; cache: string } {
  const root = mkdtempSync(join(tmpdir(), 'havn-pbcache-'))
  roots.push(root)
  const dir = join(root, 'proj')
  mkdirSync(join(dir, 'node_modules'), { recursive: true })
  symlinkSync(REPO, join(dir, 'node_modules', 'havn'))
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'proj', type }))
  write(dir, files)
  return { dir, cache: join(root, 'cache') }
}

function write(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
}

interface Loaded {
  via?: string
  name?: string
  hosts?: string
  error?: string
}

/** Loads `file` with the built `loadPlaybook` in a fresh node process. */
function load(dir: string, cache: string, file = 'site.ts'): Promise<Loaded> {
  const script = `
    const { loadPlaybook } = await import(${JSON.stringify(LOADER)})
    try {
      const { playbook, via } = await loadPlaybook(${JSON.stringify(join(dir, file))})
      console.log(JSON.stringify({ via, name: playbook.name, hosts: playbook.plays[0].hosts }))
    } catch (e) { console.log(JSON.stringify({ error: e.message })) }`
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, env: { ...process.env, HAVN_CACHE_DIR: cache, NODE_OPTIONS: '' }, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${err.message}\n${stderr}`))
      resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Loaded)
    })
  })
}

const playbook = (name: string, extra = '') => `import { definePlaybook } from 'havn'\n${extra}\nexport default definePlaybook({ name: ${name}, plays: [{ hosts: 'all', async run() {} }] })\n`

// Each test starts node (and some tsx) several times: seconds apiece on a loaded machine.
describe('havn inventory: a typed index.ts inventory', { timeout: 30_000 }, () => {
  it('loads through the CLI (compiled, then from the cache)', async () => {
    const { dir, cache } = project({
      'inventory/index.ts': "import { defineInventory } from 'havn'\nimport { web } from './web.ts'\nexport default defineInventory({ hosts: { ...web, db1: { address: '192.0.2.30' } } })\n",
      'inventory/web.ts': "export const web = { web1: { address: '192.0.2.10' }, web2: { address: '192.0.2.11' } }\n",
    })
    for (let i = 0; i < 2; i++) {
      const out = await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, [join(REPO, 'bin/havn.js'), 'inventory', '-i', join(dir, 'inventory')], { env: { ...process.env, HAVN_CACHE_DIR: cache, NODE_OPTIONS: '' }, timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)))
      })
      expect(out).toMatch(/web1/)
      expect(out).toMatch(/web2/)
      expect(out).toMatch(/db1/)
    }
    expect(readdirSync(join(cache, 'modules'))).toHaveLength(1)
  })
})

describe('loadPlaybook: compiled playbooks', { timeout: 30_000 }, () => {
  it('compiles once, then loads from the cache until an imported file changes', async () => {
    const { dir, cache } = project({ 'site.ts': playbook('label', "import { label } from './lib/label.ts'"), 'lib/label.ts': "export const label: string = 'first'\n" })
    expect(await load(dir, cache)).toEqual({ via: 'compiled', name: 'first', hosts: 'all' })
    expect(await load(dir, cache)).toEqual({ via: 'cache', name: 'first', hosts: 'all' })
    expect(readdirSync(join(cache, 'modules'))).toHaveLength(1)
    write(dir, { 'lib/label.ts': "export const label: string = 'second'\n" })
    expect(await load(dir, cache)).toEqual({ via: 'compiled', name: 'second', hosts: 'all' })
    expect(await load(dir, cache)).toMatchObject({ via: 'cache', name: 'second' })
  })

  it('recompiles when the cache entry is damaged', async () => {
    const { dir, cache } = project({ 'site.ts': playbook("'ok'") })
    expect(await load(dir, cache)).toMatchObject({ via: 'compiled', name: 'ok' })
    const [entry] = readdirSync(join(cache, 'modules'))
    writeFileSync(join(cache, 'modules', entry!), '{"format":1,')
    expect(await load(dir, cache)).toMatchObject({ via: 'compiled', name: 'ok' })
  })

  it("keeps import.meta.url, filename and dirname naming each source file, and allows top-level await", async () => {
    const { dir, cache } = project({
      'site.ts': playbook('where', "import { where } from './lib/where.ts'\nawait Promise.resolve()"),
      'lib/where.ts': 'export const where = JSON.stringify([import.meta.url, import.meta.filename, import.meta.dirname])\n',
    })
    const got = await load(dir, cache)
    expect(got.via).toBe('compiled')
    expect(JSON.parse(got.name!)).toEqual([pathToFileURL(join(dir, 'lib/where.ts')).href, join(dir, 'lib/where.ts'), join(dir, 'lib')])
  })

  it('compiles in a package that resolves to TypeScript source, and imports havn as the CLI does', async () => {
    const { dir, cache } = project({
      'site.ts': playbook('roleName', "import { roleName } from 'my-roles'"),
      'node_modules/my-roles/package.json': JSON.stringify({ name: 'my-roles', type: 'module', exports: './index.ts' }),
      'node_modules/my-roles/index.ts': "import { defineRole } from 'havn'\nexport const roleName: string = typeof defineRole === 'function' ? 'typed-role' : 'no'\n",
    })
    expect(await load(dir, cache)).toEqual({ via: 'compiled', name: 'typed-role', hosts: 'all' })
  })

  it('goes through tsx for what a bundle cannot reproduce, and still loads it', async () => {
    const cases: Record<string, Record<string, string>> = {
      'import.meta.resolve': { 'site.ts': playbook("import.meta.resolve('./x.ts').endsWith('/x.ts') ? 'resolved' : 'wrong'") },
      'a computed import()': { 'site.ts': playbook("(await import(['./lib', 'name.ts'].join('/'))).name"), 'lib/name.ts': "export const name = 'dynamic'\n" },
    }
    for (const [what, files] of Object.entries(cases)) {
      const { dir, cache } = project(files)
      const got = await load(dir, cache)
      expect(got.via, what).toBe('tsx')
      expect(got.name, what).toMatch(/^(resolved|dynamic)$/)
      // The verdict is remembered: the next run does not compile again.
      expect((await load(dir, cache)).via, what).toBe('tsx')
      expect(readdirSync(join(cache, 'modules')), what).toHaveLength(1)
    }
  })

  it('compiles an ES-syntax playbook under a CommonJS package.json, with __dirname', async () => {
    const { dir, cache } = project({ 'site.ts': playbook('__dirname') }, 'commonjs')
    expect(await load(dir, cache)).toEqual({ via: 'compiled', name: dir, hosts: 'all' })
  })

  it("leaves a file's own __dirname binding alone", async () => {
    const { dir, cache } = project({ 'site.ts': playbook('__dirname', "import { fileURLToPath } from 'node:url'\nconst __dirname = fileURLToPath(new URL('./lib/', import.meta.url))") })
    expect(await load(dir, cache)).toEqual({ via: 'compiled', name: join(dir, 'lib/'), hosts: 'all' })
  })

  it('goes through tsx for a CommonJS module', async () => {
    const { dir, cache } = project({ 'site.ts': playbook('lib.label', "import lib from './label.cts'"), 'label.cts': "module.exports = { label: 'from-cjs' }\n" })
    expect(await load(dir, cache)).toEqual({ via: 'tsx', name: 'from-cjs', hosts: 'all' })
  })

  it('reports a syntax error as tsx does, with the file, and remembers nothing', async () => {
    const { dir, cache } = project({ 'site.ts': "import { definePlaybook } from 'havn'\nexport default definePlaybook({ name: 'x', plays: [ })\n" })
    const got = await load(dir, cache)
    expect(got.error).toMatch(/cannot load playbook/)
    expect(got.error).toContain('site.ts')
    expect(existsSync(join(cache, 'modules')) ? readdirSync(join(cache, 'modules')) : []).toEqual([])
  })
})
