import { definePlaybook, packages, service } from 'havn'

/** Installs a package and starts its service: in a check run on a fresh host, both would change. */
export default definePlaybook({
  name: 'install-start',
  plays: [
    {
      hosts: 'all',
      async run() {
        await packages({ names: ['haproxy'] })
        await service({ name: 'haproxy', state: 'started', enabled: true })
      },
    },
  ],
})
