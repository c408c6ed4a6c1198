import net from 'node:net'

/**
 * A controller-side TCP proxy that puts a fixed one-way latency on a host's SSH path (the kernel
 * here has no netem): it listens on 127.0.0.1 and forwards to the host, holding every chunk for
 * `delayMs` in each direction, in order. It delays, it does not cap bandwidth: chunks queue behind
 * each other only by arrival time. TCP's own three-way handshake is not delayed (the client's
 * connect completes at once on loopback), so a connection costs one round trip less than on a
 * real WAN; every client through the proxy pays the same.
 *
 * Round trips are counted per connection as the wire shows them at the proxy: a client-to-server
 * burst followed by a server-to-client burst is one round trip, so the count is the number of
 * up-to-down direction changes of the traffic (data chunks and FINs, in the order they reach the
 * proxy). Pipelined requests answered together count once; the opening exchange of SSH banners
 * counts as one, as both sides send theirs unprompted.
 */

/** Traffic seen on one proxied connection. */
export interface ProxiedConnection {
  /** Up-then-down direction changes of the traffic (see the module comment). */
  readonly roundTrips: number
  readonly bytesUp: number
  readonly bytesDown: number
  /** False once both of its sockets have closed. */
  readonly open: boolean
}

/** A running proxy: where it listens, what it saw, and how to stop it. */
export interface LatencyProxy {
  /** The 127.0.0.1 port it listens on. */
  readonly port: number
  /** Connections accepted since start or the last `resetStats`, in accept order. */
  connections(): readonly ProxiedConnection[]
  /** Forgets the connections seen so far (open ones keep counting, but are no longer listed). */
  resetStats(): void
  /** Stops listening, destroys every socket and clears every timer; resolves once the server has closed. */
  close(): Promise<void>
}

/** Where a proxy forwards to and how long it holds each chunk. */
export interface LatencyProxyOptions {
  readonly targetHost: string
  readonly targetPort: number
  /** One-way delay, milliseconds, applied in each direction (round trip = 2x). */
  readonly delayMs: number
  /** Port on 127.0.0.1; default 0, an ephemeral port. */
  readonly listenPort?: number
  /** Connections open at once beyond which new ones are refused; default 16 (one host's worth). */
  readonly maxConnections?: number
}

interface Stats {
  roundTrips: number
  bytesUp: number
  bytesDown: number
  open: boolean
}

/** One direction of a connection: chunks written to `to` no sooner than `delayMs` after they arrived, then its FIN. */
class DelayedPipe {
  readonly #to: net.Socket
  readonly #from: net.Socket
  readonly #delayMs: number
  readonly #queue: { due: number; chunk: Buffer | undefined }[] = []
  #timer: NodeJS.Timeout | undefined
  #disposed = false

  constructor(from: net.Socket, to: net.Socket, delayMs: number) {
    this.#from = from
    this.#to = to
    this.#delayMs = delayMs
  }

  /** Queues a chunk, or (undefined) the end of this direction. */
  push(chunk: Buffer | undefined): void {
    if (this.#disposed) return
    this.#queue.push({ due: performance.now() + this.#delayMs, chunk })
    if (!this.#timer) this.#schedule()
  }

  #schedule(): void {
    const head = this.#queue[0]
    if (!head || this.#disposed) return
    // Timers may fire up to a millisecond early against performance.now(), so round up and re-check in #flush.
    this.#timer = setTimeout(() => this.#flush(), Math.max(1, Math.ceil(head.due - performance.now())))
  }

  #flush(): void {
    this.#timer = undefined
    const now = performance.now()
    while (!this.#disposed && this.#queue[0] && this.#queue[0].due <= now) {
      const { chunk } = this.#queue.shift() as { chunk: Buffer | undefined }
      if (chunk === undefined) {
        this.#to.end()
        continue
      }
      // Back-pressure only: a slow reader stops the writer, as TCP would, without adding delay otherwise.
      if (!this.#to.write(chunk) && !this.#from.isPaused()) {
        this.#from.pause()
        this.#to.once('drain', () => this.#from.resume())
      }
    }
    this.#schedule()
  }

  /** Drops what is queued and clears the timer; later pushes are ignored. */
  dispose(): void {
    this.#disposed = true
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#queue.length = 0
  }
}

/** Starts a proxy on 127.0.0.1 to `targetHost:targetPort` with `delayMs` each way; resolves once it listens. */
export async function startLatencyProxy(opts: LatencyProxyOptions): Promise<LatencyProxy> {
  if (!Number.isFinite(opts.delayMs) || opts.delayMs < 0) throw new Error(`latency proxy: delayMs must be >= 0, got ${opts.delayMs}`)
  let seen: Stats[] = []
  const live = new Set<{ sockets: net.Socket[]; pipes: DelayedPipe[] }>()

  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    const stats: Stats = { roundTrips: 0, bytesUp: 0, bytesDown: 0, open: true }
    seen.push(stats)
    client.setNoDelay(true)
    const upstream = net.connect({ host: opts.targetHost, port: opts.targetPort, allowHalfOpen: true })
    upstream.setNoDelay(true)
    const up = new DelayedPipe(client, upstream, opts.delayMs)
    const down = new DelayedPipe(upstream, client, opts.delayMs)
    const entry = { sockets: [client, upstream], pipes: [up, down] }
    live.add(entry)
    let last: 'up' | 'down' | undefined
    let closed = 0
    const finish = () => {
      stats.open = false
      up.dispose()
      down.dispose()
      live.delete(entry)
    }
    const sawUp = () => (last = 'up')
    const sawDown = () => {
      if (last === 'up') stats.roundTrips++
      last = 'down'
    }
    client.on('data', (chunk: Buffer) => {
      stats.bytesUp += chunk.length
      sawUp()
      up.push(chunk)
    })
    upstream.on('data', (chunk: Buffer) => {
      stats.bytesDown += chunk.length
      sawDown()
      down.push(chunk)
    })
    // FINs travel in order behind the data, with the same delay, and count as traffic: a client
    // that waits for the server's FIN after sending its own waits a round trip for it.
    client.on('end', () => {
      sawUp()
      up.push(undefined)
    })
    upstream.on('end', () => {
      sawDown()
      down.push(undefined)
    })
    // A reset on either side ends both at once; nothing queued is worth delivering after it.
    const fail = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('error', fail)
    upstream.on('error', fail)
    // A socket that closed can take no more writes; the other direction may still be delivering.
    client.on('close', () => {
      down.dispose()
      if (++closed === 2) finish()
      else if (upstream.destroyed || upstream.writableEnded) upstream.destroy()
    })
    upstream.on('close', () => {
      up.dispose()
      if (++closed === 2) finish()
      else if (client.destroyed || client.writableEnded) client.destroy()
    })
    client.resume()
  })
  server.maxConnections = opts.maxConnections ?? 16

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: '127.0.0.1', port: opts.listenPort ?? 0 }, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('latency proxy: no TCP address after listen')

  return {
    port: address.port,
    connections: () => seen.map((s) => ({ ...s })),
    resetStats: () => {
      seen = []
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const entry of live) {
          for (const p of entry.pipes) p.dispose()
          for (const s of entry.sockets) s.destroy()
        }
        live.clear()
      }),
  }
}
