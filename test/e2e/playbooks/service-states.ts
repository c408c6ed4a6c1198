import { definePlaybook, service } from 'havn'

/** Drives one service to the state and boot setting given by host vars `svc`, `state` and `enabled`. */
export default definePlaybook({
  name: 'service-states',
  plays: [
    {
      hosts: 'all',
      async run(host) {
        const { svc, state, enabled } = host.vars as { svc: string; state?: 'started' | 'stopped' | 'restarted' | 'reloaded'; enabled?: boolean }
        await service({ name: svc, ...(state ? { state } : {}), ...(enabled === undefined ? {} : { enabled }) })
      },
    },
  ],
})
