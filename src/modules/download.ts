import { isSecret, maskUrl, shQuote, type Secret } from '../connection/quote.ts'
import type { Handler } from '../engine/handlers.ts'
import type { RetryKeywords } from '../engine/retry.ts'
import { runStep, type PlanContext, type StepResult, type StepSpec } from '../engine/step.ts'
import { commandsFound } from '../facts/command.ts'
import { pendingInstalls } from '../facts/packages.ts'
import { tempPrefix } from './atomic-write.ts'
import { checkSha256, fetchOnController } from './download-fetch.ts'
import { checkPath, parseMode, planWrite, readFileState, type HostFill, type Mode } from './file.ts'

/** Arguments of {@link download}. */
export interface DownloadArgs extends RetryKeywords {
  /** http, https or ftp; user and password in it (or a `secret()` URL) never show. */
  readonly url: string | Secret
  /** Absolute path of the file on the host. */
  readonly dest: string
  /** The file's SHA-256 (64 hex digits): a file that has it already is never fetched again. */
  readonly sha256: string
  readonly mode?: Mode
  readonly owner?: string
  readonly group?: string
  /** Who fetches: `host` (curl or wget on it), `controller` (fetched here, then sent), `auto` (default): the host if it has curl or wget. */
  readonly via?: 'host' | 'controller' | 'auto'
  /** Request headers; `secret()` values never show. */
  readonly headers?: Readonly<Record<string, string | Secret>>
  /** Seconds the whole fetch may take. */
  readonly timeout?: number
  readonly notify?: readonly Handler[]
}

/** The fetch programs a host may have, in order of preference. */
const TOOLS = ['curl', 'wget'] as const
type Tool = (typeof TOOLS)[number]

/**
 * The program the host fetches with: one it has, or, in a check run, one an earlier step installs.
 * Undefined when it has neither.
 */
async function hostTool(ctx: PlanContext): Promise<Tool | undefined> {
  const found = await ctx.fact(commandsFound, TOOLS)
  const have = TOOLS.find((t) => found.includes(t))
  if (have !== undefined) return have
  const pending = await ctx.fact(pendingInstalls)
  return TOOLS.find((t) => pending.includes(t))
}

/** A value for curl's config file: in double quotes, with backslash and quote escaped. */
function curlValue(s: string): string {
  return `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`
}

/**
 * The host side of a download: curl or wget writes the temp file, and the sum is checked before
 * the atomic write renames it into place. Headers, and a URL that holds credentials or is secret,
 * come on stdin, so they are never in the script or a process's arguments (wget's headers pass
 * through a root-only file: it reads its startup file twice, so not from a pipe). A plain URL is
 * in the script, where the host's error output may show it.
 */
function hostFill(tool: Tool, url: string, shown: string, headers: readonly string[], sha256: string, timeoutS: number | undefined, dest: string): HostFill {
  const limit = timeoutS !== undefined ? `timeout ${timeoutS} ` : ''
  const failed = `{ rc=$?; echo "havn: fetching "${shQuote(shown)}" failed (${tool} exit $rc)" >&2; exit $rc; }`
  const hidden = shown !== url
  const lines: string[] = []
  const stdin: string[] = []
  if (tool === 'curl') {
    if (hidden) stdin.push(`url = ${curlValue(url)}`)
    stdin.push(...headers.map((h) => `header = ${curlValue(h)}`))
    lines.push(`${limit}curl -q -K - -fsSL -o "$t"${hidden ? '' : ` ${shQuote(url)}`} || ${failed}`)
  } else {
    if (hidden) stdin.push(url)
    stdin.push(...headers.map((h) => `header = ${h}`))
    lines.push(
      ...(hidden ? [`IFS= read -r u || { echo "havn: no URL on stdin" >&2; exit 3; }`] : []),
      `rm -f -- "$d"/${shQuote(tempPrefix(dest))}*.wgetrc`,
      `h="$t.wgetrc"`,
      `( umask 077; cat > "$h" ) || exit 3`,
      `trap 'rm -f -- "$t" "$h"' EXIT`,
      ...(hidden
        ? [`${limit}wget -nv --tries=1 --auth-no-challenge --config="$h" -O "$t" -i /dev/fd/3 3<<HAVN_URL || ${failed}`, '$u', 'HAVN_URL']
        : [`${limit}wget -nv --tries=1 --config="$h" -O "$t" ${shQuote(url)} || ${failed}`]),
      `rm -f -- "$h"`,
    )
  }
  return {
    script: [
      ...lines,
      `s=$(sha256sum < "$t") || exit 3`,
      `s=\${s%% *}`,
      `[ "$s" = ${sha256} ] || { echo "havn: sha256 mismatch for "${shQuote(shown)}": expected ${sha256}, got $s" >&2; exit 4; }`,
    ].join('\n'),
    display: `download ${shown} to ${dest} (${tool} on the host)`,
    stdin: stdin.map((l) => `${l}\n`).join(''),
    sha256,
  }
}

/** Throws unless the URL is one curl, wget and fetch() all take: http, https or ftp, on one line. */
function checkUrl(url: string, subject: string): void {
  let u: URL | undefined
  try {
    u = /[\s]/.test(url) ? undefined : new URL(url)
  } catch {
    u = undefined
  }
  if (!u) throw new Error(`${subject}: url is not a URL (or holds a space)`)
  if (!['http:', 'https:', 'ftp:'].includes(u.protocol)) throw new Error(`${subject}: url must be an http, https or ftp URL, got ${JSON.stringify(maskUrl(url))}`)
}

/** The headers with their values revealed; throws (never showing a value) on a name or value curl or wget would misread. */
function revealHeaders(headers: DownloadArgs['headers'], subject: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers ?? {}).map(([name, v]) => {
      const value = isSecret(v) ? v.reveal() : v
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new Error(`${subject}: header name ${JSON.stringify(name)} is not a valid HTTP header name`)
      if (/[\r\n\0]/.test(value)) throw new Error(`${subject}: the value of header ${name} holds a line break`)
      return [name, value]
    }),
  )
}

/** The step behind {@link download}; pure, for tests. */
export function downloadStep(args: DownloadArgs): StepSpec {
  const subject = `download ${args.dest}`
  return {
    name: subject,
    notify: args.notify,
    async plan(ctx) {
      checkPath(args.dest)
      const sha256 = checkSha256(args.sha256, subject)
      const url = isSecret(args.url) ? args.url.reveal() : args.url
      checkUrl(url, subject)
      const headers = revealHeaders(args.headers, subject)
      const shown = isSecret(args.url) ? '***' : maskUrl(url)
      if (args.timeout !== undefined && !(Number.isInteger(args.timeout) && args.timeout > 0)) throw new Error(`${subject}: timeout must be a whole number of seconds above 0`)
      const want = {
        path: args.dest,
        state: await readFileState(ctx, args.dest),
        ...(args.mode !== undefined ? { mode: parseMode(args.mode) } : {}),
        ...(args.owner !== undefined ? { owner: args.owner } : {}),
        ...(args.group !== undefined ? { group: args.group } : {}),
      }
      // The file is there already: only attributes may differ, and nothing is fetched.
      if (want.state.kind === 'file' && want.state.sha256 === sha256) return planWrite(want)
      // What is there cannot become the file (planWrite says why): fail before fetching.
      if (want.state.kind === 'directory' || want.state.kind === 'other' || want.state.kind === 'symlink') return planWrite(want)
      const via = args.via ?? 'auto'
      if (!['host', 'controller', 'auto'].includes(via)) throw new Error(`${subject}: via must be 'host', 'controller' or 'auto', got ${JSON.stringify(via)}`)
      const tool = via === 'controller' ? undefined : await hostTool(ctx)
      if (tool !== undefined) {
        const fill = hostFill(tool, url, shown, Object.entries(headers).map(([k, v]) => `${k}: ${v}`), sha256, args.timeout, args.dest)
        const secretInput = shown !== url || Object.values(args.headers ?? {}).some(isSecret)
        return planWrite({ ...want, fill: secretInput ? { ...fill, sensitiveStdin: true } : fill })
      }
      if (via === 'host') throw new Error(`${subject}: host ${ctx.host.name} has neither curl nor wget; install one first (packages({ names: ['curl'] })) or set via: 'controller'`)
      if (new URL(url).protocol === 'ftp:') throw new Error(`${subject}: the controller fetches only http and https URLs; install curl or wget on host ${ctx.host.name}`)
      const source = await fetchOnController({ url, shown, headers, sha256, ...(args.timeout !== undefined ? { timeoutS: args.timeout } : {}), subject, host: ctx.host.name })
      return planWrite({ ...want, source })
    },
  }
}

/**
 * Ensures a file fetched from a URL, with a required SHA-256: a file that has that sum is left
 * alone (never fetched again). The host fetches it with curl or wget into a temp file beside
 * `dest`, checks the sum and renames it into place; without either (or with `via: 'controller'`)
 * the controller fetches, checks and sends it. A wrong sum fails, naming both sums, and leaves
 * `dest` untouched.
 */
export function download(args: DownloadArgs): Promise<StepResult> {
  return runStep(downloadStep(args), args)
}
