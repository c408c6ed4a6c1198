import { describe, expect, inject, it } from 'vitest'
import { hostExec } from '../testbed/index.ts'
import { events, havn, type CliResult } from './cli.ts'
import { ROLE_HOSTS_BY_KIND, ROLE_KINDS } from './hosts.ts'
import { hostWrites, changeSet, failures, hostSh } from './support.ts'
import { meshInventory } from './wireguard-inventory.ts'

const bed = inject('testbed')
const ssh = ['--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts]
const PLAYBOOK = 'test/e2e/playbooks/role-wireguard.ts'
const sh = (host: string, script: string): Promise<string> => hostSh(bed, host, script)

/** Lines `pubkey<TAB>value` of `wg show wg0 <what>` as a map. */
async function wgShow(host: string, what: 'latest-handshakes' | 'transfer'): Promise<Map<string, number[]>> {
  const out = await sh(host, `wg show wg0 ${what}`)
  return new Map(out.trim().split('\n').filter(Boolean).map((l) => {
    const [key, ...nums] = l.split('\t')
    return [key!, nums.map(Number)]
  }))
}

/** What must survive adding a spoke: the interface instance, its wireguard-go process and its sessions. */
async function tunnelState(host: string): Promise<{ ifindex: string; pid: string; handshakes: Map<string, number[]>; transfer: Map<string, number[]> }> {
  return {
    ifindex: (await sh(host, 'cat /sys/class/net/wg0/ifindex')).trim(),
    pid: (await sh(host, 'pgrep -x wireguard-go')).trim(),
    handshakes: await wgShow(host, 'latest-handshakes'),
    transfer: await wgShow(host, 'transfer'),
  }
}

/** Whether `host` gets a reply from the hub's tunnel address: one probe a second until the first reply, at most `seconds`. */
async function pingsHub(host: string, seconds = 10): Promise<boolean> {
  return (await hostExec(bed, host, `ping -c 1 -w ${seconds} 10.10.0.1 >/dev/null 2>&1`)).code === 0
}

describe.each(ROLE_KINDS)('wireguard-hub role on %s hosts', (kind) => {
  const hosts = ROLE_HOSTS_BY_KIND[kind].wireguard
  const [hub, ...spokes] = hosts as [string, ...string[]]
  /** Adding a spoke, an interrupted sync and a new key are proven once, on the init-script set (five hosts). */
  const full = kind === 'bookworm-sysv'
  const itFull = (name: string, fn: () => Promise<void>): void => {
    if (full) it(name, fn)
  }
  const systemd = kind !== 'bookworm-sysv'
  const firstSpokes = full ? spokes.slice(0, 3) : spokes
  const lateSpoke = spokes[3]!
  const mesh = [hub, ...firstSpokes]

  /** Tunnel address of the n-th mesh host: the hub is .1/24, spokes .2, .3, … as /32. */
  const tunnelAddress = (name: string): string => {
    const i = hosts.indexOf(name)
    return i === 0 ? '10.10.0.1/24' : `10.10.0.${i + 1}/32`
  }

  /** An inventory with the hub and the given spokes in the groups the playbook targets. */
  const inventory = (spokeNames: readonly string[]): string => meshInventory(bed, hub, spokeNames, tunnelAddress)

  /** Every CLI output of this set, to prove no private key ever reached one. */
  const outputs: string[] = []

  async function cli(verb: 'check' | 'run', inv: string, output: 'json' | 'line' = 'json', extra: string[] = []): Promise<CliResult> {
    const res = await havn([verb, PLAYBOOK, '-i', inv, ...ssh, '--output', output, ...extra], { timeoutMs: 170_000 })
    outputs.push(res.stdout, res.stderr)
    return res
  }

  describe.sequential('hub and spokes over wireguard-go', () => {
    const inv = inventory(firstSpokes)

    it('check predicts exactly what the run changes and writes nothing; the run builds a mesh every spoke pings through; a second run changes nothing', async () => {
      const before = mesh.map((h) => hostWrites(bed, h))
      const check = await cli('check', inv)
      const checkEvents = events(check.stdout)
      expect(failures(checkEvents)).toEqual([])
      expect(check.code).toBe(2)
      expect(mesh.map((h) => hostWrites(bed, h))).toEqual(before)

      // Keys do not exist yet: configs holding peers are uncertain, with placeholders and a reason.
      const confs = checkEvents.filter((e) => e.type === 'step:end' && e.step === 'file /etc/wireguard/wg0.conf')
      expect(confs.map((e) => [e.host, e.status]).sort()).toEqual(mesh.map((h) => [h, 'uncertain']).sort())
      const hubConf = confs.find((e) => e.host === hub)!
      expect(hubConf.reason).toMatch(/generated on those hosts during the run/)
      const hubContent = hubConf.changes.find((c: { field?: string }) => c.field === 'content').after as string
      for (const s of firstSpokes) expect(hubContent).toContain(`PublicKey = (key generated on ${s} during the run)`)
      expect(hubContent).not.toMatch(/PrivateKey/)

      const predicted = changeSet(checkEvents, ['would-change', 'uncertain'])
      for (const h of mesh) {
        const up = systemd ? 'service:wg-quick@wg0' : 'command:wg-quick up wg0'
      for (const resource of ['package:wireguard-tools', 'package:wireguard-go', 'file:/etc/wireguard/wg0.conf', up]) {
          expect(predicted.some((c) => c.startsWith(`${h} ${resource} `)), `check predicts ${resource} on ${h}`).toBe(true)
        }
      }
      expect(predicted).toContain(`${hub} sysctl:net.ipv4.ip_forward value`)

      const run = await cli('run', inv)
      const runEvents = events(run.stdout)
      expect(failures(runEvents)).toEqual([])
      expect(run.code).toBe(0)
      expect(changeSet(runEvents, ['changed'])).toEqual(predicted)

      // The real thing: every spoke reaches the hub's tunnel address, and spokes reach each other through the hub.
      for (const s of firstSpokes) expect(await pingsHub(s), `${s} pings ${hub} through the tunnel`).toBe(true)
      // On systemd the unit runs the interface, and brings it back at boot.
      if (systemd) for (const h of mesh) expect(await sh(h, 'systemctl is-active wg-quick@wg0; systemctl is-enabled wg-quick@wg0; pgrep -x wireguard-go >/dev/null && echo userspace')).toBe('active\nenabled\nuserspace\n')
      expect((await hostExec(bed, firstSpokes[0]!, 'ping -c 1 -w 10 10.10.0.3 >/dev/null 2>&1')).code).toBe(0)
      expect(await sh(hub, 'cat /proc/sys/net/ipv4/ip_forward; iptables -t nat -S POSTROUTING | grep -c -- "-o eth0 -j MASQUERADE"')).toBe('1\n1\n')
      // The hub knows every spoke, with the keys the spokes derive from their own private keys.
      const hubPeers = [...(await wgShow(hub, 'latest-handshakes')).keys()].sort()
      const spokeKeys = await Promise.all(firstSpokes.map(async (s) => (await sh(s, 'wg pubkey < /etc/wireguard/wg0.key')).trim()))
      expect(hubPeers).toEqual([...spokeKeys].sort())
      for (const h of mesh) {
        expect(await sh(h, "stat -c '%a %U' /etc/wireguard/wg0.key /etc/wireguard/wg0.conf; grep -c PrivateKey /etc/wireguard/wg0.conf || true")).toBe('600 root\n600 root\n0\n')
      }

      const again = await cli('run', inv)
      const againEvents = events(again.stdout)
      expect(failures(againEvents)).toEqual([])
      expect(again.code).toBe(0)
      expect(changeSet(againEvents, ['changed', 'would-change', 'uncertain'])).toEqual([])
      const recap = againEvents.at(-1)!
      for (const h of mesh) expect(recap.hosts[h]).toMatchObject({ changed: 0, failed: 0 })
    })

    itFull('adding a spoke brings it up live: existing tunnels keep their interface, wireguard-go process and sessions', async () => {
      const old = new Map(await Promise.all(mesh.map(async (h) => [h, await tunnelState(h)] as const)))
      const sampledAt = Date.now() / 1000
      const inv5 = inventory([...firstSpokes, lateSpoke])

      const check = await cli('check', inv5, 'line')
      expect(check.code).toBe(2)
      expect(check.stdout).toContain(`PublicKey = (key generated on ${lateSpoke} during the run)`)
      const checkJson = await cli('check', inv5)
      const predicted = changeSet(events(checkJson.stdout), ['would-change', 'uncertain'])
      // Only the hub (a new peer) and the new spoke change; the other spokes are untouched.
      expect(predicted.filter((c) => !c.startsWith(`${hub} `) && !c.startsWith(`${lateSpoke} `))).toEqual([])
      expect(predicted).toContain(`${hub} file:/etc/wireguard/wg0.conf content`)
      expect(predicted).toContain(`${hub} command:wg syncconf <every running interface configured by wireguard-hub> -`)
      expect(predicted).not.toContain(`${hub} command:wg-quick up wg0 -`)

      const run = await cli('run', inv5)
      const runEvents = events(run.stdout)
      expect(failures(runEvents)).toEqual([])
      expect(run.code).toBe(0)
      expect(changeSet(runEvents, ['changed'])).toEqual(predicted)
      expect(await pingsHub(lateSpoke), `${lateSpoke} pings ${hub}`).toBe(true)

      const elapsed = Date.now() / 1000 - sampledAt
      for (const h of mesh) {
        const now = await tunnelState(h)
        const was = old.get(h)!
        expect(now.ifindex, `${h}: wg0 was not recreated`).toBe(was.ifindex)
        expect(now.pid, `${h}: wireguard-go was not restarted`).toBe(was.pid)
        for (const [peer, [rx = 0, tx = 0]] of was.transfer) {
          const [rx2 = -1, tx2 = -1] = now.transfer.get(peer) ?? []
          expect(rx2 >= rx && tx2 >= tx, `${h}: peer ${peer} kept its counters (${rx}/${tx} -> ${rx2}/${tx2})`).toBe(true)
        }
        for (const [peer, [at = 0]] of was.handshakes) {
          const [at2 = 0] = now.handshakes.get(peer) ?? []
          expect(at, `${h}: peer ${peer} had a handshake`).toBeGreaterThan(0)
          // A session rekeys on its own after 120 s; before that, an unchanged timestamp proves no new handshake.
          if (sampledAt + elapsed - at < 115) expect(at2, `${h}: handshake with ${peer} kept`).toBe(at)
          else expect(at2).toBeGreaterThanOrEqual(at)
        }
      }
      // The hub has the new spoke besides the old ones, and the old spokes still reach it.
      expect((await wgShow(hub, 'latest-handshakes')).size).toBe(4)
      for (const s of firstSpokes) expect(await pingsHub(s)).toBe(true)

      const again = await cli('run', inv5, 'line', ['--diff'])
      expect(again.code).toBe(0)
      expect(again.stdout).not.toMatch(/\| changed /)
    })

    itFull('a peer change whose live sync was interrupted is applied by the next run (the handler needs no vars)', async () => {
      const inv5 = inventory([...firstSpokes, lateSpoke])
      const lateKey = (await sh(lateSpoke, 'wg pubkey < /etc/wireguard/wg0.key')).trim()
      // As if a run wrote the hub's config and died before its handler: the peer is not live yet, the notification is pending.
      await sh(hub, `wg set wg0 peer ${lateKey} remove && mkdir -p /var/lib/havn/notify && : > /var/lib/havn/notify/wireguard-hub:sync-peers`)
      expect((await wgShow(hub, 'latest-handshakes')).has(lateKey)).toBe(false)
      const pid = (await sh(hub, 'pgrep -x wireguard-go')).trim()

      const run = await cli('run', inv5)
      const runEvents = events(run.stdout)
      expect(failures(runEvents)).toEqual([])
      expect(changeSet(runEvents, ['changed'])).toEqual([`${hub} command:wg syncconf <every running interface configured by wireguard-hub> -`])
      expect((await wgShow(hub, 'latest-handshakes')).has(lateKey)).toBe(true)
      expect((await sh(hub, 'pgrep -x wireguard-go')).trim()).toBe(pid)
      // The spoke's old session died with the removed peer; WireGuard re-handshakes after about 15 s without replies.
      expect(await pingsHub(lateSpoke, 30)).toBe(true)
      expect(await sh(hub, 'ls /var/lib/havn/notify')).toBe('')
    })

    itFull('a removed key is regenerated and reaches the running interfaces of the host and the hub', async () => {
      const inv5 = inventory([...firstSpokes, lateSpoke])
      const spoke = firstSpokes[2]!
      const oldKey = (await sh(spoke, 'wg show wg0 public-key')).trim()
      await sh(spoke, 'rm /etc/wireguard/wg0.key')
      const run = await cli('run', inv5)
      expect(failures(events(run.stdout))).toEqual([])
      expect(run.code).toBe(0)
      const newKey = (await sh(spoke, 'wg pubkey < /etc/wireguard/wg0.key')).trim()
      expect(newKey).not.toBe(oldKey)
      expect((await sh(spoke, 'wg show wg0 public-key')).trim()).toBe(newKey)
      const hubPeers = await wgShow(hub, 'latest-handshakes')
      expect(hubPeers.has(newKey) && !hubPeers.has(oldKey)).toBe(true)
      expect(await pingsHub(spoke)).toBe(true)
    })

    it('no private key appears in any output', async () => {
      expect(outputs.length).toBeGreaterThanOrEqual(full ? 10 : 4)
      for (const h of full ? hosts : mesh) {
        const key = (await sh(h, 'cat /etc/wireguard/wg0.key')).trim()
        expect(key).toMatch(/^[A-Za-z0-9+/]{43}=$/)
        for (const out of outputs) expect(out.includes(key), `private key of ${h} in CLI output`).toBe(false)
      }
    })
  })
})
