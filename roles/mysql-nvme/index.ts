import { defineHandler, defineRole, directory, file, osInfo, packages, pendingChanges, service, serviceStatus } from 'havn'
import { configPath, renderConfig } from './render.ts'
import { defaults, schema, type MysqlNvmeVars } from './schema.ts'
import { desiredSettings } from './settings.ts'
import { applyDynamic, checkDatadir, staticSettings } from './steps.ts'

/**
 * Restarts the database server. It finds the service on the host (not from vars) so that a
 * notification left by an interrupted run is honoured by the next run of any playbook.
 */
export const restartServer = defineHandler('mysql-nvme:restart', async (host) => {
  const mariadb = await host.fact(serviceStatus, 'mariadb')
  const mysql = mariadb.exists ? undefined : await host.fact(serviceStatus, 'mysql')
  await service.restart(mysql?.exists ? 'mysql' : 'mariadb')
})

/**
 * Tunes MariaDB or MySQL for NVMe storage: writes `[mysqld]` settings to its own config file,
 * applies dynamic ones live with `SET GLOBAL`, and restarts for static ones (or reports the
 * restart as pending with `allowRestart: false`). O_DIRECT is probed on the datadir first.
 */
export default defineRole<MysqlNvmeVars>({
  name: 'mysql-nvme',
  schema,
  defaults,
  platforms: [{ id: 'debian', versions: ['12', '13'] }],
  async run(v, host) {
    const os = await host.fact(osInfo)
    const settings = desiredSettings(v, os.memTotalBytes)
    const path = configPath(v.flavor)
    const serviceName = v.flavor === 'mariadb' ? 'mariadb' : 'mysql'

    await checkDatadir(v.datadir, v.flushMethod)
    // The config goes in before the package, so a fresh server starts tuned and needs no restart.
    await directory({ path: '/etc/mysql', mode: 0o755 })
    await directory({ path: path.slice(0, path.lastIndexOf('/')), mode: 0o755 })
    await file({ path, content: renderConfig(settings), mode: 0o644 })

    const pkgName = v.flavor === 'mariadb' ? 'mariadb-server' : 'mysql-server'
    if (v.installPackage) await packages({ names: [pkgName] })
    // Installing starts the server (also an install a check run only predicts): then this changes nothing.
    await service({ name: serviceName, state: 'started' })
    // A server an earlier step installs or starts will come up with the config file: nothing to set live.
    const pending = await host.fact(pendingChanges)
    const expectRunning = !pending.includes(`package:${pkgName}`) && !pending.includes(`service:${serviceName}`)

    await applyDynamic(settings, { expectRunning })
    await staticSettings(settings, { expectRunning, service: serviceName, allowRestart: v.allowRestart, restart: restartServer })
  },
})

export type { ByteSize, FlushMethod, MysqlFlavor, MysqlNvmeVars } from './schema.ts'
