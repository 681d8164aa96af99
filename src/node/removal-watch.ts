/**
 * How a controller learns it was removed: it applies the entry that removes it. Not at once,
 * though: a member removed and later added again (with an empty data dir) replays its old
 * removal while catching up, and the re-add follows within moments. So a removal of this node
 * starts a grace period, and only if this node is still not a member when it ends is it
 * removed for good: it logs that and the process exits with code 10 (docs/deploy.md's unit does
 * not restart on it).
 */
import type { Logger } from 'pino';
import type { ConfEntry } from '../raft/index.js';

export const REMOVED_EXIT_CODE = 10;

export interface RemovalWatchDeps {
  readonly self: string;
  /** Whether this node is in the configuration it has applied. */
  readonly isMember: () => boolean;
  readonly graceMs: number;
  readonly logger: Logger;
  readonly onRemoved: (reason: string) => void;
}

export class RemovalWatch {
  private timer: NodeJS.Timeout | null = null;
  private done = false;

  constructor(private readonly deps: RemovalWatchDeps) {}

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

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
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
    this.done = true;
    this.deps.logger.warn(
      { reason, exitCode: REMOVED_EXIT_CODE },
      `this controller (${this.deps.self}) was removed from the cluster: ${reason}; stopping for good (exit ${REMOVED_EXIT_CODE}). ` +
        'To bring it back: delete its data_dir, `ctl member add`, and start it with --join',
    );
    this.deps.onRemoved(reason);
  }
}
