import { describe, expect, it } from 'vitest'
import { osInfo, parseOsInfo, parseOsRelease } from '../../src/facts/os.ts'
import { assertPackageNames, packagesCommand, packagesState, parsePackagesState } from '../../src/facts/packages.ts'
import { localRemote } from '../support/local-remote.ts'

// Captured on 2026-11-23 from the havn test bed (Debian 12 hosts, local apt repo at /srv/havn-apt)
// by running packagesCommand()/osInfo.command() there: before and after `apt-get install haproxy cron`,
// and after `apt-get remove cron` (which leaves config files).
const os =
  "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\nHOME_URL=\"https://www.debian.org/\"\nSUPPORT_URL=\"https://www.debian.org/support\"\nBUG_REPORT_URL=\"https://bugs.debian.org/\"\n--havn-os--\ninit=sysv\npm=apt\nMemTotal:       24684092 kB\n"
const pkgLatestInstalled =
  "pm=apt\n#pkg haproxy\ninstall ok installed\t2.6.12-1+deb12u3\n#pkg cron\ninstall ok installed\t3.0pl1-162\n#policy haproxy cron\nhaproxy:\n  Installed: 2.6.12-1+deb12u3\n  Candidate: 2.6.12-1+deb12u3\n  Version table:\n *** 2.6.12-1+deb12u3 500\n        500 file:/srv/havn-apt ./ Packages\n        100 /var/lib/dpkg/status\ncron:\n  Installed: 3.0pl1-162\n  Candidate: 3.0pl1-162\n  Version table:\n *** 3.0pl1-162 500\n        500 file:/srv/havn-apt ./ Packages\n        100 /var/lib/dpkg/status\n"
const pkgLatest =
  "pm=apt\n#pkg dash\ninstall ok installed\t0.5.12-2\n#pkg haproxy\n#policy dash haproxy\ndash:\n  Installed: 0.5.12-2\n  Candidate: 0.5.12-2\n  Version table:\n *** 0.5.12-2 100\n        100 /var/lib/dpkg/status\nhaproxy:\n  Installed: (none)\n  Candidate: 2.6.12-1+deb12u3\n  Version table:\n     2.6.12-1+deb12u3 500\n        500 file:/srv/havn-apt ./ Packages\n"
const pkgPresentInstalled =
  "pm=apt\n#pkg haproxy\ninstall ok installed\t2.6.12-1+deb12u3\n#pkg cron\ninstall ok installed\t3.0pl1-162\n#pkg dash\ninstall ok installed\t0.5.12-2\n"
const pkgPresentMixed =
  "pm=apt\n#pkg dash\ninstall ok installed\t0.5.12-2\n#pkg haproxy\n#pkg nosuchpkg\n#pkg cron\nunknown ok not-installed\t\n#policy haproxy nosuchpkg cron\nhaproxy:\n  Installed: (none)\n  Candidate: 2.6.12-1+deb12u3\n  Version table:\n     2.6.12-1+deb12u3 500\n        500 file:/srv/havn-apt ./ Packages\ncron:\n  Installed: (none)\n  Candidate: 3.0pl1-162\n  Version table:\n     3.0pl1-162 500\n        500 file:/srv/havn-apt ./ Packages\n"
const pkgRemovedConfig =
  "pm=apt\n#pkg cron\ndeinstall ok config-files\t3.0pl1-162\n#pkg haproxy\ninstall ok installed\t2.6.12-1+deb12u3\n#policy cron\ncron:\n  Installed: (none)\n  Candidate: 3.0pl1-162\n  Version table:\n     3.0pl1-162 500\n        500 file:/srv/havn-apt ./ Packages\n        100 /var/lib/dpkg/status\n"

// Representative dnf output (not captured: the bed has no Fedora host), in the shape rpm --qf and
// `dnf repoquery --qf '%{name} %{evr}\n'` print.
const dnfMixed = 'pm=dnf\n#pkg haproxy\nrpm 2.8.5-1.fc40\n#pkg nginx\n#repoquery haproxy nginx\nhaproxy 2.8.10-1.fc40\nnginx 1:1.26.2-1.fc40\n'

describe('packages.state parser (recorded apt output)', () => {
  it('tells installed from missing, and reads candidates only for the packages it asked apt-cache about', () => {
    expect(parsePackagesState(pkgPresentMixed, ['dash', 'haproxy', 'nosuchpkg', 'cron'])).toEqual({
      manager: 'apt',
      packages: {
        dash: { installed: '0.5.12-2', queried: false },
        haproxy: { candidate: '2.6.12-1+deb12u3', queried: true },
        nosuchpkg: { queried: true },
        cron: { candidate: '3.0pl1-162', queried: true },
      },
    })
  })

  it('reads candidates of installed packages in latest mode', () => {
    expect(parsePackagesState(pkgLatest, ['dash', 'haproxy']).packages).toEqual({
      dash: { installed: '0.5.12-2', candidate: '0.5.12-2', queried: true },
      haproxy: { candidate: '2.6.12-1+deb12u3', queried: true },
    })
    expect(parsePackagesState(pkgLatestInstalled, ['haproxy', 'cron']).packages.haproxy).toEqual({ installed: '2.6.12-1+deb12u3', candidate: '2.6.12-1+deb12u3', queried: true })
    expect(parsePackagesState(pkgPresentInstalled, ['haproxy', 'cron', 'dash']).packages.cron).toEqual({ installed: '3.0pl1-162', queried: false })
  })

  it('counts a removed package whose config files remain as not installed', () => {
    expect(parsePackagesState(pkgRemovedConfig, ['cron', 'haproxy']).packages).toEqual({
      cron: { candidate: '3.0pl1-162', queried: true },
      haproxy: { installed: '2.6.12-1+deb12u3', queried: false },
    })
  })

  it('parses the dnf path (representative output)', () => {
    expect(parsePackagesState(dnfMixed, ['haproxy', 'nginx'])).toEqual({
      manager: 'dnf',
      packages: { haproxy: { installed: '2.8.5-1.fc40', candidate: '2.8.10-1.fc40', queried: true }, nginx: { candidate: '1:1.26.2-1.fc40', queried: true } },
    })
  })

  it('reports no manager when neither apt-get nor dnf exists', () => {
    expect(parsePackagesState('pm=none\n', ['x'])).toEqual({ manager: 'none', packages: { x: { queried: false } } })
  })

  it('rejects names that are not plain package names before they reach a shell', () => {
    for (const bad of ['a b', '-y', 'x*', "x';reboot;'", 'haproxy=2.6', '']) expect(() => assertPackageNames([bad])).toThrow(/invalid package name/)
    expect(() => assertPackageNames(['libc6:amd64', 'g++', 'python3.11', 'NetworkManager'])).not.toThrow()
    expect(() => packagesCommand(['a;b'], false)).toThrow(/invalid package name/)
  })

  it('runs for real against this machine’s dpkg (Debian 12) without changing anything', async () => {
    const remote = localRemote()
    const names = ['dash', 'havn-no-such-package-xyz']
    const res = await remote.exec(packagesState.command(names, false))
    expect(res.code).toBe(0)
    const state = packagesState.parse(res, names, false)
    expect(state.manager).toBe('apt')
    expect(state.packages.dash?.installed).toMatch(/^\d/)
    expect(state.packages.dash?.queried).toBe(false)
    expect(state.packages['havn-no-such-package-xyz']).toEqual({ queried: true })
    const latest = packagesState.parse(await remote.exec(packagesState.command(['dash'], true)), ['dash'], true)
    expect(latest.packages.dash?.candidate).toBe(state.packages.dash?.installed)
  })
})

describe('os.info', () => {
  it('parses the recorded output of a bed host', () => {
    expect(parseOsInfo(os)).toEqual({ id: 'debian', idLike: [], versionId: '12', initSystem: 'sysv', packageManager: 'apt', memTotalBytes: 24684092 * 1024 })
  })

  it('parses os-release quoting and ID_LIKE lists (representative RHEL 9 lines)', () => {
    const rel = parseOsRelease('NAME="Red Hat Enterprise Linux"\nID="rhel"\nID_LIKE="fedora"\nVERSION_ID="9.4"\nX=\'a b\'\nY="say \\"hi\\""\n# c\n')
    expect([rel.get('ID'), rel.get('ID_LIKE'), rel.get('VERSION_ID'), rel.get('X'), rel.get('Y')]).toEqual(['rhel', 'fedora', '9.4', 'a b', 'say "hi"'])
    const info = parseOsInfo('ID=rocky\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\n--havn-os--\ninit=systemd\npm=dnf\nMemTotal:        2014360 kB\n')
    expect(info).toEqual({ id: 'rocky', idLike: ['rhel', 'centos', 'fedora'], versionId: '9.3', initSystem: 'systemd', packageManager: 'dnf', memTotalBytes: 2014360 * 1024 })
  })

  it('runs for real on this machine', async () => {
    const res = await localRemote().exec(osInfo.command())
    const info = osInfo.parse(res)
    expect(info.id).toBe('debian')
    expect(info.packageManager).toBe('apt')
    expect(info.memTotalBytes).toBeGreaterThan(64 * 1024 * 1024)
  })
})
