import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = new URL('../../', import.meta.url).pathname

function sources(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(join(ROOT, dir))) {
    const path = join(ROOT, dir, name)
    if (statSync(path).isDirectory()) out.push(...sources(relative(ROOT, path)))
    else if (/\.ts$/.test(name)) out.push(relative(ROOT, path))
  }
  return out
}

const FILES = [...sources('src'), ...sources('roles')]
const text = new Map(FILES.map((f) => [f, readFileSync(join(ROOT, f), 'utf8')]))

/** The modules a file imports, statically or with `import()`. */
function importsOf(file: string): string[] {
  const src = text.get(file) ?? ''
  return [...src.matchAll(/(?:^|\n)\s*(?:import|export)[^'"\n;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2] ?? '')
}

function importers(pkg: string): string[] {
  return FILES.filter((f) => importsOf(f).some((i) => i === pkg || i.startsWith(`${pkg}/`)))
}

describe('architecture rules, read from the code', () => {
  it('finds the imports it checks', () => {
    expect(FILES.length).toBeGreaterThan(80)
    expect(importers('ssh2').length).toBeGreaterThan(0)
  })

  it('only the listed folders import ssh2, listr2, diff and ajv', () => {
    const only: Record<string, string> = { ssh2: 'src/connection/', listr2: 'src/output/', diff: 'src/output/', ajv: 'src/schema/', 'ajv-formats': 'src/schema/' }
    for (const [pkg, folder] of Object.entries(only)) {
      const outside = importers(pkg).filter((f) => !f.startsWith(folder))
      // ajv is loaded with createRequire; its name appears as a string there.
      const required = FILES.filter((f) => !f.startsWith(folder) && new RegExp(`load\\(['"]${pkg}['"]\\)`).test(text.get(f) ?? ''))
      expect([...outside, ...required], `${pkg} outside ${folder}`).toEqual([])
    }
  })

  it('modules and roles never see the mode, never hold a Remote, and never run a command themselves', () => {
    for (const f of FILES.filter((x) => x.startsWith('src/modules/') || x.startsWith('src/facts/') || x.startsWith('roles/'))) {
      const src = text.get(f) ?? ''
      expect(importsOf(f).filter((i) => /engine\/run\.ts$/.test(i)), `${f} imports the engine's runner`).toEqual([])
      expect(/\bcurrentHost\b|\brun\.check\b|\.check\b\s*[?)&|]|status\s*===\s*'(would-change|uncertain)'/.test(src), `${f} looks at the check mode`).toBe(false)
      expect(/\bRemote\b|\bremote\.exec\b/.test(src), `${f} holds a Remote`).toBe(false)
      expect(/\b(async\s+)?apply\s*\(/.test(src), `${f} has an apply closure`).toBe(false)
    }
  })

  it('only the engine applies: the one place that runs a plan\'s commands is engine/step.ts', () => {
    const runners = FILES.filter((f) => /\.exec\(\s*(script|c\.script|cmd|command)\b/.test(text.get(f) ?? ''))
    // The connection runs what it is given, and the CLI hands the engine its sessions.
    expect(runners.filter((f) => !f.startsWith('src/engine/') && !f.startsWith('src/connection/') && f !== 'src/cli/run-command.ts')).toEqual([])
  })
})
