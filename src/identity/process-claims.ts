/**
 * One process per member. A member's data dir copied and started a second time (another host
 * behind the same address, or the same address with another `listen`) carries the same member
 * id and incarnation, so no other identity check tells the two apart. Both were counted: an
 * adversarial test froze the real member and its copy's pings kept it shown online, and each
 * held its own vote for the id, so Raft's one vote per term no longer held for it.
 *
 * So each process draws a boot id when it starts and stamps it on every envelope, and a
 * receiver admits one boot id per member's data dir (incarnation) at a time. Another is refused
 * (DUPLICATE_PROCESS):
 *  - while the one it holds is heard: if the held one speaks beside the other (both heard within
 *    `holdMs`) `holdMs` after the other was first refused, and says something the other had not
 *    reached (a later term or log index, or a ping: contenders.ts, `mayBeOlder`), the other is
 *    a second process, proven, and refused until the held one has
 *    been silent for PROVEN_HOLDS x `holdMs` (freezing the first must not hand the id to the
 *    copy at once; and if the proof was wrong, a member is not shut out for ever);
 *  - until then, if the held one falls silent for `holdMs`, the other is its restart: taken.
 * Every boot id and incarnation comes from the sender: what is kept of them is bounded
 * (MAX_DATA_DIRS, contenders.ts), and updated in place, O(1) per message.
 * Deterministic: time comes in.
 */
import type { Message } from '../raft/messages.js';
import { Contenders } from './contenders.js';
import type { Refusal } from './refusal.js';

/** One data dir's claim: the process holding it, and those refused meanwhile. Mutated in place. */
interface Claim {
  boot: string;
  lastAt: number;
  /**
   * Other processes refused while it held the id: a second process is one the holder is heard
   * beside, while it speaks (heard within `holdMs`) and more than `holdMs` after it first spoke.
   * Less proves nothing: what a crashed process sent before its restart may arrive after the
   * restart's first message, even seconds later, after a partition. Bounded (contenders.ts).
   */
  readonly contenders: Contenders;
  /** Proven second processes, oldest first; outlives a change of holder. */
  proven: string[];
}

/** Proven second processes remembered per data dir; beyond it the oldest is forgotten. */
const MAX_PROVEN = 16;

/**
 * Data dirs (incarnations) claimed per member. The incarnation comes from the envelope, and only
 * responses and pings are checked against the recorded one (acceptance.ts, rule 2): a sender
 * holding the member's certificate could name a new one on every request. Two are legitimate (a
 * rebuilt member beside its old process); beyond this, a data dir whose claim is void (see
 * `expired`) is forgotten, and when none is, the new one is refused: forgetting a live claim
 * would let whoever speaks next on it take the id.
 */
export const MAX_DATA_DIRS = 4;

/**
 * Holds of the first process's silence before a proven second one is taken. A proof can be
 * wrong: what a crashed process sent may arrive late, after a partition, beside its restart's.
 */
export const PROVEN_HOLDS = 30;

/**
 * What admitting a message changed: `replaced`, the process this one took the member's id over
 * from; `proven`, the processes this message proved to be second processes; `setAside`, the
 * holder's message was behind a contender's term and counted for nothing (`admitTo`), which a
 * count can report (the simulation asserts its schedules still reach this: lost-disk.test.ts).
 */
export type ClaimOutcome =
  | { readonly refusal: Refusal }
  | { readonly refusal: null; readonly replaced: string | null; readonly proven: readonly string[]; readonly setAside: boolean };

const ADMITTED: ClaimOutcome = { refusal: null, replaced: null, proven: [], setAside: false };
const SET_ASIDE: ClaimOutcome = { refusal: null, replaced: null, proven: [], setAside: true };

/** Where a sender stood when it sent a batch (`spokenAt`). */
export interface Spoken {
  /** Its Raft term; undefined when no message of the batch says it (granted pre-votes' answers alone). */
  readonly term: number | undefined;
  /** The highest log index the batch shows it holding or knowing committed at `term`; -1 for none. */
  readonly reach: number;
  /**
   * Some message at `term` shows no index (a heartbeat's answer): judged alone it would prove a
   * contender the holder is heard beside (contenders.ts, `mayBeOlder`), and a batch proves what
   * any of its messages would.
   */
  readonly bare: boolean;
  /**
   * The highest term it may have been at: `term`, or more where a granted pre-vote's answer
   * says only that its term was not above the candidate's campaign term.
   */
  readonly atMost: number;
}

/**
 * The highest Raft term the sender of `messages` was at when it sent them, and the highest log
 * index they show at it; undefined for no message. A pre-vote carries the term the campaign
 * would take, one above the sender's own, which it does not write down. A granted pre-vote's
 * answer carries the candidate's campaign term, which says only that its sender's is not above
 * it, and may be below it by any amount (raft.ts, `step` and `handleVoteRequest`: granted at
 * that term with no vote and no leader, or at any lower one): it bounds the sender's term
 * (`atMost`) but says none. Read as one below the candidate's, a copy granting the pre-vote of
 * a candidate terms ahead was taken to be ahead of every message of the member's own process,
 * which were then set aside: the id fell to the copy after one hold (test/identity/spoken-at.test.ts). Every
 * other message carries the sender's term, on its disk before the message left.
 */
export function spokenAt(messages: readonly Message[]): Spoken | undefined {
  if (messages.length === 0) return undefined;
  let term: number | undefined;
  let reach = -1;
  let bare = false;
  let atMost = -1;
  for (const m of messages) {
    if (m.type === 'PreVoteResp' && !m.reject) {
      atMost = Math.max(atMost, m.term);
      continue;
    }
    const own = m.type === 'PreVote' ? m.term - 1 : m.term;
    const shows = reachOf(m);
    atMost = Math.max(atMost, own);
    if (term === undefined || own > term) [term, reach, bare] = [own, shows, shows < 0];
    else if (own === term) [reach, bare] = [Math.max(reach, shows), bare || shows < 0];
  }
  return { term, reach, bare, atMost };
}

/**
 * The highest log index `m` shows its sender holding (the last entry of a candidate's log, of
 * what a leader sends, of what a follower matches or hints at) or knowing committed; -1 for none.
 */
function reachOf(m: Message): number {
  switch (m.type) {
    case 'PreVote':
    case 'Vote':
      return m.lastLogIndex;
    case 'Append':
      return Math.max(m.prevIndex + m.entries.length, m.commit);
    case 'Heartbeat':
      return m.commit;
    case 'AppendResp':
      return m.reject ? m.rejectHint : m.index;
    case 'InstallSnapshot':
      return m.snapshot.meta.index;
    case 'ReadIndexResp':
      return m.reject ? -1 : m.index;
    case 'PreVoteResp':
    case 'VoteResp':
    case 'HeartbeatResp':
    case 'TimeoutNow':
    case 'ReadIndex':
      return -1;
  }
}

/** A sender's term (undefined: none said), the log index it shows at it, and whether some message there shows none. */
interface Stance {
  readonly term: number | undefined;
  readonly reach: number;
  readonly bare: boolean;
}

export class ProcessClaims {
  /** Member id, then incarnation. Members are bounded: the identity rules refuse unknown ones first. */
  private readonly claims = new Map<string, Map<string, Claim>>();

  constructor(private readonly holdMs: number) {}

  /**
   * A message from `member`'s data dir `incarnation`, stamped with `boot` (16 hex digits, checked
   * by the identity rules, or '' from an older version: not judged), at `now`. Claims are per
   * data dir: processes of another incarnation (a member rebuilt while its old process still
   * runs) are the identity rules' to judge. `term`: the Raft term the sender speaks at in the
   * message (`spokenAt`); undefined for what carries none (a ping). `reach`: the highest log
   * index the message shows at `term` (`spokenAt`); undefined or -1 for none. `bare`: some
   * message at `term` shows none (`Spoken.bare`): from the holder, the batch is judged as one
   * showing none; a contender's index is kept all the same. `atMost`: the highest term the
   * sender may have been at (`Spoken.atMost`), above `term` or where it is undefined: the
   * holder's is judged at it (whether its message is behind a contender's term needs a term
   * it cannot be above), a contender's never (being ahead of the holder needs a term it was at).
   *
   * '' stays admitted: a rolling upgrade runs 0.2.x members, which send no boot id, beside 0.3
   * ones until the last is upgraded (cluster-version-keeper.ts), and refusing them would cut them
   * off mid-upgrade. It lets a sender holding the member's certificate skip this check, but such
   * a sender can speak as the member anyway; what this check stops is a copied data dir, and a
   * copy run by 0.3 software always sends its boot id. Once the cluster version says no 0.2.x
   * member is left, NodeIdentity refuses '' before it gets here.
   */
  admit(member: string, incarnation: string, boot: string, now: number, term?: number, reach?: number, bare = false, atMost?: number): ClaimOutcome {
    if (boot === '') return ADMITTED;
    let dirs = this.claims.get(member);
    if (dirs === undefined) {
      dirs = new Map();
      this.claims.set(member, dirs);
    }
    const claim = dirs.get(incarnation);
    if (claim !== undefined) {
      const above = atMost !== undefined && (term === undefined || atMost > term);
      return this.admitTo(claim, member, boot, now, { term, reach: reach ?? -1, bare }, above ? { term: atMost, reach: -1, bare: true } : { term, reach: reach ?? -1, bare });
    }
    if (dirs.size >= MAX_DATA_DIRS && !this.forgetExpired(dirs, now)) {
      return this.refuse(member, boot, `${MAX_DATA_DIRS} data dirs of ${member} hold a claim still (heard within the hold, or with a process proven a second one) and incarnation ${incarnation} speaks too`);
    }
    dirs.set(incarnation, { boot, lastAt: now, contenders: new Contenders(this.holdMs), proven: [] });
    return ADMITTED;
  }

  /** `said`: where the sender stood, as a contender is judged; `asHolder`: at the highest term it may have been at. */
  private admitTo(claim: Claim, member: string, boot: string, now: number, said: Stance, asHolder: Stance): ClaimOutcome {
    const silentMs = now - claim.lastAt;
    if (claim.proven.includes(boot)) {
      if (silentMs <= PROVEN_HOLDS * this.holdMs) {
        return this.refuse(
          member,
          boot,
          `process ${boot} spoke as ${member} while process ${claim.boot} was heard, and is refused until that one has been silent for ${PROVEN_HOLDS * this.holdMs}ms`,
        );
      }
      claim.proven = claim.proven.filter((b) => b !== boot);
    }
    if (claim.boot === boot) {
      // Older than what a contender already said: a restart resumes at least at every term its
      // old process spoke at (a term is on disk before any message carrying it leaves), so a
      // crashed process's messages, arriving late after a partition, are behind its restart's
      // as soon as the restart has moved on. Such a message shows nothing about the holder
      // running now: it neither keeps the id held nor proves the contender a second process.
      // Simulation seed 566 (--identity): a restart was proven a copy by its crashed process's
      // held messages, released over more than the hold, and refused for 30 holds; its schedule
      // has moved since; test/sim/lost-disk.test.ts names a seed that reaches the case now.
      if (asHolder.term !== undefined && claim.contenders.aheadOf(asHolder.term, now)) return SET_ASIDE;
      // At a contender's term, a message showing no log index beyond the contender's may be
      // late too: it still keeps the id held (a copy of a quiet member looks so, and must stay
      // refused), but proves no contender a second process (contenders.ts, `mayBeOlder`).
      // Simulation seed 10243 (--identity): a crashed leader's heartbeats, held by a slow
      // link and released over more than the hold after its restart, proved the restart a copy
      // at the same term; its pre-votes refused, it could not move on, and the two voters left
      // had no leader for the 30 holds.
      claim.lastAt = Math.max(now, claim.lastAt);
      const proven = claim.contenders.provenBeside(now, asHolder.term, asHolder.bare ? -1 : asHolder.reach);
      if (proven.length === 0) return ADMITTED;
      claim.proven = [...claim.proven, ...proven].slice(-MAX_PROVEN);
      return { refusal: null, replaced: null, proven, setAside: false };
    }
    if (silentMs > this.holdMs) {
      const replaced = claim.boot;
      claim.boot = boot;
      claim.lastAt = now;
      claim.contenders.clear();
      return { refusal: null, replaced, proven: [], setAside: false };
    }
    claim.contenders.heard(boot, now, said.term, said.reach);
    // Not yet a copy: a quick restart looks just like this until the old process's hold runs out.
    return {
      refusal: {
        code: 'DUPLICATE_PROCESS',
        reason:
          `another process speaks as ${member}: process ${claim.boot} was heard ${Math.max(0, Math.round(silentMs))}ms ago and process ${boot} speaks too. ` +
          `If ${boot} is ${member}'s restart, it is taken once ${claim.boot} has been silent for ${this.holdMs}ms; if both go on speaking, ` +
          `a copy of ${member}'s data dir runs (docs/operate.md, DUPLICATE_PROCESS)`,
      },
    };
  }

  /** What is kept, over all members: claimed data dirs and their contenders (for tests). */
  kept(): { readonly dataDirs: number; readonly contenders: number } {
    let dataDirs = 0;
    let contenders = 0;
    for (const dirs of this.claims.values()) {
      dataDirs += dirs.size;
      for (const c of dirs.values()) contenders += c.contenders.size;
    }
    return { dataDirs, contenders };
  }

  /**
   * Forgets one data dir whose claim no longer holds anything back: any process may take it
   * (its holder silent for the hold, no proven second process), or the long hold is over too.
   */
  private forgetExpired(dirs: Map<string, Claim>, now: number): boolean {
    for (const [incarnation, c] of dirs) {
      const silentMs = now - c.lastAt;
      if (silentMs > PROVEN_HOLDS * this.holdMs || (silentMs > this.holdMs && c.proven.length === 0)) {
        dirs.delete(incarnation);
        return true;
      }
    }
    return false;
  }

  private refuse(member: string, boot: string, what: string): ClaimOutcome {
    return {
      refusal: {
        code: 'DUPLICATE_PROCESS',
        reason:
          `two processes speak as ${member}: ${what}. A copy of ${member}'s data dir runs, or a second host answers at its address: ` +
          `stop the copy (docs/operate.md, DUPLICATE_PROCESS); process ${boot} is the one refused`,
      },
    };
  }
}
