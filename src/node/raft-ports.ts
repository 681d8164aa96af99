/**
 * What RaftHost is given from outside (hashicorp/raft's seams, without its goroutine loops):
 * durable storage for the log and the hard state, the replicated state machine, and a way to
 * send messages. Time comes through a Scheduler (src/util/clock.ts). Production composes
 * LevelRaftStorage, StateMachine and the gRPC transport (src/node/controller-node.ts); the
 * simulations compose an in-memory disk that loses unsynced writes on a crash, a small KV
 * state machine and a simulated network (test/sim/).
 */
import type { Entry, Message, Snapshot, HardState } from '../raft/index.js';
import type { ApplyResult } from '../statemachine/index.js';
import type { Completion } from '../util/completion.js';

/** One Ready's writes, carried out in this order: snapshot, entries, hard state. */
export interface StorageUpdate {
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | null;
}

/**
 * hashicorp/raft keeps the log (LogStore) and term and vote (StableStore) in two stores. Here
 * they are one port, because a Ready's entries and its hard state must land in one atomic
 * write (src/raft/ready.ts, rule 1): a vote or an acknowledgement promises both at once.
 *
 * Writes are carried out in call order, also when the caller does not wait for one before
 * issuing the next; after one write fails, every later one fails too.
 */
export interface RaftStorage {
  /** Completes once the write is done, and on disk if `sync`. An unsynced update that holds
   * only a hard state (only the commit index moved) may wait to be written with the next one;
   * a synced update of nothing writes such a held hard state, and when none is held it
   * completes once every earlier write has, failing if one of them failed (RaftHost waits on it
   * before applying a membership change: the commit index covering it may ride on a local
   * snapshot's write still in flight). */
  save(update: StorageUpdate, sync: boolean): Completion<void>;
  /** A snapshot the local state machine took, then the log compacted up to `compactTo`. Synced. */
  saveLocalSnapshot(snapshot: Snapshot, compactTo: number): Completion<void>;
}

/**
 * hashicorp/raft's FSM: apply, snapshot, restore. Deterministic: the same entries in the same
 * order give the same results and the same snapshot bytes on every node.
 */
export interface ReplicatedStateMachine {
  /** Index of the last entry applied (or advanced over). */
  readonly appliedIndex: number;
  /** The global revision the state machine is at, for results of entries without a command. */
  revision(): number;
  /**
   * Applies the command `data` of committed entry `entry` (`data` is the entry's own data for
   * a command, or the membership command RaftHost derives from a conf entry).
   */
  apply(index: number, data: Uint8Array, entry: Entry): ApplyResult;
  /** Moves past committed entry `entry`, which carries no command (a leader's no-op). */
  advance(index: number, entry: Entry): void;
  /**
   * Captures the state as it is now, cheaply, and returns a job that serializes it a piece at a
   * time: entries applied while the job runs do not show in it (hashicorp/raft's FSM.Snapshot
   * and FSMSnapshot.Persist). A state of 70 MB took 1.1-1.9 s to serialize in one go, long
   * enough for a leader to lose its term; in pieces the loop serves Raft between them.
   */
  startSnapshot(): SnapshotJob;
  /** The whole snapshot at once (offline tools, tests): a job run to its end. */
  snapshot(): Uint8Array;
  /** Replaces the whole state with a snapshot's data; zero bytes is the empty initial state. */
  restore(data: Uint8Array): void;
}

/** A snapshot of the state at one applied index, serialized in steps by its caller. */
export interface SnapshotJob {
  /** The applied index the snapshot is of. */
  readonly index: number;
  /** The global revision at that index. */
  readonly revision: number;
  /**
   * Serializes about `budget` more UTF-16 units (at least one piece); true once the snapshot is
   * complete. Throws when the state cannot be serialized (too large for one buffer).
   */
  step(budget: number): boolean;
  /** The snapshot's bytes; only after `step` returned true. */
  bytes(): Uint8Array;
}

/**
 * When a transport should write messages: `now`, or `after-answers`, for messages no one
 * waits on (a leader's commit notices), which may go after what this turn answers to clients.
 * A transport may ignore it: either way the messages are sent, in order per peer.
 */
export type SendUrgency = 'now' | 'after-answers';

/** Hands messages to the transport; never blocks and never throws for an unreachable peer. */
export type SendMessages = (msgs: readonly Message[], urgency: SendUrgency) => void;
