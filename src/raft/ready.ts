/**
 * Ready: one bundle of work the core hands to its driver (etcd's rawnode design).
 *
 * Ordering rules, which the driver must follow for Raft to be safe (src/node/raft-host.ts does;
 * the seeded simulation in test/sim/ runs it and checks them, with bugs planted to show it):
 *  1. Persist `snapshot` (if any), then `entries`, then `hardState`, in one synced write.
 *     Term, vote and entries must be durable before any message in `messages` is sent:
 *     a vote or an append acknowledgement promises that they survive a crash.
 *  2. Only then send `messages`. One exception: a leader whose term and vote are already
 *     durable (this Ready does not change them) may send them before or while it persists
 *     (thesis §10.2.1): its own append acknowledgement is internal. That is safe only if the
 *     driver takes the next Ready after this Ready's write is durable: the core already counts
 *     the leader's entries towards commit, and a commit covering them must not be applied,
 *     answered or sent before they are on the leader's disk. (The core caps the commit its
 *     messages carry at the leader's written log itself: a lone voter's covers its new entries
 *     at once, and its learners must not apply them yet.) (A node that wins an election in
 *     the same Ready as its new term, a single voter, must persist that term first.)
 *  3. Apply `snapshot` to the state machine, then apply `committedEntries` in order, each conf
 *     entry through RawNode.applyConfChange, which switches the core to the new configuration
 *     and reports it. (Committed entries are durable on a quorum, given rule 2's condition for
 *     a leader, so applying them does not wait on step 1 for safety; doing it after keeps the
 *     driver simple.) A Ready with no entries, snapshot, term or vote (only the commit index
 *     moved) need not wait for its write at all.
 *  4. Serve each ReadState once the state machine has applied its index.
 *  5. Call `advance(ready)`.
 */
import type { Message } from './messages.js';
import type { Entry, HardState, ReadState, Snapshot, SoftState } from './types.js';

export interface Ready {
  /** Present when leader or role changed since the last Ready. */
  readonly softState: SoftState | null;
  /** Present when term, vote or commit changed: persist it. */
  readonly hardState: HardState | null;
  /** Entries to append to stable storage; may overwrite a conflicting suffix. */
  readonly entries: readonly Entry[];
  /** A snapshot received from the leader, to persist and restore. */
  readonly snapshot: Snapshot | null;
  /** Entries committed by a quorum, to apply to the state machine in order. */
  readonly committedEntries: readonly Entry[];
  /** Messages to send, after persistence. */
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
  /** False when only commit moved: the write need not be fsynced (thesis §10.2.1). */
  readonly mustSync: boolean;
}

export function isEmptyReady(rd: Ready): boolean {
  return (
    rd.softState === null &&
    rd.hardState === null &&
    rd.entries.length === 0 &&
    rd.snapshot === null &&
    rd.committedEntries.length === 0 &&
    rd.messages.length === 0 &&
    rd.readStates.length === 0
  );
}
