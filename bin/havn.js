#!/usr/bin/env node
// Runs the compiled CLI; `npm install` builds it through the `prepare` script. For working on havn
// itself, HAVN_DEV=1 with NODE_OPTIONS=--conditions=development runs src/ directly through tsx.
import { existsSync } from 'node:fs'

if (process.env.HAVN_DEV === '1') {
  const { register } = await import('tsx/esm/api')
  register()
  await import(new URL('../src/cli/main.ts', import.meta.url).href)
} else {
  const compiled = new URL('../dist/src/cli/main.js', import.meta.url)
  if (!existsSync(compiled)) {
    process.stderr.write('havn: dist/ is missing; run `npm run build` in the havn package\n')
    process.exit(4)
  }
  await import(compiled.href)
}
