/**
 * The data the Raft core reasons about. Everything here is plain, immutable data so that
 * it can be persisted, sent over the wire and compared in simulation tests as-is.
 */

/** A controller's stable identity, as written in the cluster config (`c1`, `c2`, ...). */
export type NodeId = string;

/** What an entry carries. `noop` is appended by every new leader (Raft thesis §6.4);
 * `conf` carries an encoded ConfChange; `normal` carries an opaque state-machine command. */
export type EntryKind = 'normal' | 'noop' | 'conf';

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly kind: EntryKind;
  readonly data: Uint8Array;
}

/** The state Raft must sync to disk before answering any message that depends on it. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId | null;
  readonly commit: number;
}

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: null, commit: 0 };

/** Who takes part in the cluster. Voters count towards quorums; learners only replicate. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export interface SnapshotMeta {
  /** Index and term of the last entry the snapshot covers. */
  readonly index: number;
  readonly term: number;
  /** The configuration in force at `index`. */
  readonly conf: ConfState;
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  /** The state machine's serialized state; opaque to Raft. */
  readonly data: Uint8Array;
}

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/** Volatile state an application may want to observe (leader changes, role). */
export interface SoftState {
  readonly leader: NodeId | null;
  readonly role: Role;
}

/** A linearizable read may be served once the state machine has applied `index`. */
export interface ReadState {
  readonly index: number;
  readonly context: string;
}
