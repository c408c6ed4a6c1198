import type { Setting } from './settings.ts'

/** The config file the role owns, for a flavour (Debian layout: read after the distribution's 50-*.cnf). */
export function configPath(flavor: 'mariadb' | 'mysql'): string {
  return flavor === 'mariadb' ? '/etc/mysql/mariadb.conf.d/60-nvme.cnf' : '/etc/mysql/mysql.conf.d/60-nvme.cnf'
}

/** The whole `[mysqld]` config file for the settings, one `key = value` line each, in the given (sorted) order. */
export function renderConfig(settings: readonly Setting[]): string {
  const lines = [
    '# Managed by havn (role mysql-nvme); local edits are overwritten on the next run.',
    '# NVMe tuning: O_DIRECT bypasses the page cache, so the buffer pool is the only cache.',
    '[mysqld]',
    ...settings.map((s) => `${s.key} = ${s.text}`),
  ]
  return `${lines.join('\n')}\n`
}
