import { isSecret, scrubSecret, type Secret } from '../connection/quote.ts'
import type { RetryKeywords } from '../engine/retry.ts'
import { runStep, type StepResult, type StepSpec } from '../engine/step.ts'
import { sourcePath } from './copy-source.ts'
import { checkPath, checkValidate, parseMode, planWrite, readFileState, type WriteOptions } from './file.ts'
import type { JinjaValue } from './jinja.ts'

/** A template variable: plain data, where any string may be a `secret()`. */
export type TemplateValue = JinjaValue | Secret | readonly TemplateValue[] | { readonly [key: string]: TemplateValue }

/** Arguments of {@link template}. */
export interface TemplateArgs extends WriteOptions, RetryKeywords {
  /** The Jinja template on the controller: an absolute path or a `file:` URL (`new URL('./templates/app.conf.j2', import.meta.url)`). */
  readonly src: string | URL
  /** Absolute path of the file on the host. */
  readonly dest: string
  /** What the template reads; a `secret()` anywhere in them makes the whole file sensitive. */
  readonly vars?: Readonly<Record<string, TemplateValue>>
}

/** The vars with every secret revealed, and the revealed values (to keep them out of errors). */
function reveal(v: TemplateValue, found: string[]): JinjaValue {
  if (isSecret(v)) {
    found.push(v.reveal())
    return v.reveal()
  }
  if (Array.isArray(v)) return v.map((x: TemplateValue) => reveal(x, found))
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reveal(x as TemplateValue, found)]))
  return v as JinjaValue
}

/** The step behind {@link template}; renders on the controller when it plans. */
export function templateStep(args: TemplateArgs): StepSpec {
  return {
    name: `template ${args.dest}`,
    notify: args.notify,
    async plan(ctx) {
      checkPath(args.dest)
      checkValidate(args.validate)
      const src = sourcePath(args.src, 'template')
      const secrets: string[] = []
      const vars = reveal(args.vars ?? {}, secrets) as Record<string, JinjaValue>
      let content: string
      try {
        // nunjucks is loaded on the first render: most runs render no Jinja and should not pay for it.
        const { renderJinja } = await import('./jinja.ts')
        content = renderJinja(src, vars)
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err)
        throw new Error(secrets.reduce((m, s) => scrubSecret(m, s), message))
      }
      const state = await readFileState(ctx, args.dest)
      return planWrite({
        path: args.dest,
        state,
        content,
        sensitive: args.sensitive === true || secrets.length > 0,
        mode: args.mode === undefined ? undefined : parseMode(args.mode),
        owner: args.owner,
        group: args.group,
        validate: args.validate,
        backup: args.backup,
      })
    },
  }
}

/**
 * Ensures a file rendered from a Jinja template (an Ansible `.j2` moves over unchanged: Ansible's
 * trim_blocks, no HTML escaping, an undefined value fails the step naming template, line and
 * variable), written and compared as `file` does. For a template written in TypeScript, give
 * `file` a template literal (`file({ path, content: \`port = ${port}\n\` })`): typed, and checked
 * by the compiler; `template` is for Jinja files.
 */
export function template(args: TemplateArgs): Promise<StepResult> {
  return runStep(templateStep(args), args)
}
