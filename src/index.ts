/**
 * havn's public API: what roles, playbooks and inventories import as `havn`.
 * Everything here is safe to import from user code; nothing here touches a host on import.
 */
export { defineRole, definePlaybook, type BatchSize, type Host, type HostInfo, type JsonSchema, type Play, type Playbook, type Role, type RoleFactory, type RoleUse } from './engine/define.ts'
export type { Change, HostRecap, RunEvent, StepStatus } from './engine/events.ts'
export { defineFact, pendingChanges, predict, type Fact, type Prediction } from './engine/facts.ts'
export type { Platform } from './engine/platforms.ts'
export { defineHandler, flushHandlers, type Handler } from './engine/handlers.ts'
export { runStep, type PlanContext, type PlannedCommand, type StepPlan, type StepResult, type StepSpec } from './engine/step.ts'
export type { RetryKeywords } from './engine/retry.ts'
export { sh, secret, shQuote, type ShellCommand, type Secret } from './connection/quote.ts'
export { CommandFailedError } from './connection/errors.ts'
export { defineInventory, type InventorySpec } from './inventory/define.ts'

// Builtin modules, each named for the state it ensures.
export { aptRepository, type AptRepositoryArgs } from './modules/apt-repository.ts'
export { authorizedKey, type AuthorizedKeyArgs } from './modules/authorized-key.ts'
export { command, type CommandOptions, type CommandText } from './modules/command.ts'
export { copy, type CopyArgs } from './modules/copy.ts'
export { cron, type CronArgs } from './modules/cron.ts'
export { download, type DownloadArgs } from './modules/download.ts'
export { git, type GitArgs } from './modules/git.ts'
export { absent, directory, file, type AbsentArgs, type DirectoryArgs, type FileArgs, type Mode } from './modules/file.ts'
export { group, type GroupArgs } from './modules/group.ts'
export { iniSetting, line, type IniSettingArgs, type LineArgs } from './modules/line.ts'
export { mount, type MountArgs } from './modules/mount.ts'
export { packages, type PackagesArgs } from './modules/packages.ts'
export { service, type ServiceArgs } from './modules/service.ts'
export { sysctl, type SysctlArgs } from './modules/sysctl.ts'
export { systemdUnit, type SystemdUnitArgs } from './modules/systemd-unit.ts'
export { template, type TemplateArgs, type TemplateValue } from './modules/template.ts'
export { unarchive, type UnarchiveArgs } from './modules/unarchive.ts'
export { user, type UserArgs } from './modules/user.ts'

// Facts roles commonly read through `host.fact(...)`.
export { fileState, type FileState } from './facts/file.ts'
export { osInfo, type OsInfo } from './facts/os.ts'
export { packagesState } from './facts/packages.ts'
export { serviceStatus } from './facts/service.ts'
export { sysctlLive } from './facts/sysctl.ts'
export { userInfo } from './facts/user.ts'
export { groupInfo } from './facts/group.ts'
export { treeState, type TreeEntry, type TreeState } from './facts/tree.ts'
