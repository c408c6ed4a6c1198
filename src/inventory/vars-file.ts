import { isMap, isScalar } from 'yaml'
import type { Problems } from './problems.ts'
import type { RawVars } from './raw.ts'
import { kindOf, mappingVars, parseYamlFile } from './yaml-file.ts'

/**
 * Parses one group_vars/host_vars file: a mapping of var names to values, or empty. Problems are
 * recorded with their position (and `host`, for a host's file); the vars found are returned anyway.
 */
export function parseVarsFile(file: string, text: string, problems: Problems, host: string | undefined): RawVars {
  const source = parseYamlFile(file, text, problems)
  if (!source) return []
  const root = source.doc.contents
  if (root === null || (isScalar(root) && root.value === null)) return []
  if (isMap(root)) return mappingVars(source, root, problems, host)
  problems.add({ file, line: 1, column: 1 }, `a vars file must be a mapping of var names to values, not ${kindOf(root)}`, host)
  return []
}
