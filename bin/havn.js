#!/usr/bin/env node
// Runs the compiled CLI; `npm install` builds it through the `prepare` script.
import { existsSync } from 'node:fs'

const compiled = new URL('../dist/src/cli/main.js', import.meta.url)
if (!existsSync(compiled)) {
  process.stderr.write('havn: dist/ is missing; run `npm run build` in the havn package\n')
  process.exit(4)
}
await import(compiled.href)
