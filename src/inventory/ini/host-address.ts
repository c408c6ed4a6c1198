// Ansible's patterns (ansible.parsing.utils.addresses), with ranges allowed where it allows them.
const NUMERIC_RANGE = String.raw`\[[0-9]+:[0-9]+(?::[0-9]+)?\]`
const HEX_RANGE = String.raw`\[[0-9a-f]+:[0-9a-f]+(?::[0-9]+)?\]`
const ALNUM_RANGE = String.raw`\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]`
const V6 = `(?:[0-9a-f]{1,4}|${HEX_RANGE})`
const V4 = `(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|${NUMERIC_RANGE})`
const V4_ADDRESS = `(?:${V6}\\.){3}${V6}`
const WORD = String.raw`[\p{L}\p{N}\p{M}_]`
const LABEL = `(?:${WORD}|${ALNUM_RANGE})(?:${WORD}|-|${ALNUM_RANGE})*(?<![_-])`

const BRACKETED_HOSTPORT = /^\[(.+)\]:([0-9]+)$/
const HOSTPORT = /^((?:[^:[\]]|\[[^\]]*\])*):([0-9]+)$/
const IPV4 = new RegExp(`^(?:${V4}\\.){3}${V4}$`, 'i')
const IPV6 = new RegExp(`^(?:${[
  `(?:${V6}:){7}${V6}`,
  `(?:${V6}:){1,6}:`,
  `(?:${V6}:)(?::${V6}){1,6}`,
  `(?:${V6}:){2}(?::${V6}){1,5}`,
  `(?:${V6}:){3}(?::${V6}){1,4}`,
  `(?:${V6}:){4}(?::${V6}){1,3}`,
  `(?:${V6}:){5}(?::${V6}){1,2}`,
  `(?:${V6}:){6}(?::${V6})`,
  `:(?::${V6}){1,6}`,
  `${V6}?::`,
  `(?:0:){6}${V4_ADDRESS}`,
  `::(?:ffff:)?${V4_ADDRESS}`,
  `(?:0:){5}ffff:${V4_ADDRESS}`,
].join('|')})$`, 'i')
const HOSTNAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`, 'iu')

/**
 * Splits an INI host word into host and port as Ansible's `parse_address(allow_ranges=True)` does:
 * `name:22`, `10.0.0.1:22`, `[::1]:22` or `[web[1:3]]:22` give a port; what remains must be an
 * IPv4 or IPv6 address or a host name (any of them with ranges), or else the whole word is the host
 * and there is no port, which is Ansible's fallback too.
 */
export function parseHostAddress(word: string): { host: string; port?: number } {
  let address = word
  let port: number | undefined
  for (const pattern of [BRACKETED_HOSTPORT, HOSTPORT]) {
    const m = pattern.exec(address)
    if (m) {
      address = m[1] ?? ''
      port = Number(m[2])
    }
  }
  if (IPV4.test(address) || IPV6.test(address) || HOSTNAME.test(address)) return port === undefined ? { host: address } : { host: address, port }
  return { host: word }
}
