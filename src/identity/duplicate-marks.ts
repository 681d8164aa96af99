/**
 * What this node saw of second processes speaking as a member (DUPLICATE_PROCESS,
 * src/identity/process-claims.ts), kept for the operator: the refusals alone go to the log, and
 * a copy that outlived its lock-out and took the id, or that held it first, otherwise looks like
 * the member itself in every status (an adversarial test found a crashed member shown online
 * by its copy's pings). Deterministic: time comes in.
 *
 * Only a *proven* second process marks a member: one heard beside the holder for longer than a
 * restart takes. A plain refusal proves nothing: a member restarted quickly speaks while its old
 * process's last messages are within the hold, is refused until then, and is then taken as the
 * restart it is (an adversarial test found such restarts marked for good). So a member is marked
 * for `windowMs` after a proven process was last proven or refused, and for as long as the
 * process it admits is one that was proven (a copy that took the id over after its lock-out).
 * Likewise this node counts a peer as refusing it as a second process only when the refusals
 * have gone on for longer than the hold: those of a restart stop within it.
 */

/** A member marked as spoken for by two processes, as this node saw it. */
export interface DuplicateMark {
  /** Since a proven second process was last heard (proven, or refused); null: not within the window. */
  readonly secondMsAgo: number | null;
  /** The process this node admits for it now was once proven a second process: it may be the copy. */
  readonly holderWasProven: boolean;
}

interface MemberMarks {
  /** The process last admitted; '' before any. */
  holder: string;
  holderWasProven: boolean;
  /** Processes proven second ones, newest last (bounded). */
  readonly proven: string[];
  lastProvenAt: number | null;
}

/** A run of refusals from one peer: when it began and when the last came. */
interface Refusals {
  readonly firstAt: number;
  readonly lastAt: number;
}

/** Proven processes remembered per member; beyond it the oldest is forgotten. */
const MAX_PROVEN = 16;

export class DuplicateMarks {
  private readonly members = new Map<string, MemberMarks>();
  /** Peers that refused this node as a second process of itself. */
  private readonly refusers = new Map<string, Refusals>();

  /**
   * @param windowMs how long a member stays marked after a proven second process was last heard
   * @param holdMs the process hold: refusals longer than it are no restart's; a run of them ends
   *   after a silence this long
   */
  constructor(
    private readonly windowMs: number,
    private readonly holdMs: number,
  ) {}

  private of(member: string): MemberMarks {
    let m = this.members.get(member);
    if (m === undefined) {
      m = { holder: '', holderWasProven: false, proven: [], lastProvenAt: null };
      this.members.set(member, m);
    }
    return m;
  }

  /** A message from `member`'s process `boot` was admitted (true) or refused as a second process (false). */
  note(member: string, boot: string, admitted: boolean, now: number): void {
    // An older version stamps no process: nothing to tell apart.
    if (boot === '') return;
    const m = this.members.get(member);
    if (!admitted) {
      if (m?.proven.includes(boot) === true) m.lastProvenAt = now;
      return;
    }
    if (m === undefined) {
      this.of(member).holder = boot;
    } else if (m.holder !== boot) {
      m.holder = boot;
      m.holderWasProven = m.proven.includes(boot);
    }
  }

  /** `boot` was proven a second process of `member` (heard beside its holder past the hold). */
  proven(member: string, boot: string, now: number): void {
    const m = this.of(member);
    if (!m.proven.includes(boot)) {
      m.proven.push(boot);
      if (m.proven.length > MAX_PROVEN) m.proven.shift();
    }
    m.lastProvenAt = now;
  }

  /** The mark on `member`, or null when this node has nothing to say. */
  mark(member: string, now: number): DuplicateMark | null {
    const m = this.members.get(member);
    if (m === undefined) return null;
    const ago = m.lastProvenAt === null ? null : Math.max(0, now - m.lastProvenAt);
    const secondMsAgo = ago !== null && ago <= this.windowMs ? ago : null;
    if (secondMsAgo === null && !m.holderWasProven) return null;
    return { secondMsAgo, holderWasProven: m.holderWasProven };
  }

  /** `peer` refused this node's message as from a second process of this node's member. */
  refusedBy(peer: string, now: number): void {
    const run = this.refusers.get(peer);
    this.refusers.set(peer, run === undefined || now - run.lastAt > this.holdMs ? { firstAt: now, lastAt: now } : { firstAt: run.firstAt, lastAt: now });
  }

  /** The peers refusing this node as a second process for longer than a restart is, refused within the last two holds, in id order. */
  refusingPeers(now: number): string[] {
    return [...this.refusers]
      .filter(([, r]) => now - r.lastAt <= 2 * this.holdMs && r.lastAt - r.firstAt > this.holdMs)
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
    ...(mark.holderWasProven ? ['the process heard now took the id over after it was proven a second process'] : []),
    ...(mark.secondMsAgo !== null ? [`a second process was heard beside it ${Math.round(mark.secondMsAgo)}ms ago`] : []),
  ];
  return `DUPLICATE_PROCESS: two processes speak as ${member} (${how.join(', ')}); the one shown may be a copy of its data dir`;
}

/** Why `self` is not heard, when `peers` refuse it as a second process of itself; '' when none do. */
export function describeRefusedAsDuplicate(self: string, peers: readonly string[]): string {
  if (peers.length === 0) return '';
  return `${peers.join(', ')} refuse${peers.length === 1 ? 's' : ''} it as DUPLICATE_PROCESS: another process speaks as ${self} (docs/operate.md, DUPLICATE_PROCESS)`;
}
