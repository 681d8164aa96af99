/**
 * How a controller learns it was removed, and stops for good (exit code 10, which
 * docs/deploy.md's unit does not restart on):
 *
 * - It applies the entry that removes it. Not at once, though: a member removed and later
 *   added again (with an empty data dir) replays its old removal while catching up, and the
 *   re-add follows within moments. So a removal of this node starts a grace period, and only if
 *   this node is still not a member when it ends is it removed for good.
 * - Often it never applies it: the leader stops replicating to a member as soon as the removal
 *   commits, so the removed node may hold the entry without learning that it committed. It then
 *   loses its leader. A node that believes itself a member, holds entries it never saw
 *   committed, and has had no leader for `probeAfterMs` asks its peers (then less and less
 *   often); a peer that has
 *   applied this node's removal (and no later re-add) says so, and a committed removal is final.
 * - A peer refuses its messages as a removed member's (identity refusals): conclusive at once.
 */
import type { Logger } from 'pino';
import type { ConfEntry } from '../raft/index.js';
import { systemScheduler, type Timer } from '../util/clock.js';

export const REMOVED_EXIT_CODE = 10;

export interface RemovalWatchDeps {
  readonly self: string;
  /** Whether this node is in the configuration it has applied. */
  readonly isMember: () => boolean;
  readonly graceMs: number;
  /** How long since this node last heard from a leader (Infinity: never); 0 while it leads. */
  readonly leaderlessMs: () => number;
  /**
   * Whether its log holds entries it never saw committed: what a member holds whose removal
   * committed behind its back. A node of a new cluster, waiting for its first leader, does not.
   */
  readonly holdsUncommitted: () => boolean;
  /** Leaderless this long, the node asks its peers whether it was removed. */
  readonly probeAfterMs: number;
  /** Resolves with the id of a peer that has applied this node's removal, or null. */
  readonly askPeers: () => Promise<string | null>;
  readonly logger: Logger;
  readonly onRemoved: (reason: string) => void;
}

export class RemovalWatch {
  private timer: NodeJS.Timeout | null = null;
  private probe: Timer | null = null;
  private asking = false;
  private done = false;
  private backoff = 1;
  private skip = 0;

  constructor(private readonly deps: RemovalWatchDeps) {}

  start(): void {
    this.probe = systemScheduler.every(this.deps.probeAfterMs, () => this.maybeAskPeers());
  }

  private maybeAskPeers(): void {
    // Only a node that still believes itself a member can have missed its removal; a node that
    // has not yet been added (started with --join before `member add`) must not ask.
    if (this.done || this.asking || !this.deps.isMember() || !this.deps.holdsUncommitted()) return;
    if (this.deps.leaderlessMs() < this.deps.probeAfterMs) {
      this.backoff = 1;
      return;
    }
    // Asking costs every peer a call: ask again after 1, 2, 4, ... probe intervals (at most 16).
    this.skip -= 1;
    if (this.skip > 0) return;
    this.backoff = Math.min(16, this.backoff * 2);
    this.skip = this.backoff;
    this.asking = true;
    this.deps.askPeers().then(
      (peer) => {
        this.asking = false;
        if (peer !== null) this.conclude(`${peer} has applied its removal from the cluster`);
      },
      (err: unknown) => {
        this.asking = false;
        this.deps.logger.debug({ err }, 'could not ask peers about this node');
      },
    );
  }

  onConfApplied(change: ConfEntry): void {
    if (change.type === 'bootstrap' || change.node !== this.deps.self) return;
    if (change.type === 'remove') this.arm('it applied its own removal from the cluster');
    else if (this.timer !== null) {
      clearTimeout(this.timer); // added again: the removal was history
      this.timer = null;
    }
  }

  /** Peers refused this node as removed: conclusive, no grace needed. */
  refusedAsRemoved(by: string, details: string): void {
    this.conclude(`${by} refused it as a removed member (${details})`);
  }

  /** A removal of this node was applied and its grace period is running. */
  get pending(): boolean {
    return this.timer !== null;
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.probe?.cancel();
    this.timer = null;
    this.probe = null;
    this.done = true;
  }

  private arm(reason: string): void {
    if (this.timer !== null || this.done) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.deps.isMember()) this.conclude(reason);
    }, this.deps.graceMs);
    this.timer.unref();
  }

  private conclude(reason: string): void {
    if (this.done) return;
    this.stop();
    this.deps.logger.warn(
      { reason, exitCode: REMOVED_EXIT_CODE },
      `this controller (${this.deps.self}) was removed from the cluster: ${reason}; stopping for good (exit ${REMOVED_EXIT_CODE}). ` +
        'To bring it back: delete its data_dir, `ctl member add`, and start it with --join',
    );
    this.deps.onRemoved(reason);
  }
}
