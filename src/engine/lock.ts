import { hostname, userInfo } from 'node:os'
import { shQuote } from '../connection/quote.ts'
import type { Remote } from './context.ts'
import { LIST_NOTIFICATIONS } from './handlers.ts'

// Looked up once per run, not once per host: userInfo() reads the user database each time.
let controllerIdentity: { user: string; controller: string } | undefined
const identity = () => (controllerIdentity ??= { user: userInfo().username, controller: hostname() })

/** Who holds a host's run lock; written into the lock so a second run can name it. */
export interface LockHolder {
  readonly user: string
  readonly controller: string
  readonly pid: number
  readonly since: string
  readonly playbook: string
}

/** Another run holds the host; the message names the holder and, when it is gone, how to break it. */
export class HostLockedError extends Error {
  override readonly name = 'HostLockedError'
  readonly holder: LockHolder | undefined
  readonly stale: boolean
  constructor(host: string, holder: LockHolder | undefined, stale: boolean) {
    const who = holder ? `${holder.user}@${holder.controller} (pid ${holder.pid}) running ${holder.playbook} since ${holder.since}` : 'an unknown run (no holder file)'
    super(
      stale
        ? `host ${host} is locked by ${who}, but that process is gone: the lock is stale; rerun with --break-lock to remove it`
        : `host ${host} is locked by ${who}; wait for it to finish (or, if it crashed on another controller, rerun with --break-lock)`,
    )
    this.holder = holder
    this.stale = stale
  }
}

/** The lock lives in /tmp so that any login user can take it and a reboot clears it. */
const LOCK_FILE = '/tmp/havn.lock'

/** How long a run waits for a lock whose holder's session is still ending (a run that just finished). */
const WAIT_FOR_ENDING_HOLDER_S = 2

/** One run's lock on one host. */
export interface HostLock {
  /**
   * Shell that frees the lock if it is still this run's. Known before the lock is taken, so it can
   * be armed first: on a host where this run never got the lock it does nothing.
   */
  readonly release: string
  /**
   * Takes the lock (a file created exclusively, naming its holder) and, in the same round trip,
   * lists the handler notifications an earlier run left pending. Throws HostLockedError when
   * another run holds it. The lock file records the session process (`$HAVN_SESSION_PID`) that
   * releases the lock when its connection ends; while that process is still ending, the lock is
   * waited for briefly.
   */
  take(remote: Remote): Promise<{ pending: string[] }>
}

/** This run's lock for a host; the same holder text goes into every host's lock. */
export function hostLock(opts: { playbook: string; breakLock: boolean }): HostLock {
  const me: LockHolder = { ...identity(), pid: process.pid, since: new Date().toISOString(), playbook: opts.playbook }
  const holder = shQuote(JSON.stringify(me))
  // noclobber makes the shell create the file with O_EXCL: atomic, like mkdir, without a process.
  const take = `{ printf '%s\\n%s\\n' ${holder} "\${HAVN_SESSION_PID:-}" > ${LOCK_FILE}; } 2>/dev/null`
  const script = [
    opts.breakLock ? `rm -rf ${LOCK_FILE}` : ':',
    'umask 022; set -C',
    `i=0; st=held`,
    `while :; do`,
    `  if ${take}; then st=acquired; break; fi`,
    `  h=; s=; { read -r h; read -r s; } 2>/dev/null < ${LOCK_FILE}`,
    `  [ -n "$s" ] && [ -d "/proc/$s" ] && [ $i -lt ${WAIT_FOR_ENDING_HOLDER_S * 10} ] || break`,
    `  i=$((i+1)); sleep 0.1`,
    'done',
    `echo $st; [ $st = held ] && printf '%s\\n%s\\n' "$h" "$s"`,
    'echo ---',
    LIST_NOTIFICATIONS,
  ].join('\n')
  return {
    // Only our own lock is removed: someone may have broken it and taken the host meanwhile.
    release: `h=; read -r h 2>/dev/null < ${LOCK_FILE}; [ "$h" = ${holder} ] && rm -f ${LOCK_FILE}; true`,
    async take(remote) {
      for (let attempt = 0; ; attempt++) {
        const res = await remote.exec(script, { display: 'take run lock' })
        const [head = '', pendingText = ''] = res.stdout.split('---\n')
        const [status, holderLine = '', session = ''] = head.trim().split('\n')
        if (status === 'acquired') return { pending: pendingText.split('\n').filter((l) => l.trim() !== '') }
        const other = parseHolder(holderLine)
        const gone = other !== undefined && isGoneHere(other)
        // The holder died here but its session on the host lives on, cut off from a connection that
        // died without the host noticing (a link that went down): end that session, whose exit trap
        // frees the lock, once, and only if the lock still names that holder and session.
        if (!gone || attempt > 0 || !/^[0-9]+$/.test(session)) throw new HostLockedError(remote.host, other, gone)
        await remote.exec(orphanEnd(holderLine, session), { display: 'end the session of a run that is gone' })
      }
    },
  }
}

/** Sends TERM to the orphaned session `pid` if the lock still names `holderLine` and that session. */
function orphanEnd(holderLine: string, pid: string): string {
  return `h=; s=; { read -r h; read -r s; } 2>/dev/null < ${LOCK_FILE}; [ "$h" = ${shQuote(holderLine)} ] && [ "$s" = ${pid} ] && kill -TERM ${pid} 2>/dev/null; true`
}

function parseHolder(line: string | undefined): LockHolder | undefined {
  try {
    return line ? (JSON.parse(line) as LockHolder) : undefined
  } catch {
    return undefined
  }
}

/** A holder on this controller whose process no longer exists has crashed. */
function isGoneHere(holder: LockHolder): boolean {
  if (holder.controller !== identity().controller) return false
  try {
    process.kill(holder.pid, 0)
    return false
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH'
  }
}
