/**
 * The leader's view of one follower (etcd's tracker/progress).
 *
 *  probe:     we don't know where the follower's log matches ours. Send one append at a
 *             time and wait for its answer (or the next heartbeat) before sending another.
 *  replicate: the follower is keeping up. Send optimistically, up to `Inflights.capacity`
 *             messages ahead of its acknowledgements (pipelining).
 *  snapshot:  the follower needs entries we have compacted; a snapshot is on its way and
 *             nothing else is sent until it is acknowledged or reported failed.
 */
import { Inflights } from './inflights.js';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** In probe state: an append was sent and is unanswered. */
  probeSent = false;
  /**
   * In probe state: a re-probe went out empty, its entries over REPROBE_MAX_BYTES (raft.ts), so
   * its accept comes at the match: the one accept there that moves the follower to replicate.
   */
  emptyReprobeSent = false;
  /** In snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  readonly inflights: Inflights;

  constructor(next: number, maxInflight: number, readonly isLearner: boolean) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.emptyReprobeSent = false;
    this.pendingSnapshot = 0;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot, resume right after it: the follower has at least that much.
    const after = this.state === 'snapshot' ? Math.max(this.match + 1, this.pendingSnapshot + 1) : this.match + 1;
    this.resetState('probe');
    this.next = after;
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(index: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = index;
  }

  /** An acknowledgement up to n. Returns true if match moved. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /** Pipelining: assume the append carrying entries up to n will succeed. */
  optimisticUpdate(n: number): void {
    this.next = n + 1;
  }

  /**
   * A rejection of the append whose prevIndex was `rejected`. `probeHint` is where the
   * follower's log may match. Returns false when the rejection is stale (out of order).
   */
  maybeDecrTo(rejected: number, probeHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, probeHint + 1), 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }
}
