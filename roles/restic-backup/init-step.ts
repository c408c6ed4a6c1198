import { command, runStep, type StepResult } from 'havn'
import { WRAPPER_PATH } from './render.ts'

const INIT = `${WRAPPER_PATH} init`
const NAME = 'initialise the restic repository'

/**
 * Initialises the repository unless `restic cat config` already succeeds. `settingsPending` says
 * restic or its settings are changed by earlier steps but not yet on the host (a check run's
 * pending changes): the guard would then ask the old setup, so the step is reported as uncertain
 * instead of guessed either way.
 */
export async function initRepository(settingsPending: boolean): Promise<StepResult> {
  if (!settingsPending) return command(INIT, { name: NAME, unless: `${WRAPPER_PATH} cat config >/dev/null 2>&1` })
  return runStep({
    name: NAME,
    async plan() {
      return {
        changes: [{ resource: `command:${INIT}`, action: 'run' }],
        uncertain: 'whether the repository is already initialised can only be asked once the new repository settings are written',
        // Only a check run gets here (a host never has pending changes), so this never runs;
        // if it ever did, initialising is still correct: restic refuses to init an existing repository.
        commands: [{ script: INIT, display: INIT, reportOutput: true }],
      }
    },
  })
}
