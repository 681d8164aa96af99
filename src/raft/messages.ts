/**
 * Messages between Raft peers, as a discriminated union on `type`. Every message carries
 * the sender's term; the rules for terms live in one place (raft.ts `step`).
 */
import type { Entry, NodeId, Snapshot } from './types.js';

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/** Pre-vote (thesis §9.6): asks "would you vote for me at `term`?" without changing terms. */
export interface PreVote extends Envelope {
  readonly type: 'PreVote';
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  /** The candidate's commit index: a voter holding its last entry learns it (raft.ts). */
  readonly commit: number;
}

export interface Vote extends Envelope {
  readonly type: 'Vote';
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  /** The candidate's commit index: a voter holding its last entry learns it (raft.ts). */
  readonly commit: number;
  /** Set by a leadership transfer: bypasses leader stickiness (thesis §3.10). */
  readonly transfer: boolean;
}

export interface PreVoteResp extends Envelope {
  readonly type: 'PreVoteResp';
  readonly reject: boolean;
}

export interface VoteResp extends Envelope {
  readonly type: 'VoteResp';
  readonly reject: boolean;
}

export interface Append extends Envelope {
  readonly type: 'Append';
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  /**
   * A commit notice: no entries, to a follower that was sent every entry (raft.ts,
   * AppendPurpose). The follower commits from it and does not answer, so a commit costs one
   * message per follower instead of two. A follower of an earlier version ignores the field and
   * answers as before; one whose log does not match refuses it as any append.
   */
  readonly commitOnly: boolean;
}

export interface AppendResp extends Envelope {
  readonly type: 'AppendResp';
  readonly reject: boolean;
  /** On success: the last index now matching the leader. On reject: the probed prevIndex. */
  readonly index: number;
  /** On reject: where the follower suggests the leader retries, and that entry's term
   * (fast back-tracking, thesis §5.3 optimisation as done by etcd's findConflictByTerm). */
  readonly rejectHint: number;
  readonly hintTerm: number;
}

export interface Heartbeat extends Envelope {
  readonly type: 'Heartbeat';
  /** min(follower's match, leader's commit): never lets a follower commit what it lacks. */
  readonly commit: number;
  /** Non-empty when the heartbeat confirms leadership for a ReadIndex request. */
  readonly context: string;
}

export interface HeartbeatResp extends Envelope {
  readonly type: 'HeartbeatResp';
  readonly context: string;
}

export interface InstallSnapshot extends Envelope {
  readonly type: 'InstallSnapshot';
  readonly snapshot: Snapshot;
}

/** Leadership transfer: tells the target to campaign now (thesis §3.10). */
export interface TimeoutNow extends Envelope {
  readonly type: 'TimeoutNow';
}

/** A follower asks the leader for a read index on behalf of its client. */
export interface ReadIndexReq extends Envelope {
  readonly type: 'ReadIndex';
  readonly context: string;
}

export interface ReadIndexResp extends Envelope {
  readonly type: 'ReadIndexResp';
  /** 0 with reject=true when the leader cannot serve reads yet. */
  readonly index: number;
  readonly reject: boolean;
  readonly context: string;
}

export type Message =
  | PreVote
  | PreVoteResp
  | Vote
  | VoteResp
  | Append
  | AppendResp
  | Heartbeat
  | HeartbeatResp
  | InstallSnapshot
  | TimeoutNow
  | ReadIndexReq
  | ReadIndexResp;

export type MessageType = Message['type'];

export const MESSAGE_TYPES: readonly MessageType[] = [
  'PreVote',
  'PreVoteResp',
  'Vote',
  'VoteResp',
  'Append',
  'AppendResp',
  'Heartbeat',
  'HeartbeatResp',
  'InstallSnapshot',
  'TimeoutNow',
  'ReadIndex',
  'ReadIndexResp',
];
