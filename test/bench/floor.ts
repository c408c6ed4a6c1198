/**
 * The floor: the least any ssh2-based runner must do for W5-sized work. One process opens N
 * connections in parallel (same key, offered at once; host keys checked against known_hosts,
 * Nagle off), runs 5 SEQUENTIAL `true` execs per host, closes, and exits. Wall time is measured by
 * the caller around the whole process, like havn's.
 *
 * usage: node floor.js HOSTS_JSON IDENTITY KNOWN_HOSTS   (HOSTS_JSON: [{"address":"…","port":22}, …])
 * A host on another port than 22 is looked up in known_hosts as `[address]:port`, as OpenSSH does.
 * Prints {"ok":n,"failed":[…]}; exit 0 only when every host completed.
 */
import { readFileSync } from 'node:fs'
import net from 'node:net'
import ssh2 from 'ssh2'

const EXECS_PER_HOST = 5
const TIMEOUT_MS = 30_000

interface Target {
  address: string
  port: number
}

function knownKeys(file: string): Map<string, Buffer> {
  const keys = new Map<string, Buffer>()
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [host, , b64] = line.trim().split(/\s+/)
    if (host && b64) keys.set(host, Buffer.from(b64, 'base64'))
  }
  return keys
}

function exec(conn: ssh2.Client, cmd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    conn.exec(cmd, (err, ch) => {
      if (err) return reject(err)
      let code = -1
      ch.on('exit', (c: number | null) => (code = c ?? -1))
      ch.on('close', () => resolve(code))
      ch.resume()
      ch.stderr.resume()
      ch.end()
    })
  })
}

function runHost(t: Target, privateKey: Buffer, expected: Buffer): Promise<void> {
  const at = `${t.address}:${t.port}`
  return new Promise((resolve, reject) => {
    const conn = new ssh2.Client()
    const timer = setTimeout(() => {
      conn.end()
      reject(new Error(`${at}: timed out after ${TIMEOUT_MS} ms`))
    }, TIMEOUT_MS)
    conn.on('error', (e) => {
      clearTimeout(timer)
      reject(new Error(`${at}: ${e.message}`))
    })
    conn.on('ready', () => {
      void (async () => {
        for (let i = 0; i < EXECS_PER_HOST; i++) {
          const code = await exec(conn, 'true')
          if (code !== 0) throw new Error(`${at}: 'true' exited ${code}`)
        }
      })().then(
        () => {
          clearTimeout(timer)
          conn.end()
          resolve()
        },
        (e: unknown) => {
          clearTimeout(timer)
          conn.end()
          reject(e instanceof Error ? e : new Error(String(e)))
        },
      )
    })
    // Our own socket, so Nagle is off before the first handshake byte, as in havn's connection module.
    const sock = net.connect({ host: t.address, port: t.port })
    sock.setNoDelay(true)
    sock.once('error', (e) => {
      clearTimeout(timer)
      reject(new Error(`${at}: ${e.message}`))
    })
    // The key is offered at once, as havn does: ssh2's default order would first try `none`, a round trip more.
    const authHandler = [{ type: 'publickey' as const, username: 'root', key: privateKey }]
    conn.connect({ sock, username: 'root', authHandler, hostVerifier: (key: Buffer) => key.equals(expected), readyTimeout: TIMEOUT_MS })
  })
}

async function main(): Promise<number> {
  const [hostsFile, identity, knownHostsFile] = process.argv.slice(2)
  if (!hostsFile || !identity || !knownHostsFile) {
    process.stderr.write('usage: floor HOSTS_JSON IDENTITY KNOWN_HOSTS\n')
    return 2
  }
  const targets = JSON.parse(readFileSync(hostsFile, 'utf8')) as Target[]
  const privateKey = readFileSync(identity)
  const keys = knownKeys(knownHostsFile)
  const results = await Promise.allSettled(
    targets.map((t) => {
      const name = t.port === 22 ? t.address : `[${t.address}]:${t.port}`
      const expected = keys.get(name)
      return expected ? runHost(t, privateKey, expected) : Promise.reject(new Error(`${name}: not in ${knownHostsFile}`))
    }),
  )
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason instanceof Error ? r.reason.message : r.reason)] : []))
  process.stdout.write(`${JSON.stringify({ ok: results.length - failed.length, failed })}\n`)
  return failed.length === 0 ? 0 : 1
}

process.exitCode = await main()
