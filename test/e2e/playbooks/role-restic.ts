import { definePlaybook } from 'havn'
import resticBackup from 'havn/roles/restic-backup'

/** The restic-backup role on every host; all vars (repository, password, keys) come from the inventory. */
export default definePlaybook({ name: 'role-restic', plays: [{ hosts: 'all', roles: [resticBackup()] }] })
