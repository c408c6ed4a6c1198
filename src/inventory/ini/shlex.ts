/**
 * Splits one INI host line into words as Ansible does (Python's `shlex.split(line, comments=True)`):
 * whitespace separates words; `'…'` is literal; in `"…"` a backslash escapes only `"` and `\`;
 * outside quotes a backslash escapes any character; `#` outside quotes ends the line, even inside
 * a word. Throws on an unclosed quote or a trailing backslash, with Python's message.
 */
export function shlexSplit(line: string): string[] {
  const words: string[] = []
  let word = ''
  let inWord = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (c === '#') break
    if (/\s/.test(c)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
      continue
    }
    inWord = true
    if (c === '\\') {
      if (i + 1 >= line.length) throw new Error('No escaped character')
      word += line[++i]
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1)
      if (end < 0) throw new Error('No closing quotation')
      word += line.slice(i + 1, end)
      i = end
    } else if (c === '"') {
      let j = i + 1
      for (;; j++) {
        if (j >= line.length) throw new Error('No closing quotation')
        const d = line[j]
        if (d === '"') break
        if (d === '\\' && (line[j + 1] === '"' || line[j + 1] === '\\')) word += line[++j]
        else word += d
      }
      i = j
    } else word += c
  }
  if (inWord) words.push(word)
  return words
}
