/**
 * The processes refused while another held a member's id (process-claims.ts), kept bounded: a
 * boot id comes from the sender, and one holding the member's certificate can draw a new one for
 * every message. An adversarial test did: the contenders grew without end (11k), and copying them
 * on every message made the receiver's work per message grow with them.
 *
 * A contender is proven a second process only once it has spoken for longer than `holdMs` with
 * no silence longer than `holdMs`, so:
 *  - one silent for longer than `holdMs` is forgotten: it could not be proven now, and if it
 *    speaks again its proof starts over (late messages of a crashed process, seconds apart, are
 *    not a process running);
 *  - a boot heard once is `fresh`, one heard again within `holdMs` is `steady`. A flood of boots
 *    used once each pushes out only the oldest fresh ones (first in, first out: O(1)), never a
 *    steady one, so a copy that speaks at every heartbeat is proven beside the flood as long as
 *    its second message comes before MAX_FRESH new boots do (256 a second against a copy heard
 *    once a second; the flood measured was about 280). Beyond that rate its proof waits for the
 *    flood to slow: it is still refused meanwhile, but a frozen holder's id goes to it after
 *    one hold, as before the proof. When the steady places are full, the youngest goes, so a
 *    copy that was steady before a flood of boots each sent twice keeps its place and is proven
 *    on time (an adversarial test delayed such a proof until the flood ended when the one
 *    silent longest went). A copy that starts during such a flood finds no place until it ends:
 *    no bounded table keeps one honest entry among unbounded forged ones, and a sender with the
 *    member's certificate can speak as it anyway. Only steady ones can be proven, so only they
 *    are looked at on the holder's messages.
 * All mutated in place: O(1) per contender's message, O(MAX_STEADY) per holder's.
 */

export interface Contender {
  readonly firstAt: number;
  lastAt: number;
  /** The highest Raft term it was heard speaking at; -1 when none (pings carry none). */
  term: number;
  /** The highest log index it was heard showing at `term` (process-claims.ts, `spokenAt`); -1 when none. */
  reach: number;
}

/** `c` heard speaking at `term`, showing `reach`: the highest term, and the highest reach at it. */
function speak(c: Contender, term: number, reach: number): void {
  if (term > c.term) [c.term, c.reach] = [term, reach];
  else if (term === c.term) c.reach = Math.max(c.reach, reach);
}

/** Boots heard once, kept oldest first; beyond it the oldest is forgotten. */
export const MAX_FRESH = 256;
/** Boots heard again within the hold; beyond it those silent for the hold, then the youngest, are forgotten. */
export const MAX_STEADY = 16;

/**
 * Whether a holder's message at `term`, showing log index `reach`, shows nothing contender `c`
 * had not reached already: then it may have been sent before `c` started, by the process `c`
 * restarted (a restart resumes at every term its old process spoke at, and holds what it had
 * written; process-claims.ts, `admitTo`), so it proves nothing. A message without a term (a
 * ping) or without an index, or a contender that showed neither, is not judged so.
 */
function mayBeOlder(term: number, reach: number, c: Contender): boolean {
  if (term < 0 || c.term < 0) return false;
  return term < c.term || (term === c.term && reach >= 0 && reach <= c.reach);
}

export class Contenders {
  private readonly fresh = new Map<string, Contender>();
  private readonly steady = new Map<string, Contender>();

  constructor(private readonly holdMs: number) {}

  get size(): number {
    return this.fresh.size + this.steady.size;
  }

  /**
   * `boot` was refused at `now`, speaking at Raft term `term` (-1: a message without one) and
   * showing log index `reach` at it (-1: none shown).
   */
  heard(boot: string, now: number, term = -1, reach = -1): void {
    const steady = this.steady.get(boot);
    if (steady !== undefined && now - steady.lastAt <= this.holdMs) {
      steady.lastAt = Math.max(steady.lastAt, now);
      speak(steady, term, reach);
      return;
    }
    const fresh = this.fresh.get(boot);
    this.steady.delete(boot);
    this.fresh.delete(boot);
    if (fresh !== undefined && now - fresh.lastAt <= this.holdMs) {
      const c = { ...fresh, lastAt: Math.max(fresh.lastAt, now) };
      speak(c, term, reach);
      this.promote(boot, c);
      return;
    }
    // New, or silent for longer than the hold: its proof starts over.
    if (this.fresh.size >= MAX_FRESH) this.forgetOldestFresh();
    this.fresh.set(boot, { firstAt: now, lastAt: now, term, reach });
  }

  /**
   * Whether a steady contender heard within the hold has spoken at a higher Raft term than
   * `term`: then the holder's message at `term` is older than that contender's, and shows
   * nothing about the holder running now (process-claims.ts, `admitTo`). O(MAX_STEADY).
   */
  aheadOf(term: number, now: number): boolean {
    for (const c of this.steady.values()) if (now - c.lastAt <= this.holdMs && c.term > term) return true;
    return false;
  }

  /**
   * The holder spoke at `now`, at Raft term `term` showing log index `reach` (-1: none shown):
   * removes and returns the contenders it is heard beside, more than `holdMs` after they first
   * spoke, unless what it said may be older than them (`mayBeOlder`); forgets those silent for
   * longer than the hold.
   */
  provenBeside(now: number, term = -1, reach = -1): string[] {
    const proven: string[] = [];
    for (const [boot, c] of this.steady) {
      if (now - c.lastAt > this.holdMs) this.steady.delete(boot);
      else if (now - c.firstAt > this.holdMs && !mayBeOlder(term, reach, c)) {
        this.steady.delete(boot);
        proven.push(boot);
      }
    }
    return proven;
  }

  clear(): void {
    this.fresh.clear();
    this.steady.clear();
  }

  private promote(boot: string, c: Contender): void {
    if (this.steady.size >= MAX_STEADY) {
      // Those silent for longer than the hold could not be proven now: they go first.
      for (const [b, s] of this.steady) if (c.lastAt - s.lastAt > this.holdMs) this.steady.delete(b);
    }
    if (this.steady.size >= MAX_STEADY) {
      // Then the youngest: the one that spoke first is closest to its proof. A flood of boots
      // each sent twice then only displaces its own (the one silent longest would be a copy
      // heard once a heartbeat, against boots heard a moment ago: an adversarial test did that).
      let youngest: string | null = null;
      let youngestAt = -Infinity;
      for (const [b, s] of this.steady) {
        if (s.firstAt > youngestAt) [youngest, youngestAt] = [b, s.firstAt];
      }
      if (youngest === null || youngestAt <= c.firstAt) return; // the newcomer is the youngest: it waits for a place
      this.steady.delete(youngest);
    }
    this.steady.set(boot, c);
  }

  /** A Map iterates in insertion order: the first key is the oldest fresh boot. */
  private forgetOldestFresh(): void {
    for (const boot of this.fresh.keys()) {
      this.fresh.delete(boot);
      return;
    }
  }
}
