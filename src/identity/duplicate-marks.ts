/**
 * What this node saw of second processes speaking as a member (DUPLICATE_PROCESS,
 * src/identity/process-claims.ts), kept for the operator: the refusals alone go to the log, and
 * a copy that outlived its lock-out and took the id, or that held it first, otherwise looks like
 * the member itself in every status (an adversarial test found a crashed member shown online
 * by its copy's pings). Deterministic: time comes in.
 *
 * A member is marked while this node refuses a second process for it (and for `windowMs` after
 * the last refusal: the copy may be stopped, or merely partitioned), and for as long as the
 * process it admits for the member is one it once refused: that process took the id over from
 * the one it was refused beside, and may well be the copy. Also kept: which peers refuse this
 * node as a second process of itself, so that being cut off from them is explained.
 */

/** A member marked as spoken for by two processes, as this node saw it. */
export interface DuplicateMark {
  /** Since this node last refused a second process for it; null: not within the window. */
  readonly refusedMsAgo: number | null;
  /** The process this node admits for it now was once refused beside another: it may be the copy. */
  readonly holderWasRefused: boolean;
}

interface MemberMarks {
  /** The process last admitted; '' before any. */
  readonly holder: string;
  readonly holderWasRefused: boolean;
  /** The processes refused, newest last (bounded). */
  readonly refused: readonly string[];
  readonly lastRefusedAt: number | null;
}

/** Refused processes remembered per member; beyond it the oldest is forgotten. */
const MAX_REFUSED = 16;

const EMPTY: MemberMarks = { holder: '', holderWasRefused: false, refused: [], lastRefusedAt: null };

export class DuplicateMarks {
  private readonly members = new Map<string, MemberMarks>();
  /** Peers that refused this node as a second process of itself, and when they last did. */
  private readonly refusers = new Map<string, number>();

  /**
   * @param windowMs how long a member stays marked after its last refused second process
   * @param refuserWindowMs how long a peer's refusal of this node counts as current
   */
  constructor(
    private readonly windowMs: number,
    private readonly refuserWindowMs: number,
  ) {}

  /** A message from `member`'s process `boot` was admitted (true) or refused as a second process (false). */
  note(member: string, boot: string, admitted: boolean, now: number): void {
    // An older version stamps no process: nothing to tell apart.
    if (boot === '') return;
    const m = this.members.get(member) ?? EMPTY;
    if (!admitted) {
      const refused = m.refused.includes(boot) ? m.refused : [...m.refused, boot].slice(-MAX_REFUSED);
      this.members.set(member, { ...m, refused, lastRefusedAt: now });
    } else if (m.holder !== boot) {
      this.members.set(member, { ...m, holder: boot, holderWasRefused: m.refused.includes(boot) });
    }
  }

  /** The mark on `member`, or null when this node has nothing to say. */
  mark(member: string, now: number): DuplicateMark | null {
    const m = this.members.get(member);
    if (m === undefined) return null;
    const ago = m.lastRefusedAt === null ? null : Math.max(0, now - m.lastRefusedAt);
    const refusedMsAgo = ago !== null && ago <= this.windowMs ? ago : null;
    if (refusedMsAgo === null && !m.holderWasRefused) return null;
    return { refusedMsAgo, holderWasRefused: m.holderWasRefused };
  }

  /** `peer` refused this node's message as from a second process of this node's member. */
  refusedBy(peer: string, now: number): void {
    this.refusers.set(peer, now);
  }

  /** The peers that refused this node as a second process within the window, in id order. */
  refusingPeers(now: number): string[] {
    return [...this.refusers]
      .filter(([, at]) => now - at <= this.refuserWindowMs)
      .map(([peer]) => peer)
      .sort();
  }

  /** Forgets members (and peers) `keep` says no longer are: a removed id may be re-added afresh. */
  retain(keep: (id: string) => boolean): void {
    for (const id of this.members.keys()) if (!keep(id)) this.members.delete(id);
    for (const id of this.refusers.keys()) if (!keep(id)) this.refusers.delete(id);
  }
}

/** The operator-facing words for a mark: the code, what it means, what the member shown may be. */
export function describeDuplicate(member: string, mark: DuplicateMark): string {
  // The takeover first: it says the member heard now may be the copy, however long ago.
  const how = [
    ...(mark.holderWasRefused ? ['the process heard now took the id over from one it was refused beside'] : []),
    ...(mark.refusedMsAgo !== null ? [`a second process was refused ${Math.round(mark.refusedMsAgo)}ms ago`] : []),
  ];
  return `DUPLICATE_PROCESS: two processes speak as ${member} (${how.join(', ')}); the one shown may be a copy of its data dir`;
}

/** Why `self` is not heard, when `peers` refuse it as a second process of itself; '' when none do. */
export function describeRefusedAsDuplicate(self: string, peers: readonly string[]): string {
  if (peers.length === 0) return '';
  return `${peers.join(', ')} refuse${peers.length === 1 ? 's' : ''} it as DUPLICATE_PROCESS: another process speaks as ${self} (docs/operate.md, DUPLICATE_PROCESS)`;
}
