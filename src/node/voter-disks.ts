/**
 * The leader asks every other voter for its data dir's free disk and its own
 * `controller.min_free_disk_bytes` (the members' resources RPC, which every version answers),
 * so that DiskFloor refuses a write that would fill a follower's disk, not only its own. A voter
 * that does not answer keeps its last reading until it ages out (disk-floor.ts): it is offline,
 * and a write it misses does not fill its disk.
 *
 * A voter of this version says its disk on every pong to the leader's membership pings
 * (PeerDisk, twice a second at the default interval): the leader takes that reading and does not
 * ask it. The call was a unary RPC per voter every 2 s, about 0.9 ms of CPU on the two sides
 * together, the largest single item of an idle leader's own duties. A voter whose pongs say
 * nothing (an older member) is asked as before.
 */
import type { DiskReading } from '../resources/wire.js';
import type { DiskFloor } from '../api/disk-floor.js';

/** How often the leader asks; a follower's disk fills at most this long unnoticed. */
export const VOTER_DISK_ASK_EVERY_MS = 2_000;

export interface VoterDisksDeps {
  readonly self: string;
  /** The voters of the Raft configuration with the address the cluster dials, while this node leads; null when it does not. */
  readonly votersIfLeading: () => readonly { readonly id: string; readonly address: string }[] | null;
  readonly ask: (member: { readonly id: string; readonly address: string }) => Promise<DiskReading>;
  readonly floor: Pick<DiskFloor, 'observeVoter' | 'retainVoters'>;
  /** Monotonic ms. */
  readonly now: () => number;
}

export class VoterDisks {
  /** Voters asked and not yet answered: a slow one is not asked again on top. */
  private readonly asking = new Set<string>();
  /** When each voter's pong last carried its disk (heard): within a round's period, it is not asked. */
  private readonly heardAt = new Map<string, number>();

  constructor(private readonly deps: VoterDisksDeps) {}

  /**
   * Leadership moved: a node that now leads asks at once, rather than judging only its own disk
   * until its first round (up to VOTER_DISK_ASK_EVERY_MS of writes unjudged for the others).
   */
  leaderChanged(to: string | null): void {
    if (to === this.deps.self) this.round();
  }

  /** A voter's pong carried its disk: taken while this node leads with it as a voter. */
  heard(id: string, disk: DiskReading): void {
    if (id === this.deps.self || this.deps.votersIfLeading()?.some((v) => v.id === id) !== true) return;
    this.deps.floor.observeVoter(id, disk.freeBytes, disk.floorBytes);
    this.heardAt.set(id, this.deps.now());
  }

  /**
   * One round: asks each other voter once (no answer within the RPC's deadline: its reading ages),
   * except those whose pongs carried their disk since the last round.
   */
  round(): void {
    const voters = this.deps.votersIfLeading();
    const others = (voters ?? []).filter((v) => v.id !== this.deps.self);
    const ids = new Set(others.map((v) => v.id));
    this.deps.floor.retainVoters(ids);
    for (const id of this.heardAt.keys()) if (!ids.has(id)) this.heardAt.delete(id);
    const now = this.deps.now();
    for (const voter of others) {
      if (now - (this.heardAt.get(voter.id) ?? -Infinity) < VOTER_DISK_ASK_EVERY_MS) continue;
      if (this.asking.has(voter.id)) continue;
      this.asking.add(voter.id);
      this.deps.ask(voter).then(
        (disk) => {
          this.asking.delete(voter.id);
          // Still leading with it as a voter: an answer arriving after a step down is not kept.
          if (this.deps.votersIfLeading()?.some((v) => v.id === voter.id) === true) this.deps.floor.observeVoter(voter.id, disk.freeBytes, disk.floorBytes);
        },
        () => this.asking.delete(voter.id),
      );
    }
  }
}
