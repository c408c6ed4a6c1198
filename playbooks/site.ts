import { readFileSync } from 'node:fs'
import { definePlaybook, secret } from 'havn'
import haproxyBurst from 'havn/roles/haproxy-burst'
import mysqlNvme from 'havn/roles/mysql-nvme'
import postgresWanTuning from 'havn/roles/postgres-wan-tuning'
import resticBackup from 'havn/roles/restic-backup'
import wireguardHub, { wireguardKeys } from 'havn/roles/wireguard-hub'

/**
 * The whole estate: the WireGuard mesh first (keys everywhere, then the hub, then the spokes), then
 * the databases one host at a time, then the edge HAProxy, then off-site backups.
 *
 * The restic repository password is read from the file named by HAVN_RESTIC_PASSWORD_FILE, so it
 * never sits in the inventory; without it, set `password` in an (untracked) vars file.
 */
const passwordFile = process.env.HAVN_RESTIC_PASSWORD_FILE
const backupVars = passwordFile ? { password: secret(readFileSync(passwordFile, 'utf8').replace(/\r?\n$/, '')) } : {}

export default definePlaybook({
  name: 'site',
  plays: [
    { name: 'mesh keys', hosts: 'wg_mesh', roles: [wireguardKeys()], tags: ['mesh'] },
    { name: 'mesh hub', hosts: 'wg_hub', roles: [wireguardHub()], tags: ['mesh'] },
    { name: 'mesh spokes', hosts: 'wg_spokes', roles: [wireguardHub()], tags: ['mesh'] },
    { name: 'postgres', hosts: 'postgres', serial: 1, roles: [postgresWanTuning()], tags: ['databases'] },
    { name: 'mysql', hosts: 'mysql', serial: 1, roles: [mysqlNvme()], tags: ['databases'] },
    { name: 'edge', hosts: 'edge', roles: [haproxyBurst()], tags: ['edge'] },
    { name: 'backups', hosts: 'backup', roles: [resticBackup(backupVars)], tags: ['backups'] },
  ],
})
