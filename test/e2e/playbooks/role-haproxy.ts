import { definePlaybook } from 'havn'
import haproxyBurst from 'havn/roles/haproxy-burst'

/** The haproxy-burst role on every host of the inventory; its vars come from the inventory. */
export default definePlaybook({
  name: 'role-haproxy',
  plays: [{ hosts: 'all', roles: [haproxyBurst()] }],
})
