import { absent, defineRole, directory, file, osInfo, packages, pendingChanges, secret, service, systemdUnit, type Secret } from 'havn'
import {
  BACKUP_PATH,
  CONF_DIR,
  CRON_PATH,
  ENV_PATH,
  EXCLUDES_PATH,
  IDENTITY_PATH,
  KNOWN_HOSTS_PATH,
  parseSftpRepository,
  PASSWORD_PATH,
  renderBackupScript,
  renderCron,
  renderEnv,
  renderExcludes,
  renderKnownHosts,
  renderServiceUnit,
  renderTimerUnit,
  renderWrapper,
  sftpCommand,
  UNIT,
  WRAPPER_PATH,
} from './render.ts'
import { initRepository } from './init-step.ts'
import { defaults, schema, type ResticBackupVars } from './schema.ts'

/** The files whose content the repository guard depends on. */
const SETTINGS = [PASSWORD_PATH, ENV_PATH, IDENTITY_PATH, KNOWN_HOSTS_PATH, WRAPPER_PATH].map((p) => `file:${p}`)

/**
 * Inventory YAML cannot carry a `secret()`, so a secret var may arrive as a plain string: wrap it,
 * which also registers it for output scrubbing.
 */
function asSecret(value: Secret | string): Secret {
  return typeof value === 'string' ? secret(value) : value
}

/**
 * Encrypted, scheduled restic backups to an sftp, local or S3-compatible repository: root-only
 * settings in /etc/havn-restic, the repository initialised only when `restic cat config` fails,
 * a backup script (`backup`, then `forget --prune` with the retention vars) run daily by a systemd
 * timer, or by cron where systemd does not run.
 */
export default defineRole<ResticBackupVars>({
  name: 'restic-backup',
  schema,
  defaults,
  platforms: [{ id: 'debian', versions: ['12', '13'] }],
  async run(v, host) {
    const systemd = (await host.fact(osInfo)).initSystem === 'systemd'
    const sftp = parseSftpRepository(v.repository)
    const password = asSecret(v.password)
    const s3Secret = v.s3SecretAccessKey === undefined ? undefined : asSecret(v.s3SecretAccessKey)

    await packages({ names: ['restic', ...(sftp ? ['openssh-client'] : []), ...(systemd ? [] : ['cron'])] })
    await directory({ path: CONF_DIR, mode: 0o700, owner: 'root', group: 'root' })
    await file({ path: PASSWORD_PATH, content: password, mode: 0o600, owner: 'root', group: 'root' })
    await file({
      path: ENV_PATH,
      content: renderEnv(v, s3Secret?.reveal()),
      mode: 0o600,
      owner: 'root',
      group: 'root',
      sensitive: s3Secret !== undefined,
      validate: 'sh -n %s',
    })
    await file({ path: EXCLUDES_PATH, content: renderExcludes(v), mode: 0o644 })
    if (v.sftpIdentity !== undefined) {
      const key = asSecret(v.sftpIdentity).reveal()
      // OpenSSH rejects a private key whose last line lacks its newline.
      await file({ path: IDENTITY_PATH, content: secret(key.endsWith('\n') ? key : `${key}\n`), mode: 0o600, owner: 'root', group: 'root' })
    }
    if (v.knownHosts.length > 0) await file({ path: KNOWN_HOSTS_PATH, content: renderKnownHosts(v), mode: 0o644 })
    await file({ path: WRAPPER_PATH, content: renderWrapper(sftpCommand(v)), mode: 0o755, validate: 'sh -n %s' })
    await file({ path: BACKUP_PATH, content: renderBackupScript(v), mode: 0o755, validate: 'sh -n %s' })

    // restic, or settings, that earlier steps have yet to bring: asking the guard now would ask the old setup.
    const pending = await host.fact(pendingChanges)
    await initRepository(pending.some((r) => r === 'package:restic' || SETTINGS.includes(r)))

    if (systemd) {
      await systemdUnit({ name: `${UNIT}.service`, content: renderServiceUnit() })
      // A running timer keeps its old schedule until restarted.
      await systemdUnit({ name: `${UNIT}.timer`, content: renderTimerUnit(v), enabled: true, state: 'started', restartOnChange: true })
      await absent({ path: CRON_PATH })
      return
    }
    await file({ path: CRON_PATH, content: renderCron(v), mode: 0o644 })
    // Debian's cron package starts and enables cron when it is installed: then this changes nothing.
    await service({ name: 'cron', state: 'started', enabled: true })
  },
})

export type { ResticBackupVars } from './schema.ts'
