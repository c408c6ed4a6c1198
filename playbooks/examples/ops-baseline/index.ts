import { authorizedKey, copy, cron, defineRole, directory, download, group, packages, template, unarchive, user, type JsonSchema } from 'havn'

/** Vars of the example `ops-baseline` role. */
export interface OpsBaselineVars {
  /** Public keys (one OpenSSH line each) that log in as `ops`; every other key of that account is removed. */
  opsKeys: readonly string[]
  /** Who the daily report names. */
  contact: string
  /** Mount points the report watches. */
  watchPaths: readonly string[]
  /** The report warns about a watched file system at least this full (percent). */
  diskWarnPercent: number
  /** When the report runs: five cron fields. */
  reportSchedule: string
  /** A tools bundle (a .tar.gz with one top folder) unpacked into /opt/ops-tools; leave out for none. */
  tools?: { readonly url: string; readonly sha256: string }
}

const TOOLS_DIR = '/opt/ops-tools'
const TOOLS_ARCHIVE = '/var/cache/ops-tools.tar.gz'

const schema: JsonSchema = {
  type: 'object',
  properties: {
    opsKeys: { type: 'array', items: { type: 'string', pattern: '^(ssh-|ecdsa-|sk-)' }, minItems: 1 },
    contact: { type: 'string', minLength: 1 },
    watchPaths: { type: 'array', items: { type: 'string', pattern: '^/' }, minItems: 1 },
    diskWarnPercent: { type: 'integer', minimum: 1, maximum: 100 },
    reportSchedule: { type: 'string' },
    tools: {
      type: 'object',
      properties: { url: { type: 'string', pattern: '^https?://' }, sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
      required: ['url', 'sha256'],
      additionalProperties: false,
    },
  },
  required: ['opsKeys', 'contact'],
}

/**
 * An example of a role of one's own, built from havn's modules: an `ops` account in its own group
 * that logs in with the given keys only, a tools bundle fetched with a checksum and unpacked, the
 * report scripts copied from `files/bin`, their settings rendered from a Jinja template, and a
 * daily report from cron. Every step is idempotent and check mode predicts it exactly.
 */
export default defineRole<OpsBaselineVars>({
  name: 'ops-baseline',
  schema,
  defaults: { watchPaths: ['/'], diskWarnPercent: 85, reportSchedule: '15 7 * * *' },
  async run(v, host) {
    await group({ name: 'ops', system: true })
    await user({ name: 'ops', group: 'ops', shell: '/bin/sh', system: true, createHome: true, home: '/home/ops' })
    await authorizedKey({ user: 'ops', key: v.opsKeys, exclusive: true })
    await packages({ names: ['cron'] })

    if (v.tools) {
      await download({ url: v.tools.url, sha256: v.tools.sha256, dest: TOOLS_ARCHIVE, mode: '0644' })
      await unarchive({ src: TOOLS_ARCHIVE, remoteSrc: true, dest: TOOLS_DIR, createDest: true, stripComponents: 1, owner: 'root', group: 'ops', mode: 'u=rwX,g=rX,o=' })
    }

    await copy({ src: new URL('./files/bin', import.meta.url), dest: '/usr/local/lib/ops/bin', mode: '0755', dirMode: '0755' })
    await directory({ path: '/etc/ops', mode: '0755' })
    await template({
      src: new URL('./templates/ops.conf.j2', import.meta.url),
      dest: '/etc/ops/ops.conf',
      mode: '0644',
      vars: {
        managed: 'Managed by havn (ops-baseline); local edits are replaced.',
        host: host.name,
        contact: v.contact,
        disk_warn_percent: v.diskWarnPercent,
        watch_paths: v.watchPaths,
        tools_dir: v.tools ? TOOLS_DIR : '',
      },
    })
    await cron({ name: 'ops-report', schedule: v.reportSchedule, user: 'ops', command: '/usr/local/lib/ops/bin/ops-report >> /home/ops/report.log 2>&1', env: { MAILTO: '' } })
  },
})
