// Preloaded with `node --import` into a measured process (havn or the floor) so nothing is added to
// src/ or bin/: at exit it writes this process's own resource usage, plus that of the children it
// reaped (havn runs `ssh -G` per host), as JSON to $HAVN_BENCH_RUSAGE.
import { readFileSync, writeFileSync } from 'node:fs'

const out = process.env.HAVN_BENCH_RUSAGE
if (out) {
  process.on('exit', () => {
    const u = process.resourceUsage()
    // /proc/self/stat fields 16/17 (cutime/cstime) count reaped children, in clock ticks (100 Hz on Linux).
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? []
    const childTicks = Number(fields[13] ?? 0) + Number(fields[14] ?? 0)
    writeFileSync(out, JSON.stringify({ maxRssKiB: u.maxRSS, cpuS: (u.userCPUTime + u.systemCPUTime) / 1e6, childCpuS: childTicks / 100 }))
  })
}
