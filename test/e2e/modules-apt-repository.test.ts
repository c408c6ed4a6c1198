import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { events, havn } from './cli.ts'
import { ROLE_HOSTS } from './hosts.ts'
import { bedHosts, changeSet, failures, hostSh, hostsYaml, hostWrites, writeInventory } from './support.ts'

const bed = inject('testbed')
const ssh = ['--ssh-config', bed.sshConfig, '--identity', bed.identityFile, '--known-hosts', bed.knownHosts]

const work = mkdtempSync(join(tmpdir(), 'havn-aptrepo-'))
const gnupgHomes: string[] = []

/** A throwaway signing key in its own GNUPGHOME; returns the home and the armored public key's file. */
function signingKey(name: string): { home: string; armored: string } {
  const home = join(work, `gnupg-${name}`)
  mkdirSync(home, { mode: 0o700 })
  gnupgHomes.push(home)
  const gpg = (...args: string[]) => execFileSync('gpg', ['--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { env: { ...process.env, GNUPGHOME: home } })
  gpg('--quick-gen-key', `havn e2e ${name} <${name}@havn.invalid>`, 'ed25519', 'sign', 'never')
  const armored = join(work, `${name}.asc`)
  writeFileSync(armored, gpg('--armor', '--export'))
  return { home, armored }
}

/** A signed apt repository (suite havn, component main) holding one tiny package, havn-e2e-hello 1.0; returns its folder. */
function signedRepository(home: string): string {
  const pkg = join(work, 'pkg')
  mkdirSync(join(pkg, 'DEBIAN'), { recursive: true })
  mkdirSync(join(pkg, 'usr/share/havn-e2e-hello'), { recursive: true })
  writeFileSync(join(pkg, 'DEBIAN/control'), 'Package: havn-e2e-hello\nVersion: 1.0\nArchitecture: all\nMaintainer: havn e2e <e2e@havn.invalid>\nDescription: tiny package of the aptRepository e2e test\n')
  writeFileSync(join(pkg, 'usr/share/havn-e2e-hello/hello'), 'hello\n')
  const repo = join(work, 'repo')
  const binary = join(repo, 'dists/havn/main/binary-amd64')
  mkdirSync(join(repo, 'pool'), { recursive: true })
  mkdirSync(binary, { recursive: true })
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zgzip', '-b', pkg, join(repo, 'pool/havn-e2e-hello_1.0_all.deb')], { stdio: 'ignore' })
  const packages = execFileSync('dpkg-scanpackages', ['--multiversion', 'pool', '/dev/null'], { cwd: repo, stdio: ['ignore', 'pipe', 'ignore'] })
  writeFileSync(join(binary, 'Packages'), packages)
  const sum = execFileSync('sha256sum', [join(binary, 'Packages')], { encoding: 'utf8' }).split(' ')[0]
  const release = [
    'Origin: havn-e2e', 'Label: havn-e2e', 'Suite: havn', 'Codename: havn', `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    'Architectures: amd64', 'Components: main', 'SHA256:', ` ${sum} ${packages.length} main/binary-amd64/Packages`, '',
  ].join('\n')
  writeFileSync(join(repo, 'dists/havn/Release'), release)
  execFileSync('gpg', ['--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', '--clearsign', '-o', join(repo, 'dists/havn/InRelease'), join(repo, 'dists/havn/Release')], { env: { ...process.env, GNUPGHOME: home } })
  // apt reads file: repositories as its unprivileged _apt user.
  execFileSync('chmod', ['-R', 'a+rX', repo])
  chmodSync(repo, 0o755)
  return repo
}

const good = signingKey('good')
const wrong = signingKey('wrong')
const repo = signedRepository(good.home)

afterAll(() => {
  // The agents gpg started for the throwaway homes.
  for (const home of gnupgHomes) execFileSync('gpgconf', ['--kill', 'all'], { env: { ...process.env, GNUPGHOME: home } })
  rmSync(work, { recursive: true, force: true })
})

describe.each(bedHosts(bed, ROLE_HOSTS.aptRepository).map((h) => ({ host: h.name, kind: h.kind })))('aptRepository on $kind ($host)', ({ host, kind }) => {
  it('adds a signed repository and installs from it: check equals run, a second run fetches nothing, a wrong key fails naming the repository and puts the old key back', async () => {
    // One host is given the key as text, the other as a controller file.
    const keyAsText = kind.startsWith('trixie')
    const inv = writeInventory({ 'hosts.yaml': hostsYaml(bedHosts(bed, [host]), () => (keyAsText ? 'keyAsText: true' : '')) })
    const common = ['test/e2e/playbooks/apt-repository.ts', '-i', inv, ...ssh, '--output', 'json']
    const env = { HAVN_E2E_REPO: repo, HAVN_E2E_KEY: good.armored }
    const sh = (script: string) => hostSh(bed, host, script)

    const before = hostWrites(bed, host)
    const check = await havn(['check', ...common], { env })
    const checkEvents = events(check.stdout)
    expect(failures(checkEvents), check.stderr).toEqual([])
    expect(check.code).toBe(2)
    expect(hostWrites(bed, host)).toEqual(before)
    // The package is not in apt's index yet: the check says the repository added before it may bring it.
    const install = checkEvents.find((e) => e.type === 'step:end' && String(e.step).startsWith('packages'))
    expect(install?.status).toBe('uncertain')
    expect(install?.reason).toMatch(/havn-e2e-hello not in apt's index yet; repository havn-e2e, added earlier in this run, may provide them/)

    const run = await havn(['run', ...common], { env })
    const runEvents = events(run.stdout)
    expect(failures(runEvents), run.stderr + run.stdout).toEqual([])
    expect(run.code).toBe(0)
    expect(changeSet(runEvents, ['changed'])).toEqual(changeSet(checkEvents, ['would-change', 'uncertain']))
    expect(changeSet(runEvents, ['changed']).filter((c) => !c.includes('/srv/havn-e2e-repo'))).toEqual([
      `${host} file:/etc/apt/keyrings/havn-e2e.asc content`, `${host} file:/etc/apt/keyrings/havn-e2e.asc group`, `${host} file:/etc/apt/keyrings/havn-e2e.asc mode`, `${host} file:/etc/apt/keyrings/havn-e2e.asc owner`,
      `${host} file:/etc/apt/sources.list.d/havn-e2e.sources content`, `${host} file:/etc/apt/sources.list.d/havn-e2e.sources group`, `${host} file:/etc/apt/sources.list.d/havn-e2e.sources mode`, `${host} file:/etc/apt/sources.list.d/havn-e2e.sources owner`,
      `${host} package:havn-e2e-hello version`,
    ])
    const lists = 'stat -c %Y /var/lib/apt/lists/_srv_havn-e2e-repo_dists_havn_InRelease'
    const fetched = await sh(lists)

    const again = await havn(['run', ...common], { env })
    expect(again.code, again.stderr).toBe(0)
    expect(changeSet(events(again.stdout), ['changed'])).toEqual([])
    // No command of the repository step ran, so no apt-get update.
    expect(events(again.stdout).find((e) => e.type === 'step:end' && String(e.step).startsWith('apt repository'))?.status).toBe('ok')
    expect(await sh(lists)).toBe(fetched)

    expect(await sh("dpkg-query -W -f='${Status} ${Version}\\n' havn-e2e-hello; cat /usr/share/havn-e2e-hello/hello")).toBe('install ok installed 1.0\nhello\n')
    expect(await sh('cat /etc/apt/sources.list.d/havn-e2e.sources /etc/apt/keyrings/havn-e2e.asc')).toBe(
      '# Managed by havn: apt repository havn-e2e\nTypes: deb\nURIs: file:/srv/havn-e2e-repo\nSuites: havn\nComponents: main\nArchitectures: amd64\nSigned-By: /etc/apt/keyrings/havn-e2e.asc\n' +
        readFileSync(good.armored, 'utf8'),
    )

    const bad = await havn(['run', ...common], { env: { ...env, HAVN_E2E_KEY: wrong.armored } })
    expect(bad.code).not.toBe(0)
    const failed = failures(events(bad.stdout))
    expect(failed.map((e) => e.step)).toEqual(['apt repository havn-e2e'])
    const error = failed[0]!.error as { message: string; stderrTail?: string }
    expect(`${error.message}\n${error.stderrTail ?? ''}`).toMatch(/fetching the index of repository havn-e2e \(\/etc\/apt\/sources.list.d\/havn-e2e.sources\) failed; its previous files were put back/)
    expect(`${error.message}\n${error.stderrTail ?? ''}`).toMatch(kind.startsWith('trixie') ? /sqv|Missing key/ : /NO_PUBKEY/)
    expect(await sh('cat /etc/apt/keyrings/havn-e2e.asc')).toBe(readFileSync(good.armored, 'utf8'))
    const healed = await havn(['run', ...common], { env })
    expect(healed.code, healed.stderr).toBe(0)
    expect(changeSet(events(healed.stdout), ['changed'])).toEqual([])
  })
})
