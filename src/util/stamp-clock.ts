/**
 * The `at` a leader stamps on a mesh command: the time every replica's apply uses (the mesh
 * kind's clock is the largest `at` applied, docs/agents.md "Time in apply"). A stamp ahead of
 * real time moves that clock ahead for good, and quarantines and dependency expiry stop until
 * real time catches up: a wall clock stepped ten years ahead for 40 s froze them for ten years.
 *
 * So stamps follow the monotonic clock from an anchor (this process's first stamp): a wall clock
 * further ahead than the time elapsed since then allows (plus `toleranceMs` and 0.1% of the
 * elapsed time for drift) is not used; the monotonic estimate is stamped instead. A wall clock
 * stepped back beyond the tolerance is taken as it is and becomes the new anchor: log time never
 * goes back (it is a maximum), so that errs on the side of quarantines lasting longer, and it is
 * how a clock that was wrong from the process's start gets corrected. Deterministic: both clocks
 * come in.
 */
export interface StampClockDeps {
  /** Milliseconds since the epoch. */
  readonly wall: () => number;
  /** A monotonic clock in milliseconds (performance.now()). */
  readonly mono: () => number;
  /** How far the wall clock may run ahead of the monotonic estimate (NTP slews far less). */
  readonly toleranceMs: number;
}

export interface Stamp {
  readonly at: number;
  /** How far the wall clock ran ahead of the monotonic estimate when it was not used; 0 when it was. */
  readonly aheadMs: number;
}

/** Drift allowed between the wall and the monotonic clock: 1,000 ppm, twice what NTP slews. */
const DRIFT = 0.001;

export class StampClock {
  private anchor: { readonly at: number; readonly mono: number } | null = null;

  constructor(private readonly deps: StampClockDeps) {}

  stamp(): Stamp {
    const wall = this.deps.wall();
    const mono = this.deps.mono();
    const anchor = this.anchor;
    if (anchor === null) {
      this.anchor = { at: wall, mono };
      return { at: wall, aheadMs: 0 };
    }
    const elapsed = Math.max(0, mono - anchor.mono);
    const estimate = anchor.at + elapsed;
    if (wall > estimate + this.deps.toleranceMs + elapsed * DRIFT) return { at: Math.round(estimate), aheadMs: wall - estimate };
    if (wall < estimate - this.deps.toleranceMs) this.anchor = { at: wall, mono };
    return { at: wall, aheadMs: 0 };
  }
}
