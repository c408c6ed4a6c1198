import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node, type Pair, type ScalarTag, type YAMLMap } from 'yaml'
import { VaultedValue } from './vault/vaulted-value.ts'
import type { Located, Problems } from './problems.ts'
import type { RawVar } from './raw.ts'

/** A parsed YAML file with what is needed to turn node offsets into file:line:column. */
export interface YamlSource {
  readonly file: string
  readonly doc: Document.Parsed
  readonly lines: LineCounter
}

// Ansible Vault's inline values; the keyring decrypts them once the file is read.
const VAULT_TAG: ScalarTag = { tag: '!vault', identify: (v) => v instanceof VaultedValue, resolve: (text) => new VaultedValue(text) }

// Ansible reads YAML 1.1 (PyYAML): `yes` is true, `0644` is octal, and `<<` merge keys work.
const OPTIONS = { version: '1.1', merge: true, uniqueKeys: true, prettyErrors: false } as const

/**
 * Parses `text` as one YAML 1.1 document; `!vault` values become VaultedValue. Syntax errors,
 * duplicate keys and unknown tags become problems with their position; returns undefined when the
 * file is unusable.
 */
export function parseYamlFile(file: string, text: string, problems: Problems): YamlSource | undefined {
  const lines = new LineCounter()
  const doc = parseDocument(text, { ...OPTIONS, customTags: [VAULT_TAG], lineCounter: lines })
  const source: YamlSource = { file, doc, lines }
  for (const error of doc.errors) {
    if (error.code !== 'DUPLICATE_KEY') {
      problems.add(at(source, error.pos[0]), `YAML: ${error.message}`)
      continue
    }
    // yaml reports where the previous entry ended; point at the repeated key itself, and name it.
    const offset = error.pos[0] + (/^\s*/.exec(text.slice(error.pos[0]))?.[0].length ?? 0)
    const key = /^[^:\n]*/.exec(text.slice(offset))?.[0].trim() ?? ''
    problems.add(at(source, offset), `duplicate key ${key ? `'${key}' ` : ''}(each key may appear only once in a mapping)`)
  }
  for (const warning of doc.warnings) problems.add(at(source, warning.pos[0]), `YAML: ${warning.message}`)
  if (doc.errors.length > 0 || doc.warnings.length > 0) return undefined
  return source
}

/** The location of a byte offset in the source. */
export function at(source: YamlSource, offset: number): Located {
  const { line, col } = source.lines.linePos(offset)
  return { file: source.file, line, column: col }
}

/** The location where a node starts, or the file's first line when the node is synthetic. */
export function nodeAt(source: YamlSource, node: unknown): Located {
  const range = (node as { range?: [number, number, number] } | null)?.range
  return range ? at(source, range[0]) : { file: source.file, line: 1, column: 1 }
}

/** Follows an alias to the node it names (bounded, so alias chains cannot loop). */
export function deref(source: YamlSource, node: unknown): unknown {
  let current = node
  for (let hops = 0; isAlias(current) && hops < 100; hops++) current = current.resolve(source.doc)
  return current
}

/** Text of a mapping key as the user wrote it (so `0644:` stays "0644", not 420), or undefined. */
export function keyText(key: unknown): string | undefined {
  if (!isScalar(key)) return undefined
  if (typeof key.value === 'string') return key.value
  return typeof key.source === 'string' ? key.source : String(key.value)
}

/** True for a `<<` merge key. */
export function isMergeKey(key: unknown): boolean {
  return isScalar(key) && (typeof key.value === 'symbol' || (key.source === '<<' && key.type === 'PLAIN'))
}

/** Short human name for a node's kind, for "must be a mapping, not a list" messages. */
export function kindOf(node: unknown): string {
  if (isMap(node)) return 'a mapping'
  if (isSeq(node)) return 'a list'
  if (isScalar(node)) {
    const v = node.value
    if (v === null) return 'empty'
    return typeof v === 'string' ? `the string '${v}'` : `${typeof v} ${String(v)}`
  }
  return 'something else'
}

/**
 * The top-level vars of a mapping, with `<<` merges applied (explicit keys win, as in YAML) and each
 * var located where its key was written. Values become plain JS; nested keys stay as written.
 */
export function mappingVars(source: YamlSource, map: YAMLMap, problems: Problems, host?: string): RawVar[] {
  const explicit = new Map<string, RawVar>()
  const merged = new Map<string, RawVar>()
  const addPair = (pair: Pair, into: Map<string, RawVar>): void => {
    const key = keyText(pair.key)
    if (key === undefined) {
      problems.add(nodeAt(source, pair.key), 'var names must be plain strings', host)
      return
    }
    if (into.has(key)) return
    into.set(key, { key, value: toJS(source, pair.value, problems, host), at: nodeAt(source, pair.key) })
  }
  for (const pair of map.items) {
    if (!isMergeKey(pair.key)) {
      addPair(pair, explicit)
      continue
    }
    const target = deref(source, pair.value)
    const sources = isSeq(target) ? target.items.map((item) => deref(source, item)) : [target]
    for (const merge of sources) {
      if (isMap(merge)) for (const inner of merge.items) addPair(inner, merged)
      else problems.add(nodeAt(source, pair.value), `'<<' must merge a mapping, not ${kindOf(merge)}`, host)
    }
  }
  for (const [key, v] of merged) if (!explicit.has(key)) explicit.set(key, v)
  return [...explicit.values()]
}

function toJS(source: YamlSource, node: unknown, problems: Problems, host?: string): unknown {
  if (node === null || node === undefined) return null
  try {
    return (node as Node).toJS(source.doc)
  } catch (error) {
    problems.add(nodeAt(source, node), `YAML: ${(error as Error).message}`, host)
    return null
  }
}
