/**
 * A hard state that moved only the commit index needs no write of its own: the commit index
 * needs no durability (a restarted node learns it again from the leader; hashicorp/raft never
 * stores it), so it rides on the storage's next write. LevelRaftStorage and the simulation's
 * storage both decide with this, so the two cannot drift apart.
 */
import type { StorageUpdate } from '../node/raft-ports.js';
import type { HardState } from '../raft/types.js';

export class DeferredCommit {
  private held: HardState | null = null;

  /** Holds `u`'s hard state when that is all `u` carries and it need not be synced; true if it did. */
  hold(u: StorageUpdate, sync: boolean): boolean {
    if (sync || u.hardState === null || u.entries.length > 0 || u.snapshot !== null) return false;
    this.held = u.hardState;
    return true;
  }

  get holding(): boolean {
    return this.held !== null;
  }

  /** The hard state the next write carries: `hs`, or else the one held. Nothing is held after. */
  take(hs: HardState | null = null): HardState | null {
    const value = hs ?? this.held;
    this.held = null;
    return value;
  }
}
