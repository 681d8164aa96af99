/**
 * What the membership driver needs from the rest of the controller: the members and their
 * committed status (state machine), Raft's view (term, leader, voters), ways to propose or
 * forward a status decision, and the peer transport's ping. An interface, so the driver never
 * reaches into the host, storage or transport directly, and runs unchanged in the simulation.
 * Answers come back as Completions: Promises in production, simulated events in the tests.
 */
import type { Logger } from 'pino';
import type { NodeStatus } from '../raft/index.js';
import type { ApplyResult, MemberRecord, MemberStatusTransition } from '../statemachine/index.js';
import type { AuditEvent } from '../membership/audit.js';
import type { MembershipView } from '../membership/membership-engine.js';
import type { StatusDecision } from '../membership/status-aggregator.js';
import type { StatusTransition } from '../membership/types.js';
import type { Completion } from '../util/completion.js';

export interface MembershipPort {
  readonly self: string;
  readonly electionTimeoutMs: number;
  readonly logger: Logger;
  /**
   * Members as committed (address, role, status). The same array object as long as no record
   * changed, a new one after any change (MembersStore.list): the driver skips its audit of
   * committed status changes when the list it gets is the one it audited last.
   */
  members(): readonly MemberRecord[];
  /**
   * Committed status transitions after `seq`, in commit order, and the seq of the last (the
   * members kind's log); absent, the driver compares records from one batch to the next.
   */
  statusTransitions?(seq: number): { readonly items: readonly MemberStatusTransition[]; readonly missed: boolean; readonly seq: number };
  raftStatus(): NodeStatus;
  /** Monotonic ms of this node's last proof of quorum contact (RaftHost.lastLeaderContactAt). */
  lastLeaderContactAt(): number | null;
  /** Proposes a members setStatus command on this node, which must be the leader. */
  propose(decision: StatusDecision, observedAt: number, term: number): Completion<ApplyResult>;
  /** Sends a follower's correction to the leader (ReportStatus); true when the leader proposed it. */
  forwardCorrection(decision: StatusDecision): Completion<boolean>;
  ping(peer: string, payload: Uint8Array, deadlineMs: number): Completion<{ rttMs: number; payload: Uint8Array }>;
  /**
   * Records an audit event; `marks` (key -> value) are stored in the same write, so what was
   * recorded survives a restart (see auditMark).
   */
  audit(e: AuditEvent, marks?: Readonly<Record<string, string>>): void;
  /** The value last stored under `key` with an audit event; undefined: none. */
  auditMark?(key: string): string | undefined;
  /** Every RTT sample, for the metrics histogram. */
  onRtt(peer: string, rttMs: number): void;
  /** Every change of this node's own view of a peer (already logged). */
  onLocalTransition?(transition: StatusTransition): void;
}

/** The controls the controller process has over its membership layer. */
export interface MembershipNode {
  start(): void;
  stop(): void;
  /** Answers a peer's ping (the transport's onHeartbeat) with this node's view. */
  onHeartbeat(from: string, payload: Uint8Array): Uint8Array;
  /** Any Raft message from `from` also proves it alive. */
  noteContact(from: string): void;
  /** After a change of leader, so a new leader re-evaluates every member at once. */
  onLeaderChange(leader: string | null, term: number): void;
  /** After committed entries are applied: audit committed status changes at once. */
  onApplied(): void;
  /** Leader: a follower's forwarded correction; true when proposed. */
  reportStatus(member: string, status: 'online' | 'offline', reason: string, reporter: string): Promise<boolean>;
  listControllers(): MembershipView;
  /** When this node last heard from `peer` (performance.now()'s clock), as listControllers' rows show it; null if never. */
  lastContactAt(peer: string): number | null;
  /** Why this node is stale (heard from no quorum of voters within an election timeout); '' when it is not. */
  staleReason(): string;
}
