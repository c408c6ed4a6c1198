import { defineHandler, defineRole, file, packages, service } from 'havn'
import { CONFIG_PATH, renderConfig } from './render.ts'
import { defaults, schema, type HaproxyBurstVars } from './schema.ts'

/** Graceful reload: Debian's init script checks the config, then lets old workers finish their connections. */
const reload = defineHandler('haproxy-burst:reload', async () => {
  await service.reload('haproxy')
})

/**
 * Installs HAProxy and balances HTTP core-first: weighted, health-checked core servers, with burst
 * servers as `backup` that take traffic only while every core server is down. The config is checked
 * with `haproxy -c` before it replaces the live one, and a change reloads HAProxy gracefully.
 */
export default defineRole<HaproxyBurstVars>({
  name: 'haproxy-burst',
  schema,
  defaults,
  platforms: [{ id: 'debian', versions: ['12', '13'] }],
  async run(v) {
    await packages({ names: ['haproxy'] })
    await file({ path: CONFIG_PATH, content: renderConfig(v), validate: 'haproxy -c -f %s', notify: [reload] })
    // After an install (also one a check run only predicts) Debian has started and enabled it already.
    await service({ name: 'haproxy', state: 'started', enabled: true })
  },
})

export type { BurstServer, CoreServer, HaproxyBurstVars } from './schema.ts'
