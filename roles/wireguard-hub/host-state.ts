import { defineFact, shQuote } from 'havn'
import { MANAGED_MARK } from './render.ts'

const WG_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/

/**
 * The public key derived on the host from its private key file (`wg pubkey`); null while the file
 * or the `wg` tool is missing. Only the public half is ever printed.
 */
export const wireguardPublicKey = defineFact({
  name: 'wireguard-hub.publicKey',
  command: (keyFile: string) => `f=${shQuote(keyFile)}\nif [ -s "$f" ] && command -v wg >/dev/null 2>&1; then wg pubkey < "$f" 2>/dev/null; fi\ntrue`,
  parse: (res): string | null => {
    const key = res.stdout.trim()
    return WG_KEY.test(key) ? key : null
  },
})

/** Whether the kernel offers WireGuard: the module is loaded or built in, or modprobe could load it. */
export const kernelHasWireguard = defineFact({
  name: 'wireguard-hub.kernelModule',
  command: () =>
    'if [ -d /sys/module/wireguard ] || { command -v modprobe >/dev/null 2>&1 && modprobe -n -q wireguard 2>/dev/null; }; then echo yes; else echo no; fi',
  parse: (res): boolean => res.stdout.trim() === 'yes',
})

/** Whether a network interface of that name exists. */
export const interfaceExists = defineFact({
  name: 'wireguard-hub.interfaceExists',
  command: (iface: string) => linkExists(iface),
  parse: (res): boolean => res.code === 0,
})

/** Shell that succeeds when the interface exists (read-only; the guard of the bring-up). */
export function linkExists(iface: string): string {
  return `ip link show dev ${shQuote(iface)} >/dev/null 2>&1`
}

/** Generates the private key with mode 0600 from the start; the key goes to the file only, never to output. */
export function keygenScript(keyFile: string): string {
  const f = shQuote(keyFile)
  return `umask 077\nmkdir -p /etc/wireguard || exit 1\nwg genkey > ${f}.havn-new && mv -f ${f}.havn-new ${f}`
}

/** Read-only guard: the key file is absent (keygen will make it right) or root's with mode 0600. */
export function keyModeIsRight(keyFile: string): string {
  const f = shQuote(keyFile)
  return `test ! -e ${f} || test "$(stat -c %a:%u ${f})" = 600:0`
}

/** Restores the key file's owner and mode after drift. */
export function fixKeyModeScript(keyFile: string): string {
  const f = shQuote(keyFile)
  return `chown 0:0 ${f} && chmod 600 ${f}`
}

/**
 * Brings an interface up with wg-quick; where the kernel has no module wg-quick itself falls back
 * to wireguard-go. Output goes through a file: a daemon holding our pipes would hang the channel.
 */
export function upScript(iface: string): string {
  return [
    't=$(mktemp) || exit 1',
    `WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go wg-quick up ${shQuote(iface)} >"$t" 2>&1 </dev/null`,
    'rc=$?',
    'cat "$t"; rm -f "$t"',
    'exit $rc',
  ].join('\n')
}

/**
 * Applies peer changes to every running interface whose config this role wrote, without tearing
 * it down: `wg syncconf` with the stripped config plus the key (so the key is not cleared, which
 * would drop every session), then adds routes for new allowed IPs as wg-quick does on up. The
 * key is only copied into a 0600 temp file on the host; wg's error lines, which quote offending
 * config text, are masked before they are printed.
 */
export const SYNC_PEERS_SCRIPT = [
  'umask 077',
  'rc=0',
  'for c in /etc/wireguard/*.conf; do',
  '  [ -f "$c" ] || continue',
  `  head -n 1 "$c" | grep -qxF ${shQuote(MANAGED_MARK)} || continue`,
  '  i=$(basename "$c" .conf)',
  '  ip link show dev "$i" >/dev/null 2>&1 || continue',
  '  t=$(mktemp) && e=$(mktemp) || exit 1',
  `  if { wg-quick strip "$i" && printf '\\n[Interface]\\nPrivateKey = ' && cat "/etc/wireguard/$i.key"; } >"$t" 2>"$e" && wg syncconf "$i" "$t" 2>"$e"; then`,
  '    echo "$i: peers synced live"',
  '  else',
  `    echo "$i: applying the config live failed:" >&2; sed 's/\`.*/(config text masked)/' "$e" >&2; rc=1`,
  '  fi',
  '  rm -f "$t" "$e"',
  '  for a in $(wg show "$i" allowed-ips | cut -f2-); do',
  "    case $a in */0|'(none)') continue ;; esac",
  '    case $a in *:*) f=-6 ;; *) f=-4 ;; esac',
  '    [ -n "$(ip $f route show dev "$i" match "$a" 2>/dev/null)" ] || ip $f route add "$a" dev "$i" || rc=1',
  '  done',
  'done',
  'exit $rc',
].join('\n')
