/**
 * How many hellos a controller admits per tick: additive increase, multiplicative decrease on
 * its own punctuality. A tick that comes on time adds a step (up to the maximum); a late one
 * (the loop is busy) halves the budget (down to the minimum). A herd is admitted as fast as the
 * controller keeps time, and no faster.
 */
export const MIN_ADMIT_PER_TICK = 10;
export const ADMIT_STEP = 10;
const INITIAL_ADMIT_PER_TICK = 50;

export class AdmissionBudget {
  private budget: number;
  private used = 0;

  constructor(private readonly max: number) {
    this.budget = Math.min(max, INITIAL_ADMIT_PER_TICK);
  }

  /** A new tick: `late` when it came more than twice its interval after the last one. */
  tick(late: boolean): void {
    this.budget = late ? Math.max(MIN_ADMIT_PER_TICK, Math.floor(this.budget / 2)) : Math.min(this.max, this.budget + ADMIT_STEP);
    this.used = 0;
  }

  /** Takes one admission from this tick's budget, if any is left. */
  take(): boolean {
    if (this.used >= this.budget) return false;
    this.used++;
    return true;
  }

  get perTick(): number {
    return this.budget;
  }
}
