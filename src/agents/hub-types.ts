/**
 * What the AgentHub (hub.ts) takes from the controller and hands back to its driver. The hub
 * reads replicated state and a few facts about the controller through HubPort, and returns
 * effects for the driver to carry out; it never touches a socket, a timer or a disk.
 */
import type { DetectorConfig } from '../membership/index.js';
import type { ControllerMessage, CloseCode } from './protocol.js';
import type { ClusterState, ConfigSelector } from './selection.js';
import type { StreamId } from './types.js';

export interface HubPort {
  /** Replicated state as applied on this controller. */
  state(): ClusterState;
  /** The cluster's identity (changes with `controller restore`); agents from another are resynced. */
  clusterId(): string;
  /** The cluster's `cluster.name`, sent in the welcome (agents refuse a cluster of another name); absent: ''. */
  clusterName?(): string;
  /** Monotonic ms of this controller's last proof of hearing from a quorum; null: never. */
  quorumContactAt(): number | null;
  /** Monotonic ms of its last contact with a leader (as the leader: a quorum's acknowledgement); null: never. */
  leaderContactAt(): number | null;
  /** True while this controller leads: it then expires the agents of unreachable controllers. */
  leading(): boolean;
  /**
   * True while the state machine replays entries committed before this process started: their
   * transitions were audited by the previous run, so they are not audited again.
   */
  replaying(): boolean;
  /** This controller's reconciled view of another controller; silentMs null: never heard from. */
  controller(id: string): { readonly online: boolean; readonly silentMs: number | null };
  /** Wall clock, ms since the epoch: compared with the mesh's log time (expiry, quarantine). */
  wallClock(): number;
  /**
   * The replicated state is at controller.quota_bytes (src/api/state-quota.ts): a publish that
   * would create services is then not proposed. Absent: no quota.
   */
  atQuota?(): boolean;
  /**
   * Why a publish adding `growth` bytes to the mesh does not fit controller.max_mesh_bytes
   * (src/api/mesh-bound.ts), counted; null when it fits. Absent: no bound.
   */
  meshRoom?(growth: number): string | null;
  /**
   * Who refuses this controller now, as a second process of its member or over its
   * cluster.name (quorum-guard.ts, describeRefusals): often why it is cut off, so its agents
   * are told. '' or absent: nobody does.
   */
  refusals?(): string;
}

export interface HubOptions {
  readonly self: string;
  /** The controllers' heartbeat rule, applied to agents. */
  readonly detector: DetectorConfig;
  readonly pingIntervalMs: number;
  readonly electionTimeoutMs: number;
  /** How often the hub compares its streams with the committed records. */
  readonly stateSyncIntervalMs: number;
  /** Unique to this process run: session ids are `${sessionPrefix}-${n}`. */
  readonly sessionPrefix: string;
  readonly selector?: ConfigSelector;
  /** A stream must say hello within this long; default 10 s. */
  readonly helloTimeoutMs?: number;
  /** The most hellos admitted per tick (backpressure for a thundering herd); default 200. */
  readonly admitPerTick?: number;
  /** The driver's tick interval: a tick more than twice as late means a busy loop; unset: never judged late. */
  readonly tickMs?: number;
  /** Streams held at once, hellos included; beyond it a stream is refused; default 50,000. */
  readonly maxStreams?: number;
  /** Streams one client certificate may hold open at once (TLS only); default MAX_STREAMS_PER_CERTIFICATE. */
  readonly maxStreamsPerCertificate?: number;
  /** A push unanswered this long is reported as sent (the record then says STALE); default 1 s. */
  readonly staleReportMs?: number;
  /** Steps of push planning a pump may take afresh (fresh-plan-budget.ts); default FRESH_UNITS_PER_PUMP. */
  readonly freshUnitsPerPump?: number;
  /**
   * Under a stream of changes, a report holding only acknowledgements of the last push sent goes
   * at most once per this long (counted from the report before it); anything else goes at once
   * and takes them along. Default ACK_REPORT_PACE_MS (hub-driver.ts); 0: not paced.
   */
  readonly ackReportPaceMs?: number;
  /** Entries per report; default 1,000 (an entry is applied on every controller, in one go). */
  readonly maxReportEntries?: number;
  /** An agent offline this long is forgotten (controller.agent_reconnect_timeout); default 72 h. */
  readonly reconnectTimeoutMs?: number;
  /** An agents' service no agent lists is expired after this long (leader); default UNLISTED_SERVICE_GRACE_MS. */
  readonly unlistedServiceGraceMs?: number;
}

export type HubAuditType =
  | 'agent.status'
  | 'agent.nack'
  | 'agent.takeover'
  | 'agent.forgotten'
  | 'agent.declaration.forgotten'
  | 'state.divergence'
  | 'service.vip.assigned'
  | 'service.vip.released'
  | 'service.publish.refused'
  | 'agent.dependency.added'
  | 'agent.dependency.expiring'
  | 'agent.dependency.expired'
  | 'agent.dependency.removed';

export interface HubAudit {
  readonly type: HubAuditType;
  readonly subject: string;
  readonly from: string | null;
  readonly to: string | null;
  readonly reason: string;
}

export type HubEffect =
  | { readonly type: 'send'; readonly stream: StreamId; readonly message: ControllerMessage }
  | { readonly type: 'close'; readonly stream: StreamId; readonly code: CloseCode; readonly reason: string }
  /** Ask for a linearizable read barrier; answer with barrierDone(ok). */
  | { readonly type: 'barrier' }
  /** Ask the controllers this one hears from for their live agents; answer with elsewhereAnswered(rows). */
  | { readonly type: 'ask-elsewhere'; readonly agents: readonly string[] }
  | { readonly type: 'audit'; readonly event: HubAudit }
  | { readonly type: 'log'; readonly level: 'debug' | 'info' | 'warn'; readonly message: string; readonly fields: Readonly<Record<string, unknown>> };

/** Counters for metrics; never reset. */
export interface HubCounters {
  pushes: number;
  acks: number;
  nacks: number;
  ignoredReplies: number;
  resyncs: number;
  takeovers: number;
  heartbeatTimeouts: number;
  refused: number;
  /** Publishes proposed (a hello that declared something the log does not hold). */
  publishes: number;
  /** Hellos whose publish changed nothing and was not proposed (identical re-publishes). */
  republishesSkipped: number;
  /** Publishes that would create services, not proposed while the state is at its quota. */
  publishesHeld: number;
  /** Publishes that waited for their agent's allowance of changes through this controller (publish-damping.ts), once per stream. */
  publishesDamped: number;
  /** Usage messages dropped unread for their stream's rate (hub.ts USAGE_PER_SECOND). */
  usageMessagesDropped: number;
  /** Publishes held back because they would grow the mesh past controller.max_mesh_bytes (once per stream). */
  publishesOverMesh: number;
  /** Publishes held back because they bring a protocol agents that get every service do not speak (once per stream). */
  publishesUnspoken: number;
  /** Hosts refused because an operator's service does not allow the agent (SERVICE_OWNERSHIP_VERSION), once per refused service per publish (publish-refusals.ts). */
  publishesNotAllowed: number;
  /** Services refused because their publisher holds MAX_SERVICES_PER_AGENT by its publishes (PUBLISH_SHARE_VERSION), once per refused service per publish (publish-refusals.ts). */
  publishesOverShare: number;
  /** Services refused because no operator applied them and services.agent_publish is declared (DECLARED_PUBLISH_VERSION), once per refused service per publish (publish-refusals.ts). */
  publishesUndeclared: number;
  /** Offline reports not made: another controller served the agent (offline-check.ts). */
  offlineHeld: number;
  /** Forgets of agents offline beyond controller.agent_reconnect_timeout proposed by this controller as leader. */
  reapsProposed: number;
}
