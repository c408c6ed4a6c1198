import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { parseShard, shardHosts } from '../../src/cli/shard.ts'

const hosts = Array.from({ length: 103 }, (_, i) => `host${i + 1}`)

describe('--shard K/N', () => {
  it('parses K/N and refuses anything else', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 })
    for (const bad of ['0/4', '5/4', '1/0', '1', 'a/b', '-1/4', '1/4/2']) expect(parseShard(bad), bad).toBeUndefined()
  })

  it('splits hosts into disjoint parts that cover them all and differ in size by at most one', () => {
    const parts = [1, 2, 3, 4].map((index) => shardHosts(hosts, { index, count: 4 }))
    const all = parts.flatMap((p) => [...p])
    expect(all.sort()).toEqual([...hosts].sort())
    expect(new Set(all).size).toBe(hosts.length)
    const sizes = parts.map((p) => p.size)
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1)
  })

  it('depends only on the names: the same parts for any order of the inventory', () => {
    const shuffled = [...hosts].reverse().sort((a, b) => (a.length - b.length) || (a < b ? 1 : -1))
    for (const index of [1, 2, 3]) expect([...shardHosts(shuffled, { index, count: 3 })].sort()).toEqual([...shardHosts(hosts, { index, count: 3 })].sort())
    // A fixed answer, so two machines (or two havn versions) cannot silently disagree.
    expect([...shardHosts(['a', 'b', 'c', 'd'], { index: 1, count: 2 })].sort()).toEqual(['b', 'd'])
  })
})

describe('the CI examples run the shards and merge them', () => {
  const example = (name: string): unknown => parse(readFileSync(new URL(`../../playbooks/shards/${name}`, import.meta.url), 'utf8'))

  it('GitHub Actions: a matrix of 4 shards, each running its own part, then havn recap over all four', () => {
    const wf = example('github-actions.yml') as { jobs: { shard: { strategy: { matrix: { shard: number[] } }; steps: { run?: string }[] }; recap: { needs: string; steps: { run?: string }[] } } }
    expect(wf.jobs.shard.strategy.matrix.shard).toEqual([1, 2, 3, 4])
    expect(wf.jobs.shard.steps.map((s) => s.run).join('\n')).toContain('--shard ${{ matrix.shard }}/4 --output json > shard-${{ matrix.shard }}.ndjson')
    expect(wf.jobs.recap.needs).toBe('shard')
    expect(wf.jobs.recap.steps.map((s) => s.run).join('\n')).toContain('havn recap shard-1.ndjson shard-2.ndjson shard-3.ndjson shard-4.ndjson')
  })

  it('GitLab: parallel:matrix over SHARD 1..4, then havn recap', () => {
    const ci = example('gitlab-ci.yml') as { site: { parallel: { matrix: { SHARD: string[] }[] }; script: string[] }; recap: { script: string[] } }
    expect(ci.site.parallel.matrix[0]!.SHARD).toEqual(['1', '2', '3', '4'])
    expect(ci.site.script.join('\n')).toContain('--shard "$SHARD/4" --output json > "shard-$SHARD.ndjson"')
    expect(ci.recap.script.join('\n')).toContain('havn recap shard-1.ndjson shard-2.ndjson shard-3.ndjson shard-4.ndjson')
  })

  it('Kubernetes: an Indexed Job of 4 whose pods map JOB_COMPLETION_INDEX 0..3 to shards 1..4', () => {
    const job = example('k8s-indexed-job.yaml') as { kind: string; spec: { completionMode: string; completions: number; template: { spec: { containers: { args: string[] }[] } } } }
    expect(job).toMatchObject({ kind: 'Job', spec: { completionMode: 'Indexed', completions: 4 } })
    const args = job.spec.template.spec.containers[0]!.args.join(' ')
    expect(args).toContain('--shard "$((JOB_COMPLETION_INDEX + 1))/4"')
    // The index mapping, as the pod's shell evaluates it.
    for (const index of [0, 1, 2, 3]) {
      const out = execFileSync('/bin/sh', ['-c', 'printf %s "$((JOB_COMPLETION_INDEX + 1))/4"'], { env: { JOB_COMPLETION_INDEX: String(index) }, encoding: 'utf8' })
      expect(parseShard(out)).toEqual({ index: index + 1, count: 4 })
    }
  })
})
