import { createHash, randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { describe, expect, inject, it } from 'vitest'
import { GATEWAY_SUFFIX, SUBNET } from '../testbed/layout.ts'
import { events, havn } from './cli.ts'
import { ROLE_HOSTS } from './hosts.ts'
import { bedHosts, changeSet, failures, hostSh, hostsYaml, hostWrites, writeInventory } from './support.ts'

const bed = inject('testbed')
const ssh = ['--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts]

describe('download over the bed', () => {
  it('fetches on the host with curl and through the controller without it: check equals run, a second run fetches nothing, a wrong sum leaves nothing behind', async () => {
    const [withCurl, bare] = ROLE_HOSTS.download
    const body = randomBytes(1 << 20)
    const sum = createHash('sha256').update(body).digest('hex')
    const requests: string[] = []
    const server = createServer((req, res) => {
      requests.push(req.url ?? '')
      res.end(body)
    })
    // The controller's address on the bed's bridge: the hosts' gateway.
    const gateway = `${SUBNET}.${GATEWAY_SUFFIX}`
    await new Promise<void>((resolve) => server.listen(0, gateway, resolve))
    try {
      const addr = server.address()
      if (addr === null || typeof addr === 'string') throw new Error('server has no port')
      const url = `http://${gateway}:${addr.port}/tool.bin`
      const inv = writeInventory({ 'hosts.yaml': hostsYaml(bedHosts(bed, [withCurl!, bare!]), (h) => (h === withCurl ? 'installCurl: true' : '')) })
      const common = ['test/e2e/playbooks/download.ts', '-i', inv, ...ssh, '--output', 'json']
      const env = { HAVN_E2E_URL: url, HAVN_E2E_SHA256: sum, HAVN_E2E_DEST: '/opt/havn-download/tool.bin' }

      const before = [withCurl!, bare!].map((h) => hostWrites(bed, h))
      const check = await havn(['check', ...common], { env })
      expect(failures(events(check.stdout)), check.stderr).toEqual([])
      expect(check.code).toBe(2)
      expect([withCurl!, bare!].map((h) => hostWrites(bed, h))).toEqual(before)
      // The controller fetched for the host without curl (to know the file); the curl host fetches only when run.
      expect(requests.length).toBe(1)

      const run = await havn(['run', ...common], { env })
      expect(failures(events(run.stdout)), run.stderr).toEqual([])
      expect(run.code).toBe(0)
      const changed = changeSet(events(run.stdout), ['changed'])
      expect(changed).toEqual(changeSet(events(check.stdout), ['would-change', 'uncertain']))
      expect(changed.filter((c) => c.includes('tool.bin'))).toEqual([
        `${withCurl} file:/opt/havn-download/tool.bin content`,
        `${withCurl} file:/opt/havn-download/tool.bin mode`,
        `${bare} file:/opt/havn-download/tool.bin content`,
        `${bare} file:/opt/havn-download/tool.bin mode`,
      ])
      const displays = events(run.stdout).filter((e) => e.type === 'step:end' && String(e.step).startsWith('download'))
      expect(displays.map((e) => e.status)).toEqual(['changed', 'changed'])
      expect(requests.length).toBe(3)
      for (const h of [withCurl!, bare!]) {
        expect(await hostSh(bed, h, 'sha256sum /opt/havn-download/tool.bin | cut -d" " -f1; stat -c "%a %s" /opt/havn-download/tool.bin; ls -A /opt/havn-download')).toBe(`${sum}\n750 ${body.length}\ntool.bin\n`)
      }
      expect(await hostSh(bed, bare!, 'command -v curl wget || echo none')).toBe('none\n')

      const again = await havn(['run', ...common], { env })
      expect(again.code).toBe(0)
      expect(changeSet(events(again.stdout), ['changed'])).toEqual([])
      expect(requests.length).toBe(3)

      const wrong = createHash('sha256').update('not the file').digest('hex')
      const failed = await havn(['run', ...common], { env: { ...env, HAVN_E2E_SHA256: wrong, HAVN_E2E_DEST: '/opt/havn-download/other.bin' } })
      expect(failed.code).toBe(1)
      const errors = failures(events(failed.stdout)).map((e) => `${e.host} ${String(e.error?.message)}\n${String(e.error?.stderrTail ?? '')}`)
      expect(errors).toHaveLength(2)
      for (const h of [withCurl!, bare!]) {
        const message = errors.find((m) => m.startsWith(`${h} `))
        expect(message).toContain(`sha256 mismatch for ${url}`)
        expect(message).toContain(`expected ${wrong}, got ${sum}`)
        expect(message).toContain(h)
        expect(await hostSh(bed, h, 'ls -A /opt/havn-download')).toBe('tool.bin\n')
      }
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
