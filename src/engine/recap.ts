import type { HostRecap, RunEvent } from './events.ts'

/** Tallies events into per-host recaps; feed it every event of a run. */
export class RecapBuilder {
  private readonly hosts = new Map<string, HostRecap>()
  private readonly started = new Map<string, number>()

  /** Registers hosts up front so hosts that never ran still appear, as not run. */
  expect(hosts: readonly string[]): void {
    for (const h of hosts) if (!this.hosts.has(h)) this.hosts.set(h, emptyRecap())
  }

  observe(event: RunEvent): void {
    switch (event.type) {
      case 'host:start': {
        const r = this.get(event.host)
        r.notRun = false
        if (!this.started.has(event.host)) this.started.set(event.host, Date.now())
        break
      }
      case 'host:end': {
        const since = this.started.get(event.host)
        if (since !== undefined) this.get(event.host).durationMs = Date.now() - since
        break
      }
      case 'host:unreachable':
        this.get(event.host).unreachable = true
        this.get(event.host).notRun = false
        break
      case 'step:end': {
        const r = this.get(event.host)
        if (event.status === 'ok') r.ok++
        else if (event.status === 'changed') r.changed++
        else if (event.status === 'would-change') r.wouldChange++
        else if (event.status === 'uncertain') r.uncertain++
        else if (event.status === 'failed') r.failed++
        else r.skipped++
        break
      }
      default:
        break
    }
  }

  /** The recaps so far, keyed by host name, in the order hosts were first seen. */
  result(): Record<string, HostRecap> {
    return Object.fromEntries(this.hosts)
  }

  private get(host: string): HostRecap {
    let r = this.hosts.get(host)
    if (!r) {
      r = emptyRecap()
      this.hosts.set(host, r)
    }
    return r
  }
}

function emptyRecap(): HostRecap {
  return { ok: 0, changed: 0, wouldChange: 0, uncertain: 0, failed: 0, skipped: 0, unreachable: false, notRun: true, durationMs: 0 }
}
