/**
 * The havn test bed: real, isolated Debian hosts made from Linux namespaces, each with its own
 * network, mount, UTS, IPC and PID namespaces, an overlay root and sshd as PID 1.
 */
export type { HiddenTestbedHost, Testbed, TestbedHost, UpOptions } from './types.ts'
export { currentBed, down, up } from './lifecycle.ts'
export { freezeHost, hostExec, restartHost, stopHost, thawHost } from './host-control.ts'
export { DEFAULT_STATE_DIR } from './layout.ts'
export { HOST_KINDS, kindParts, type HostKind } from './kinds.ts'
