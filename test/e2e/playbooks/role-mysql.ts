import { definePlaybook } from 'havn'
import mysqlNvme from 'havn/roles/mysql-nvme'

/** The mysql-nvme role on every host, with all its vars from the inventory. */
export default definePlaybook({
  name: 'role-mysql',
  plays: [{ hosts: 'all', roles: [mysqlNvme()] }],
})
