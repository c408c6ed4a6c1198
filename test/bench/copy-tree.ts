import { copy, definePlaybook } from 'havn'

/** The copy case's workload: the controller tree in group var `copy_src` onto /srv/bench-tree, one step. */
export default definePlaybook({
  name: 'bench-copy-tree',
  plays: [{ hosts: 'all', async run(host) { await copy({ src: String(host.vars.copy_src), dest: '/srv/bench-tree' }) } }],
})
