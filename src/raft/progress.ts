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
    // A refusal at the match, with the probe there already out: the follower acknowledged our
    // log up to it, so this is an overtaken append's answer (the probe's own comes), or says the
    // follower lost entries it acknowledged (a data dir restored from a backup). Re-sending the
    // same probe at once helps neither, and in the second case each refusal brought another:
    // an endless exchange of appends of up to max_message_bytes, while the leader's commit
    // index stays within the follower's log (so no heartbeat stops it with ENTRIES_LOST). The
    // next heartbeat's answer probes again (step-leader.ts), as for any unanswered probe.
    if (rejected === this.match && this.probeSent) return false;
    // Never below the match: the follower acknowledged our log up to it, so a rejection there
    // is an old append's, overtaken by a later one's accept (etcd bounds it so too). Lowered to
    // the hint, a probe re-sent entries the follower holds, and its accept, at or below the
    // match, moved nothing: the progress stayed in probe until a heartbeat's answer re-probed.
    this.next = Math.max(Math.min(rejected, probeHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /**
   * In probe state, an accept at the match while the probe is for the entry after it: the
   * follower holds our log up to the match, which is all a probe's own accept would say, and
   * replicate starts where the probe is. Any such accept does (the answer to an append the
   * follower already held, a duplicate, or a re-probe sent empty, its first entry over
   * REPROBE_MAX_BYTES), not only the probe's own: on a network that reorders, each fall from
   * replicate to probe otherwise waited a whole round trip for it while those answers came
   * and were dropped. etcd takes any accept at the match so; with `next` further on (after a
   * snapshot, or lowered to a hint) replicating from the match would move `next` back, so not there.
   */
  acceptedAtMatch(n: number): boolean {
    return this.state === 'probe' && n === this.match && this.next === this.match + 1;
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
