import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { events, havn, type CliResult } from './cli.ts'
import { ROLE_HOSTS_BY_KIND, ROLE_KINDS } from './hosts.ts'
import { bedHosts, hostsYaml, hostWrites, writeInventory, changeSet, failures, hostSh } from './support.ts'

const bed = inject('testbed')
const ssh = ['--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts]
const PLAYBOOK = 'test/e2e/playbooks/role-restic.ts'

/** The repository password of every run but the failing one; it must never appear in any output. */
const canary = `rstc${randomBytes(12).toString('hex')}`
/** The s3 secret access key of the s3 checks; it must never appear either. */
const s3Canary = `s3sk${randomBytes(12).toString('hex')}`
/** Every stdout and stderr of every havn run in this file, for the canary check at the end. */
const outputs: string[] = []



const sh = (host: string, script: string): Promise<string> => hostSh(bed, host, script)

async function cli(args: string[]): Promise<CliResult> {
  const res = await havn(args)
  outputs.push(res.stdout, res.stderr)
  return res
}

/** A client key the repository host authorises, made fresh for this file. */
function makeKey(): { privateKey: string; publicKey: string } {
  const dir = mkdtempSync(join(tmpdir(), 'havn-restic-key-'))
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'havn-restic-e2e', '-f', join(dir, 'id')])
  return { privateKey: readFileSync(join(dir, 'id'), 'utf8'), publicKey: readFileSync(join(dir, 'id.pub'), 'utf8') }
}

/** host_vars YAML; JSON values are valid YAML flow scalars, so keys and passwords need no escaping. */
function varsYaml(vars: Record<string, unknown>): string {
  return Object.entries(vars).map(([k, v]) => `${k}: ${JSON.stringify(v)}\n`).join('')
}

const key = makeKey()

/** The command of the role's cron line, as cron would run it. */
async function scheduledCommand(host: string): Promise<string> {
  const cron = await sh(host, 'cat /etc/cron.d/havn-restic')
  const job = cron.split('\n').find((l) => /^[^#\s=]+(\s+\S+){5}\s+\S/.test(l) && !/^\w+=/.test(l))
  if (!job) throw new Error(`no job line in /etc/cron.d/havn-restic:\n${cron}`)
  const fields = job.trim().split(/\s+/)
  expect(fields.slice(0, 6)).toEqual(['30', '2', '*', '*', '*', 'root'])
  return fields.slice(6).join(' ')
}

interface Snapshot {
  id: string
  paths: string[]
  hostname: string
}

async function snapshots(host: string): Promise<Snapshot[]> {
  return JSON.parse(await sh(host, '/usr/local/sbin/havn-restic snapshots --json')) as Snapshot[]
}

describe.each(ROLE_KINDS)('restic-backup role on %s hosts', (kind) => {
  const names = [...ROLE_HOSTS_BY_KIND[kind].restic]
  const [client, repoHost] = names as [string, string]
  const hosts = bedHosts(bed, names)
  const repoAddress = hosts[1]!.address
  const systemd = kind !== 'bookworm-sysv'
  /** A repository moved to a new path is proven once, on the init-script set. */
  const itSysv = (name: string, fn: () => Promise<void>): void => {
    if (!systemd) it(name, fn)
  }
  const itSystemd = (name: string, fn: () => Promise<void>): void => {
    if (systemd) it(name, fn)
  }
  const repoHostKey = readFileSync(bed.knownHosts, 'utf8').split('\n').find((l) => l.startsWith(`${repoAddress} `))

  function inventory(password: string, clientVars: Record<string, unknown> = {}): string {
    return writeInventory({
      'hosts.yaml': hostsYaml(hosts),
      [`host_vars/${client}.yaml`]: varsYaml({
        repository: `sftp:restic@${repoAddress}:/srv/restic-repo`,
        password,
        paths: ['/srv/data'],
        excludes: ['*.tmp'],
        sftpIdentity: key.privateKey,
        knownHosts: [repoHostKey],
        ...clientVars,
      }),
      [`host_vars/${repoHost}.yaml`]: varsYaml({ repository: '/var/backups/restic', password, paths: ['/etc/ssh'] }),
    })
  }

  const good = inventory(canary)
  const args = (verb: string, output = 'json', inv = good) => [verb, PLAYBOOK, '-i', inv, ...ssh, '--output', output]

  /** The first snapshot restores byte for byte, without the excluded file. */
  async function restoresExactly(): Promise<void> {
    await sh(client, 'rm -rf /tmp/restore && /usr/local/sbin/havn-restic restore latest --target /tmp/restore >/dev/null')
    const sums = await sh(client, 'cd /srv/data && sha256sum sub/payload.bin; cd /tmp/restore/srv/data && sha256sum sub/payload.bin')
    const [original, restored] = sums.trim().split('\n')
    expect(restored).toBe(original)
    expect(await sh(client, 'test -e /tmp/restore/srv/data/scratch.tmp && echo present || echo excluded')).toBe('excluded\n')
  }

  describe('sftp and local repositories', () => {
    beforeAll(async () => {
      expect(repoHostKey, 'bed known_hosts has the repository host').toBeDefined()
      // The repository host: an sftp-only login for the client's key. `*` unlocks key logins (sshd refuses `!` accounts without PAM).
      await sh(
        repoHost,
        `useradd -m -s /bin/sh restic && usermod -p '*' restic && install -d -o restic -g restic -m 700 /home/restic/.ssh /srv/restic-repo
printf '%s' '${key.publicKey.trim()}' > /home/restic/.ssh/authorized_keys && chown restic:restic /home/restic/.ssh/authorized_keys && chmod 600 /home/restic/.ssh/authorized_keys`,
      )
      // Data to protect, and a file the excludes keep out.
      await sh(client, 'mkdir -p /srv/data/sub && head -c 300000 /dev/urandom > /srv/data/sub/payload.bin && echo scratch > /srv/data/scratch.tmp')
    })

    it('check writes nothing and predicts exactly what run changes; a second run and check change nothing', async () => {
      const before = names.map((h) => hostWrites(bed, h))
      const check = await cli(args('check'))
      const checkEvents = events(check.stdout)
      expect(failures(checkEvents)).toEqual([])
      expect(check.code).toBe(2)
      expect(names.map((h) => hostWrites(bed, h))).toEqual(before)

      const predicted = changeSet(checkEvents, ['would-change', 'uncertain'])
      const schedule = systemd
        ? ['file:/etc/systemd/system/havn-restic-backup.service', 'file:/etc/systemd/system/havn-restic-backup.timer', 'unit:havn-restic-backup.timer']
        : ['package:cron', 'file:/etc/cron.d/havn-restic']
      for (const r of ['package:restic', 'file:/etc/havn-restic/password', ...schedule, 'command:/usr/local/sbin/havn-restic init']) {
        expect(predicted.some((c) => c.startsWith(`${client} ${r} `)), `check predicts ${r}: ${predicted.join(', ')}`).toBe(true)
      }
      expect(predicted.some((c) => c.startsWith(`${client} file:/etc/havn-restic/id_sftp `))).toBe(true)
      if (systemd) {
        expect(predicted).toEqual(expect.arrayContaining([`${client} unit:havn-restic-backup.timer enabled`, `${client} unit:havn-restic-backup.timer state`]))
        expect(predicted.filter((c) => c.includes('cron'))).toEqual([])
      }

      const run = await cli(args('run'))
      const runEvents = events(run.stdout)
      expect(failures(runEvents), run.stderr).toEqual([])
      expect(run.code).toBe(0)
      expect(changeSet(runEvents, ['changed'])).toEqual(predicted)
      // On a fresh host the guard cannot be asked before the settings exist: check says so.
      expect(checkEvents.find((e) => e.type === 'step:end' && e.host === client && e.step === 'initialise the restic repository')?.status).toBe('uncertain')

      // Root-only settings, a live schedule, and a repository really on the sftp host.
      expect(await sh(client, "stat -c '%a %U %n' /etc/havn-restic /etc/havn-restic/password /etc/havn-restic/env /etc/havn-restic/id_sftp")).toBe(
        '700 root /etc/havn-restic\n600 root /etc/havn-restic/password\n600 root /etc/havn-restic/env\n600 root /etc/havn-restic/id_sftp\n',
      )
      expect(await sh(client, 'cat /etc/havn-restic/password')).toBe(canary)
      if (systemd) expect(await sh(client, 'systemctl is-active havn-restic-backup.timer; systemctl is-enabled havn-restic-backup.timer')).toBe('active\nenabled\n')
      else expect(await sh(client, 'service cron status >/dev/null && echo running')).toBe('running\n')
      expect(await sh(repoHost, "stat -c '%U' /srv/restic-repo/config")).toBe('restic\n')
      expect(await sh(repoHost, 'test -f /var/backups/restic/config && echo local')).toBe('local\n')

      const again = await cli(args('run'))
      const againEvents = events(again.stdout)
      expect(again.code).toBe(0)
      expect(changeSet(againEvents, ['changed', 'would-change', 'uncertain'])).toEqual([])
      const recap = againEvents.at(-1)!
      for (const h of names) expect(recap.hosts[h]).toMatchObject({ changed: 0, failed: 0 })

      const recheck = await cli(args('check', 'line'))
      expect(recheck.code, recheck.stdout + recheck.stderr).toBe(0)
    })

    itSysv('the scheduled job makes a snapshot that restores byte for byte; retention prunes same-day snapshots', async () => {
      const job = await scheduledCommand(client)
      expect(job).toBe('/usr/local/sbin/havn-restic-backup >>/var/log/havn-restic-backup.log 2>&1')
      await sh(client, job)
      const first = await snapshots(client)
      expect(first).toHaveLength(1)
      expect(first[0]).toMatchObject({ paths: ['/srv/data'], hostname: client })
      await restoresExactly()

      // keep-daily 7 keeps one snapshot a day: a second job today replaces the first.
      await sh(client, job)
      const second = await snapshots(client)
      expect(second).toHaveLength(1)
      expect(second[0]!.id).not.toBe(first[0]!.id)
      expect(await sh(client, 'cat /var/log/havn-restic-backup.log')).toMatch(/snapshot [0-9a-f]+ saved/)

      // The local repository on the other host works the same way.
      await sh(repoHost, await scheduledCommand(repoHost))
      expect(await snapshots(repoHost)).toMatchObject([{ paths: ['/etc/ssh'], hostname: repoHost }])
    })

    itSystemd('the timer fires by itself at a new schedule (restarted on the change) and its snapshot restores byte for byte', async () => {
      expect(await snapshots(client)).toEqual([])
      // An operator's drop-in the role leaves alone: fire on the second, not within systemd's default minute.
      await sh(client, 'mkdir -p /etc/systemd/system/havn-restic-backup.timer.d && printf "[Timer]\\nAccuracySec=1s\\n" > /etc/systemd/system/havn-restic-backup.timer.d/accuracy.conf')
      const at = new Date(Date.now() + 15_000)
      const onCalendar = `*-*-* ${at.toISOString().slice(11, 19)} UTC`
      const res = await cli(args('run', 'json', inventory(canary, { onCalendar })))
      const evs = events(res.stdout)
      expect(failures(evs), res.stderr).toEqual([])
      expect(changeSet(evs, ['changed'])).toEqual([`${client} file:/etc/systemd/system/havn-restic-backup.timer content`, `${client} unit:havn-restic-backup.timer state`])
      expect(await sh(client, 'systemctl show -p TimersCalendar --value havn-restic-backup.timer')).toContain(at.toISOString().slice(11, 19))

      // Bounded: the schedule is 15 s away; give it 45 s more.
      let found: Snapshot[] = []
      for (let i = 0; i < 60 && found.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 1000))
        if ((await sh(client, 'systemctl show -p Result -p ActiveState --value havn-restic-backup.service')).startsWith('success\ninactive')) found = await snapshots(client)
      }
      expect(found).toHaveLength(1)
      expect(found[0]).toMatchObject({ paths: ['/srv/data'], hostname: client })
      expect(Date.now()).toBeGreaterThanOrEqual(at.getTime())
      await restoresExactly()
      expect(changeSet(events((await cli(args('run', 'json', inventory(canary, { onCalendar })))).stdout), ['changed'])).toEqual([])
    })

    itSysv('a new repository is initialised: check says uncertain (the guard would ask the old one), run initialises it', async () => {
      const inv = writeInventory({
        'hosts.yaml': hostsYaml(hosts),
        [`host_vars/${repoHost}.yaml`]: varsYaml({ repository: '/var/backups/restic-moved', password: canary, paths: ['/etc/ssh'] }),
      })
      const check = await cli([...args('check', 'json', inv), '--limit', repoHost])
      const checkEvents = events(check.stdout)
      expect(failures(checkEvents)).toEqual([])
      const predicted = changeSet(checkEvents, ['would-change', 'uncertain'])
      expect(predicted).toEqual([`${repoHost} command:/usr/local/sbin/havn-restic init -`, `${repoHost} file:/etc/havn-restic/env content`])
      const run = await cli([...args('run', 'json', inv), '--limit', repoHost])
      const runEvents = events(run.stdout)
      expect(failures(runEvents), run.stderr).toEqual([])
      expect(changeSet(runEvents, ['changed'])).toEqual(predicted)
      expect(await sh(repoHost, 'test -f /var/backups/restic-moved/config && /usr/local/sbin/havn-restic snapshots --json')).toBe('[]\n')
    })

    itSystemd('an s3 repository: check hides the secret key and predicts only the settings and the initialisation', async () => {
      const inv = writeInventory({
        'hosts.yaml': hostsYaml(hosts),
        [`host_vars/${repoHost}.yaml`]: varsYaml({
          repository: 's3:http://127.0.0.1:9/havn-bucket',
          password: canary,
          paths: ['/etc/ssh'],
          s3AccessKeyId: 'AKIDHAVNE2E',
          s3SecretAccessKey: s3Canary,
        }),
      })
      const before = hostWrites(bed, repoHost)
      const check = await cli([...args('check', 'json', inv), '--limit', repoHost])
      const evs = events(check.stdout)
      expect(failures(evs)).toEqual([])
      expect(check.code).toBe(2)
      expect(hostWrites(bed, repoHost)).toEqual(before)
      expect(changeSet(evs, ['would-change', 'uncertain'])).toEqual([`${repoHost} command:/usr/local/sbin/havn-restic init -`, `${repoHost} file:/etc/havn-restic/env content`])
      const step = (name: string) => evs.find((e) => e.type === 'step:end' && e.step === name)!
      expect(step('initialise the restic repository')).toMatchObject({ status: 'uncertain', reason: expect.stringContaining('settings are written') })
      expect(step('file /etc/havn-restic/env').changes).toEqual([{ resource: 'file:/etc/havn-restic/env', action: 'update', field: 'content', sensitive: true }])
      const human = await cli([...args('check', 'human', inv), '--limit', repoHost])
      expect(human.code).toBe(2)
      expect(human.stdout).toContain('/etc/havn-restic/env')
    })

    it('a wrong password fails the run, and no password appears in any output', async () => {
      const wrong = `wrng${randomBytes(12).toString('hex')}`
      const bad = inventory(wrong)
      for (const output of ['json', 'line', 'human']) {
        const res = await cli([...args('run', output, bad), '--diff', '--limit', client])
        expect(res.code, `${output}: ${res.stderr}`).toBe(1)
        if (output === 'json') {
          const failed = failures(events(res.stdout))
          expect(failed.map((e) => [e.host, e.step])).toEqual([[client, 'initialise the restic repository']])
        }
      }
      const joined = outputs.join('\n')
      expect(joined).toContain('sensitive')
      expect(joined).not.toContain(canary)
      expect(joined).not.toContain(wrong)
      expect(joined).not.toContain(s3Canary)
      // The private key never shows either.
      expect(joined).not.toContain(key.privateKey.split('\n')[1]!)
    })
  })
})
