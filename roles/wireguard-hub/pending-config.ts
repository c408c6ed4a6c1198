import { fileState, runStep, type Change, type Handler, type StepResult } from 'havn'

/** Arguments of {@link configWithPendingKeys}. */
export interface PendingConfigArgs {
  readonly path: string
  /** The config as it will be, with placeholders where public keys are not known yet. */
  readonly content: string
  readonly mode: number
  /** Why the content cannot be known: names the hosts whose keys are generated during the run. */
  readonly reason: string
  /** The error of a real run, which only gets here when a peer's key could not be read. */
  readonly failure: string
  readonly notify?: readonly Handler[]
}

function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0')
}

/**
 * The step a check run shows for a config whose peers' keys do not exist yet: the same resource
 * and fields `file` would change, reported as uncertain with the reason, and a diff with
 * placeholders. It never writes: a real run only gets here when a peer published no key (its key
 * file is broken), and then fails naming it (as a missing resource) rather than write a placeholder.
 */
export function configWithPendingKeys(args: PendingConfigArgs): Promise<StepResult> {
  const { path, content, mode } = args
  return runStep({
    name: `file ${path}`,
    notify: args.notify,
    async plan(ctx) {
      const state = await ctx.fact(fileState, path)
      const resource = `file:${path}`
      const changes: Change[] = []
      if (state.kind === 'absent') {
        changes.push({ resource, action: 'create', field: 'content', after: content }, { resource, action: 'create', field: 'mode', after: octal(mode) })
      } else if (state.kind === 'file') {
        changes.push({ resource, action: 'update', field: 'content', before: state.content ?? `sha256:${state.sha256.slice(0, 12)}… (${state.size} bytes)`, after: content })
        if (state.mode !== mode) changes.push({ resource, action: 'update', field: 'mode', before: octal(state.mode), after: octal(mode) })
      } else {
        throw new Error(`${path} exists but is not a regular file`)
      }
      return { changes, uncertain: args.reason, missing: `${path} not written: ${args.failure}` }
    },
  })
}
