/** OpenSSH's pattern syntax (`*` any run, `?` one character, nothing else special) as an anchored RegExp. */
export function globToRegExp(glob: string, flags = ''): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, flags)
}
