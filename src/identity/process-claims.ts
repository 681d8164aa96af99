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
 *    `holdMs`) `holdMs` after the other was first refused, the other is a second process,
 *    proven, and refused until the held one has
 *    been silent for PROVEN_HOLDS x `holdMs` (freezing the first must not hand the id to the
 *    copy at once; and if the proof was wrong, a member is not shut out for ever);
 *  - until then, if the held one falls silent for `holdMs`, the other is its restart: taken.
 * Deterministic: time comes in.
 */
import type { Refusal } from './refusal.js';

interface Claim {
  readonly boot: string;
  readonly lastAt: number;
  /**
   * Other processes refused while it held the id, first and last: a second process is one the
   * holder is heard beside, while it speaks (heard within `holdMs`) and more than `holdMs` after
   * it first spoke. Less proves nothing: what a crashed process sent before its restart may
   * arrive after the restart's first message, even seconds later, after a partition.
   */
  readonly contenders: ReadonlyMap<string, { readonly firstAt: number; readonly lastAt: number }>;
}

/** Proven second processes remembered per data dir; beyond it the oldest is forgotten. */
const MAX_PROVEN = 16;

/**
 * Holds of the first process's silence before a proven second one is taken. A proof can be
 * wrong: what a crashed process sent may arrive late, after a partition, beside its restart's.
 */
export const PROVEN_HOLDS = 30;

/**
 * What admitting a message changed: `replaced`, the process this one took the member's id over
 * from; `proven`, the processes this message proved to be second processes.
 */
export type ClaimOutcome = { readonly refusal: Refusal } | { readonly refusal: null; readonly replaced: string | null; readonly proven: readonly string[] };

const ADMITTED: ClaimOutcome = { refusal: null, replaced: null, proven: [] };

export class ProcessClaims {
  private readonly claims = new Map<string, Claim>();
  private readonly proven = new Map<string, string[]>();

  constructor(private readonly holdMs: number) {}

  /**
   * A message from `member`'s data dir `incarnation`, stamped with `boot` ('' from an older
   * version: not judged), at `now`. Claims are per data dir: processes of another incarnation
   * (a member rebuilt while its old process still runs) are the identity rules' to judge.
   */
  admit(member: string, incarnation: string, boot: string, now: number): ClaimOutcome {
    if (boot === '') return ADMITTED;
    return this.admitKeyed(`${member}\u0000${incarnation}`, member, boot, now);
  }

  private admitKeyed(key: string, member: string, boot: string, now: number): ClaimOutcome {
    const held = this.claims.get(key);
    const proven = this.proven.get(key) ?? [];
    if (proven.includes(boot)) {
      const silentMs = held === undefined ? Infinity : now - held.lastAt;
      if (silentMs <= PROVEN_HOLDS * this.holdMs) {
        return this.refuse(
          member,
          boot,
          `process ${boot} spoke as ${member} while process ${held?.boot ?? 'another'} was heard, and is refused until that one has been silent for ${PROVEN_HOLDS * this.holdMs}ms`,
        );
      }
      this.proven.set(key, proven.filter((b) => b !== boot));
    }
    if (held === undefined || held.boot === boot) {
      const contenders = new Map(held?.contenders);
      const outlived = [...contenders].filter(([, c]) => now - c.firstAt > this.holdMs && now - c.lastAt <= this.holdMs).map(([b]) => b);
      for (const b of outlived) contenders.delete(b);
      if (outlived.length > 0) this.prove(key, outlived);
      this.claims.set(key, { boot, lastAt: Math.max(now, held?.lastAt ?? now), contenders });
      return outlived.length === 0 ? ADMITTED : { refusal: null, replaced: null, proven: outlived };
    }
    const silentMs = now - held.lastAt;
    if (silentMs > this.holdMs) {
      this.claims.set(key, { boot, lastAt: now, contenders: new Map() });
      return { refusal: null, replaced: held.boot, proven: [] };
    }
    const firstAt = held.contenders.get(boot)?.firstAt ?? now;
    this.claims.set(key, { ...held, contenders: new Map([...held.contenders, [boot, { firstAt, lastAt: now }]]) });
    return this.refuse(member, boot, `process ${held.boot} was heard ${Math.max(0, Math.round(silentMs))}ms ago and process ${boot} speaks too`);
  }

  private prove(key: string, boots: readonly string[]): void {
    const proven = [...(this.proven.get(key) ?? []), ...boots];
    this.proven.set(key, proven.slice(-MAX_PROVEN));
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
