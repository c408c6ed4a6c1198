/**
 * havn's public API: what roles, playbooks and inventories import as `havn`.
 * Everything here is safe to import from user code; nothing here touches a host on import.
 */
export { defineRole, definePlaybook, type Host, type HostInfo, type JsonSchema, type Play, type Playbook, type Role, type RoleFactory, type RoleUse } from './engine/define.ts'
export type { Change, HostRecap, RunEvent, StepStatus } from './engine/events.ts'
export { defineFact, predict, type Fact, type Prediction } from './engine/facts.ts'
export { defineHandler, type Handler } from './engine/handlers.ts'
export { runStep, type PlanContext, type StepPlan, type StepResult, type StepSpec } from './engine/step.ts'
export { command, type CommandOptions, type CommandText } from './modules/command.ts'
export { sh, secret, shQuote, type ShellCommand, type Secret } from './connection/quote.ts'
export { defineInventory, type InventorySpec } from './inventory/define.ts'
