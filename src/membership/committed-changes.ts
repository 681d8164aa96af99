/**
 * When this node saw each member's committed status take its current value (its own clock).
 * A leader commits a status from a quorum's views newer than the ones a follower held before
 * it applied the change, so a repair that would overturn that status may count only views
 * received after it (`MembershipEngine.sync`). Seen on every engine call that reads the
 * context, so the time is at most one tick late, which only delays a repair.
 */
import type { MemberStatus, NodeId } from './types.js';

export class CommittedChanges {
  private readonly seen = new Map<NodeId, { readonly status: MemberStatus | null; readonly at: number }>();

  /** Takes the members' committed statuses as they are now. */
  note(members: readonly { readonly id: NodeId; readonly committed: MemberStatus | null }[], now: number): void {
    const present = new Set<NodeId>();
    for (const m of members) {
      present.add(m.id);
      const before = this.seen.get(m.id);
      // The first status seen for a member was applied before this node could hold any view.
      if (before === undefined) this.seen.set(m.id, { status: m.committed, at: Number.NEGATIVE_INFINITY });
      else if (before.status !== m.committed) this.seen.set(m.id, { status: m.committed, at: now });
    }
    for (const id of [...this.seen.keys()]) if (!present.has(id)) this.seen.delete(id);
  }

  /** When the member's committed status took its current value here; -Infinity for the first one seen, null before any. */
  since(id: NodeId): number | null {
    return this.seen.get(id)?.at ?? null;
  }
}
