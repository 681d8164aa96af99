/** The replicated state machine: public surface. */
export {
  COMMAND_FORMAT_VERSION,
  MAX_CLIENT_ID_BYTES,
  MAX_ENCODED_COMMAND_BYTES,
  decodeCommand,
  encodeCommand,
  validateCommand,
  type ClientTag,
  type DecodedCommand,
  type Envelope,
} from './command.js';
export { ClientTable, DEFAULT_MAX_CLIENTS } from './dedup.js';
export { CommandError, SnapshotError, StateMachineError, type StateMachineErrorCode } from './errors.js';
export { Fields, type ErrorFactory, type IntRule, type JsonRecord, type StringRule } from '../util/untrusted.js';
export { DEFAULT_KINDS, DEFAULT_REGISTRY, type DefaultCommand } from './kinds.js';
export {
  KV_KIND,
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  kvKind,
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
export { MESH_KIND, MeshStore, meshKind, type ApplyAction, type MeshApply, type MeshApplyOutcome, type MeshCommand, type MeshDelete, type MeshView } from './mesh.js';
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
