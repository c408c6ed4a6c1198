import { execFile, type ExecFileException } from 'node:child_process'
import { dirname, resolve } from 'node:path'
import type { Problems } from './problems.ts'
import type { RawInventory } from './raw.ts'
import { scriptJsonToRaw, withHostVars } from './script-json.ts'

/** How long a dynamic inventory may take for `--list` (and for each `--host`): `HAVN_INVENTORY_TIMEOUT` seconds, default 60. */
function timeoutMs(): number {
  const seconds = Number(process.env.HAVN_INVENTORY_TIMEOUT)
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 60_000
}
const MAX_OUTPUT = 256 * 1024 * 1024
/** `--host` calls run this many at a time, when the script gives no `_meta`. */
const HOST_CALLS = 8

/**
 * Runs a dynamic inventory as Ansible does: `SCRIPT --list` from the script's directory, and
 * `SCRIPT --host NAME` for each host when the output has no `_meta`. A script that cannot start,
 * exits non-zero, runs past its timeout or prints something other than a JSON object is a problem naming
 * the script with the tail of its stderr.
 */
export async function runInventoryScript(file: string, problems: Problems): Promise<RawInventory | undefined> {
  const list = await runJson(file, ['--list'], problems)
  if (list === undefined) return undefined
  const raw = scriptJsonToRaw(file, list, problems)
  if (typeof list === 'object' && list !== null && '_meta' in list) return raw
  // Without _meta, each host's vars come from its own call.
  const names = raw.hostOrder
  const hostVars = new Map<string, unknown>()
  for (let i = 0; i < names.length; i += HOST_CALLS) {
    await Promise.all(names.slice(i, i + HOST_CALLS).map(async (name) => hostVars.set(name, await runJson(file, ['--host', name], problems))))
  }
  return withHostVars(raw, hostVars, problems)
}

async function runJson(file: string, args: readonly string[], problems: Problems): Promise<unknown> {
  const shown = `${file} ${args.join(' ')}`
  const timeout = timeoutMs()
  const out = await new Promise<{ stdout: string; stderr: string; error?: ExecFileException }>((done) => {
    execFile(resolve(file), [...args], { cwd: dirname(resolve(file)), timeout, maxBuffer: MAX_OUTPUT, encoding: 'utf8' }, (error, stdout, stderr) =>
      done({ stdout, stderr, ...(error ? { error } : {}) }))
  })
  const tail = out.stderr.trim().split('\n').slice(-5).join('\n').trim()
  const withTail = (message: string): string => (tail ? `${message}; its stderr ends:\n${tail}` : message)
  if (out.error) {
    const e = out.error
    const why = e.killed ? `did not finish within ${timeout / 1000} s (HAVN_INVENTORY_TIMEOUT)` : typeof e.code === 'number' ? `exited with code ${e.code}` : e.code === 'EACCES' ? 'is not executable (chmod +x it)' : `could not be run: ${e.message}`
    problems.add({ file }, withTail(`dynamic inventory \`${shown}\` ${why}`))
    return undefined
  }
  try {
    return JSON.parse(out.stdout) as unknown
  } catch (error) {
    problems.add({ file }, withTail(`dynamic inventory \`${shown}\` printed something other than JSON (${(error as Error).message})`))
    return undefined
  }
}
