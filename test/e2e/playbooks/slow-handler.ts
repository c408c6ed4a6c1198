import { command, defineHandler, definePlaybook } from 'havn'

const handled = defineHandler('e2e-record-handled', async () => {
  await command('echo handled >> /root/handled.log', { name: 'record handled' })
})

/** A change that notifies a handler, then a slow step (host var `sleepSeconds`), so a test can kill the run in between. */
export default definePlaybook({
  name: 'slow-handler',
  plays: [
    {
      hosts: 'all',
      async run(host) {
        await command('touch /root/changed', { creates: '/root/changed', notify: [handled], name: 'make change' })
        const seconds = Number(host.vars.sleepSeconds ?? 0)
        if (seconds > 0) await command(`sleep ${seconds}`, { name: 'slow step' })
      },
    },
  ],
})
