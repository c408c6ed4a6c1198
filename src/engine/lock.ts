import { hostname, userInfo } from 'node:os'
import { shQuote } from '../connection/quote.ts'
import type { Remote } from './context.ts'
import { LIST_NOTIFICATIONS } from './handlers.ts'

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
const LOCK_DIR = '/tmp/havn.lock'

/**
 * Takes the host's run lock (an atomic `mkdir`) and, in the same round trip, lists the handler
 * notifications an earlier run left pending. Throws HostLockedError when another run holds it.
 */
export async function acquireHostLock(remote: Remote, opts: { playbook: string; breakLock: boolean }): Promise<{ pending: string[]; release: () => Promise<void> }> {
  const me: LockHolder = { user: userInfo().username, controller: hostname(), pid: process.pid, since: new Date().toISOString(), playbook: opts.playbook }
  const script = [
    opts.breakLock ? `rm -rf ${LOCK_DIR}` : ':',
    `if (umask 022 && mkdir ${LOCK_DIR}) 2>/dev/null; then printf '%s\\n' ${shQuote(JSON.stringify(me))} > ${LOCK_DIR}/holder; echo acquired; else echo held; cat ${LOCK_DIR}/holder 2>/dev/null; fi`,
    'echo ---',
    LIST_NOTIFICATIONS,
  ].join('\n')
  const res = await remote.exec(script, { display: 'take run lock' })
  const [head = '', pendingText = ''] = res.stdout.split('---\n')
  const [status, holderLine] = head.trim().split('\n')
  if (status !== 'acquired') {
    const holder = parseHolder(holderLine)
    throw new HostLockedError(remote.host, holder, holder !== undefined && isGoneHere(holder))
  }
  const mine = shQuote(JSON.stringify(me))
  // Only our own lock is removed: someone may have broken it and taken the host meanwhile.
  const release = async () => {
    await remote.exec(`h=; read -r h < ${LOCK_DIR}/holder 2>/dev/null; [ "$h" = ${mine} ] && rm -rf ${LOCK_DIR}; true`, { display: 'release run lock' })
  }
  return { pending: pendingText.split('\n').filter((l) => l.trim() !== ''), release }
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
  if (holder.controller !== hostname()) return false
  try {
    process.kill(holder.pid, 0)
    return false
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH'
  }
}
