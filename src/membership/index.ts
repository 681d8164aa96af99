/** The membership layer's public surface. Everything here is deterministic except AuditStore. */
export type { MemberStatus, NodeId, PeerObservation, PeerSnapshot, StatusTransition } from './types.js';
export { MEMBER_STATUSES, SHOWN_STATUSES, type ShownStatus } from './types.js';
export { MembershipError, ViewDecodeError, AuditEventError, type MembershipErrorCode } from './errors.js';
export { RttStats, type RttStatsOptions } from './rtt-stats.js';
export { FailureDetector, computeTimeoutMs, validateDetectorConfig, type DetectorConfig } from './failure-detector.js';
export {
  encodeView,
  decodeView,
  encodeHeartbeat,
  decodeHeartbeat,
  MAX_VIEW_ENTRIES,
  MAX_RELAYED_VIEWS,
  VIEW_CODEC_VERSION,
  type HeartbeatPayload,
  type MemberView,
  type RelayedView,
  type ViewEntry,
} from './view-codec.js';
export { LeadershipLog, LEADER_MARK, type HandOverKind } from './leadership-log.js';
export { confAuditEvent, CONF_MARK } from './conf-audit.js';
export { ViewTable, type ReceivedView } from './view-table.js';
export { defaultAgingHorizonMs, defaultViewTtlMs, ownView, type OwnViewInput } from './own-view.js';
export { PushBudget, PUSH_BURST } from './push-budget.js';
export {
  assess,
  decide,
  describeVerdict,
  entryVote,
  quorumOf,
  type Assessment,
  type AssessInput,
  type StatusDecision,
  type Verdict,
  type ViewAging,
} from './status-aggregator.js';
export { reconcileRows, type ReconciledRow, type ReconcileRowsInput, type OnlineBasis } from './reconciled-status.js';
export {
  Reconciler,
  judgeRepair,
  acceptForwarded,
  type ActivityReport,
  type LeadInput,
  type LocalObservation,
  type ReconcilerOptions,
  type Repair,
  type SyncInput,
  type SyncResult,
} from './reconciler.js';
export {
  auditEvent,
  leaderChanged,
  parseAuditEvent,
  isAuditEventType,
  eventTimeMs,
  AUDIT_EVENT_TYPES,
  type AuditEvent,
  type AuditEventType,
} from './audit.js';
export { AuditStore, type AuditListener, type AuditQuery, type AuditStoreOptions } from './audit-store.js';
