/**
 * How long the preferred leader must stay healthy before it is handed leadership again, after
 * it lost leadership by election. A preferred member that pauses every few seconds (a GC, a
 * noisy neighbour) was handed leadership back after every stabilization time and lost it again:
 * seven leader changes a minute where none were needed (attack round 8). Each loss by election
 * doubles the stable time it needs (up to 32 times); holding leadership for RESET_AFTER_HOLDS
 * stabilization times clears the count. Every node keeps it from the leader changes it sees, so
 * whichever member leads next judges with it. Pure: changes and time come in.
 */

export interface PreferredBackoff {
  /** Losses by election since the preferred member last held leadership long enough. */
  readonly losses: number;
  /** Monotonic ms since which the preferred member has led; null: it does not lead. */
  readonly heldSince: number | null;
}

export const INITIAL_PREFERRED_BACKOFF: PreferredBackoff = { losses: 0, heldSince: null };

/** At most 2^5 = 32 times the stabilization time. */
export const MAX_BACKOFF_DOUBLINGS = 5;
/** Leading this many stabilization times without a loss clears the count. */
export const RESET_AFTER_HOLDS = 10;

export interface LeaderChange {
  readonly from: string | null;
  readonly to: string;
  /** The change came from an election (not a transfer this cluster asked for). */
  readonly byElection: boolean;
  readonly now: number;
  readonly preferred: string | null;
  readonly stableForMs: number;
}

export function noteLeaderChange(b: PreferredBackoff, c: LeaderChange): PreferredBackoff {
  if (c.preferred === null) return INITIAL_PREFERRED_BACKOFF;
  let losses = b.losses;
  if (c.from === c.preferred && c.to !== c.preferred) {
    const heldLong = b.heldSince !== null && c.now - b.heldSince >= RESET_AFTER_HOLDS * c.stableForMs;
    if (heldLong) losses = 0;
    if (c.byElection) losses = Math.min(losses + 1, MAX_BACKOFF_DOUBLINGS);
  }
  return { losses, heldSince: c.to === c.preferred ? (c.from === c.preferred ? b.heldSince : c.now) : null };
}

/** The stable time the preferred member needs now. */
export function stableForWithBackoff(b: PreferredBackoff, stableForMs: number): number {
  return stableForMs * 2 ** b.losses;
}
