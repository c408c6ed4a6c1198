// Preloaded with `node --import` for "where the time goes" runs only (never in timed runs): wraps
// ssh2's Client (connect, ready, exec, end) and `ssh -G` spawns in the measured process, and at exit
// writes a timeline summary as JSON to $HAVN_BENCH_TRACE. Nothing in src/ or bin/ is touched.
import childProcess from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createRequire, syncBuiltinESMExports } from 'node:module'
import { fileURLToPath } from 'node:url'

const out = process.env.HAVN_BENCH_TRACE
if (out) {
  const require = createRequire(fileURLToPath(new URL('../../package.json', import.meta.url)))
  const { Client } = require('ssh2')
  const now = () => performance.now()
  const clients = new Map()
  const sshG = []
  const rec = (c) => {
    let r = clients.get(c)
    if (!r) clients.set(c, (r = { execs: [] }))
    return r
  }
  const connect = Client.prototype.connect
  Client.prototype.connect = function (...args) {
    const r = rec(this)
    r.connectAt = now()
    this.once('ready', () => (r.readyAt = now()))
    return connect.apply(this, args)
  }
  const exec = Client.prototype.exec
  Client.prototype.exec = function (cmd, ...rest) {
    const r = rec(this)
    const e = { start: now() }
    r.execs.push(e)
    const cbIndex = rest.findIndex((x) => typeof x === 'function')
    const cb = rest[cbIndex]
    rest[cbIndex] = (err, ch) => {
      e.open = now()
      if (ch) {
        ch.once('close', () => (e.end = now()))
        // Each write on a channel is one more command for havn's long-lived shell.
        const write = ch.write.bind(ch)
        ch.write = (...a) => {
          e.writes = (e.writes ?? 0) + 1
          return write(...a)
        }
      }
      return cb(err, ch)
    }
    return exec.call(this, cmd, ...rest)
  }
  const end = Client.prototype.end
  Client.prototype.end = function (...args) {
    rec(this).endAt ??= now()
    return end.apply(this, args)
  }
  const execFile = childProcess.execFile
  childProcess.execFile = function (file, ...rest) {
    if (file !== 'ssh') return execFile.call(this, file, ...rest)
    const s = { start: now() }
    sshG.push(s)
    const cbIndex = rest.findIndex((x) => typeof x === 'function')
    if (cbIndex >= 0) {
      const cb = rest[cbIndex]
      rest[cbIndex] = (...a) => {
        s.end = now()
        return cb(...a)
      }
    }
    return execFile.call(this, file, ...rest)
  }
  syncBuiltinESMExports()
  process.on('exit', () => {
    const cs = [...clients.values()]
    writeFileSync(out, JSON.stringify({ exitAt: now(), clients: cs, sshG }))
  })
}
