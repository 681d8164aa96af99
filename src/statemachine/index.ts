/** The replicated state machine: public surface. */
export {
  COMMAND_FORMAT_VERSION,
  MAX_CLIENT_ID_BYTES,
  CONTROLLER_CLIENT_ID_PREFIX,
  MAX_ENCODED_COMMAND_BYTES,
  decodeCommand,
  encodeCommand,
  encodeParsed,
  validateCommand,
  type ClientTag,
  type DecodedCommand,
  type Envelope,
} from './command.js';
export { ClientTable, DEFAULT_MAX_CLIENTS, recordOwnerOf } from './dedup.js';
export { INTERNAL_OWNER, MAX_OWNER_BYTES, ownerProblem } from './record-owner.js';
export { CommandError, SnapshotError, StateMachineError, type StateMachineErrorCode } from './errors.js';
export { Fields, type ErrorFactory, type IntRule, type JsonRecord, type StringRule } from '../util/untrusted.js';
export { DEFAULT_KINDS, DEFAULT_REGISTRY, type DefaultCommand } from './kinds.js';
export {
  KV_KIND,
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  kvKind,
  kvRecordSnapshotLength,
  type KvCommand,
  type KvDelete,
  type KvGetResult,
  type KvListOptions,
  type KvListResult,
  type KvPut,
  type KvRecord,
  type KvView,
} from './kv.js';
export {
  MAX_ADDRESS_BYTES,
  MAX_BOOTSTRAP_MEMBERS,
  MAX_MEMBER_ID_BYTES,
  MAX_REASON_BYTES,
  MEMBERS_KIND,
  membersKind,
  type MemberRecord,
  type MemberRole,
  type MemberStatus,
  type MemberStatusTransition,
  type MembersAdd,
  type MembersBootstrap,
  type MembersCommand,
  type MembersPromote,
  type MembersRemove,
  type MembersSetStatus,
  type MembersView,
  type StatusChange,
} from './members.js';
export {
  ENVELOPE_FIELDS,
  KindRegistry,
  commandFields,
  type AnyResourceKind,
  type ApplyContext,
  type KindCommand,
  type KindInstance,
  type ResourceKind,
} from './resource-kind.js';
export { failure, okResult, type ApplyFailure, type ApplyOk, type ApplyResult, type FailureCode } from './result.js';
export { SNAPSHOT_FORMAT_VERSION, StateMachine, type StateMachineOptions } from './state-machine.js';
export * from './mesh-types.js';
export { applyGrowth, publishGrowth } from './mesh-size.js';
export {
  MESH_KIND,
  MeshStore,
  meshKind,
  validateMeshCommand,
  type ApplyAction,
  type MeshApply,
  type MeshApplyOutcome,
  type MeshCommand,
  type MeshDelete,
  type MeshReport,
  type MeshReportOutcome,
  type MeshTransition,
  type MeshView,
  type PublishEntry,
  type UsageEntry,
} from './mesh.js';
export { MAX_REPORT_EXPIRIES, MAX_REPORT_HEALTH, MAX_REPORT_HOSTS, MAX_REPORT_PUBLISHES, MAX_REPORT_USAGE, MAX_USAGE_NAMES, parseHostedService, parseHostedServices } from './mesh-commands.js';
export { MAX_OBSERVED, type AgentDeclarationView, type ObservedDependency } from './mesh-declarations.js';
export { declaredAs, declaredOnly, planChanges, planPublish, type HostAction, type PublishPlan, type PublishShares, type PublishState, type RefusalCause } from './mesh-publish.js';
export { ALLOWED_AGENTS_LABEL, agentAllowed } from './mesh-ownership.js';
export { MESH_TRANSITION_LOG_SIZE, vipRange } from './mesh-state.js';
export { VipAllocator, usableSpan, type VipRange } from './vip-allocator.js';
export { SETTINGS_KIND, settingsKind, type SettingsView } from './settings.js';
export * from './agent-records.js';
export {
  AGENTS_KIND,
  MAX_AGENT_RECORDS,
  MAX_REPORT_ENTRIES,
  TRANSITION_LOG_SIZE,
  agentsKind,
  validateReport,
  type AgentTransition,
  type AgentsCommand,
  type AgentsReport,
  type AgentsReportOutcome,
  type AgentsView,
} from './agents.js';
export { MAX_SERVICES_PER_AGENT, keptByFor, shareRuleOf, type KeptBy, type ShareRule } from './publisher-shares.js';
export {
  BASE_CLUSTER_VERSION,
  CLUSTER_KIND,
  FORGET_AGENTS_VERSION,
  REQUEST_PRINT_VERSION,
  SESSION_EXPIRY_VERSION,
  CLIENT_SHARE_VERSION,
  OWNED_CLIENT_ID_VERSION,
  SERVICE_OWNERSHIP_VERSION,
  PUBLISH_SHARE_VERSION,
  LISTER_SHARE_VERSION,
  SUPERSEDED_PROCESS_VERSION,
  CLAIM_ORDER_VERSION,
  UNORDERED_CLAIM_VERSION,
  DECLARED_PUBLISH_VERSION,
  TAKEN_OFF_RESULT_VERSION,
  REFUSALS_ONCE_VERSION,
  clusterKind,
  clusterVersionOf,
  compareClusterVersions,
  isClusterVersion,
  type ClusterCommand,
  type ClusterVersionChange,
  type ClusterVersionSet,
  type ClusterView,
} from './cluster-version.js';
export { admittedBeforeHolder, type ClaimOpening } from './claim-openings.js';
