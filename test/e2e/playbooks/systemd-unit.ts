import { definePlaybook, systemdUnit, type SystemdUnitArgs } from 'havn'

/** Ensures one systemd unit exactly as the host var `unit` (the module's arguments) describes it. */
export default definePlaybook({
  name: 'systemd-unit',
  plays: [
    {
      hosts: 'all',
      async run(host) {
        await systemdUnit(host.vars.unit as SystemdUnitArgs)
      },
    },
  ],
})
