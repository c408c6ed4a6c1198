import { createHash } from 'node:crypto'
import type { Suite } from './kinds.ts'

/** Packages debootstrapped into the base image that every host starts from. */
export const BASE_PACKAGES = ['openssh-server', 'sudo', 'iproute2', 'iputils-ping', 'procps', 'ca-certificates']

/** Packages that make a systemd host; installed from the local repository into the systemd layer. */
export const SYSTEMD_PACKAGES = ['systemd', 'systemd-sysv', 'dbus']

/**
 * Packages offered (not installed) by each host's local apt repository, downloaded with their
 * dependency closure relative to the base. python3 is only for the Ansible comparison benchmark.
 */
export const REPO_PACKAGES = [
  'wireguard-tools', 'wireguard-go', 'postgresql', 'mariadb-server', 'haproxy', 'restic',
  'iptables', 'cron', 'openssl', 'ssl-cert', 'curl', 'wget', 'git', 'unzip', 'python3', ...SYSTEMD_PACKAGES,
]

/** Where each host sees the local apt repository (read-only bind mount). */
export const REPO_MOUNT = '/srv/havn-apt'

/** UID/GID of the non-root `deploy` user created in the base. */
export const DEPLOY_UID = 1000

const SSHD_CONFIG = `# havn test bed: keys only; MaxSessions and MaxStartups stay at OpenSSH defaults.
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
# No PAM: pam_loginuid and friends fail inside namespaces; sudo still uses PAM itself.
UsePAM no
`

/**
 * Shell script run in a chroot of the fresh debootstrap (with /proc and the repo mounted) to turn it
 * into the shared lower layer. Its text is part of the cache key.
 */
export const CONFIGURE_SCRIPT = `set -eu
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
# Host keys are generated per host at up; a shared key would make every host the same host.
rm -f /etc/ssh/ssh_host_*
useradd --uid ${DEPLOY_UID} --user-group --create-home --shell /bin/bash deploy
install -d -m 0700 -o root -g root /root/.ssh
install -d -m 0700 -o deploy -g deploy /home/deploy/.ssh
printf 'deploy ALL=(ALL) ALL\\n' > /etc/sudoers.d/havn-deploy
chmod 0440 /etc/sudoers.d/havn-deploy
visudo -c >/dev/null
cat > /etc/ssh/sshd_config.d/havn.conf <<'SSHD'
${SSHD_CONFIG}SSHD
# Hosts have no route to the mirror; only the local repository remains.
rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*
echo 'deb [trusted=yes] file:${REPO_MOUNT} ./' > /etc/apt/sources.list.d/havn-local.list
# Recommends would drag in a kernel, udev and exim; hosts install what roles ask for, nothing more.
printf 'APT::Install-Recommends "false";\\n' > /etc/apt/apt.conf.d/99havn-no-recommends
apt-get update -qq
apt-get clean
# Like Debian with an init system, installing a package starts its service (invoke-rc.d
# otherwise blocks when it finds no init). policy-rc.d allows everything.
printf '#!/bin/sh\\nexit 0\\n' > /usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d
# No resolver: nothing inside a host may query DNS.
: > /etc/resolv.conf
if [ -e /usr/bin/python3 ]; then echo 'testbed: /usr/bin/python3 present in base; it must not be' >&2; exit 1; fi
`

/** Script run in a throwaway chroot of the base (mirror sources intact) to download the repo closure. */
export const DOWNLOAD_SCRIPT = `set -eu
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
apt-get update -qq
apt-get install -qq --download-only --no-install-recommends -y ${REPO_PACKAGES.join(' ')}
`

/**
 * Run in a chroot of an overlay whose lower layer is the configured base (repository mounted): its
 * upper layer becomes what systemd hosts stack on the base. Part of the cache key.
 */
export const SYSTEMD_LAYER_SCRIPT = `set -eu
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
# Nothing may start inside the build chroot: with no systemd running, invoke-rc.d would run init scripts.
printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d
apt-get install -qq -y ${SYSTEMD_PACKAGES.join(' ')} >/dev/null
printf '#!/bin/sh\\nexit 0\\n' > /usr/sbin/policy-rc.d
apt-get clean
# Each host gets its own id at up; an id baked into the layer would make every host the same machine.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
# The journal lives in /run: a persistent one would keep writing into the host's overlay upper layer.
mkdir -p /etc/systemd/journald.conf.d
printf '[Journal]\\nStorage=volatile\\n' > /etc/systemd/journald.conf.d/havn-testbed.conf
# A namespace cannot remount the root, load kernel modules or flush a journal kept in /run; these units
# would only fail (on a package install's daemon-reload as much as at boot).
systemctl mask systemd-remount-fs.service systemd-modules-load.service systemd-journal-flush.service >/dev/null 2>&1
systemctl enable ssh.service >/dev/null 2>&1
[ -L /etc/systemd/system/multi-user.target.wants/ssh.service ] || { echo 'testbed: ssh.service is not enabled in the systemd layer' >&2; exit 1; }
`

/** Bumped by hand when the build logic (not captured by the texts above) changes. */
const BUILD_REVISION = 2

/** Cache key of one release's image: a short hash of every input that shapes its base, layers and repository. */
export function recipeKey(suite: Suite): string {
  const inputs = JSON.stringify({ BUILD_REVISION, suite, BASE_PACKAGES, REPO_PACKAGES, REPO_MOUNT, CONFIGURE_SCRIPT, DOWNLOAD_SCRIPT, SYSTEMD_LAYER_SCRIPT })
  return createHash('sha256').update(inputs).digest('hex').slice(0, 16)
}
