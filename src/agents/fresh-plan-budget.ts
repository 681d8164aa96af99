/**
 * How much push work one pump of the hub may do afresh, and the pushes that wait for it.
 *
 * A push whose plan is cached (the same change going to many agents) costs its bytes' write;
 * one planned afresh costs a merge of the agent's manifest with its target and a JSON encoding
 * of every resource it carries. For the whole of a 12 MB mesh (75,000 services) that was 0.2-0.6
 * s on the event loop in one go, and a pump planned several: a handful of new agents held a
 * controller's loop 0.6-1.4 s (a 3-member cluster on 2 busy cores, attack round 15), and six
 * processes of one agent certificate taking the id over from each other held them up to 2.2 s
 * (the leader lost its term). Now a push planned afresh is a PlanJob done in steps: a pump does
 * at most FRESH_UNITS_PER_PUMP of such steps (an entry merged, a resource encoded), oldest job
 * first; a push whose plan is not done waits for a later pump, whose turn comes after the loop
 * served what arrived meanwhile, while pushes whose plans are cached or done go on. Nothing is
 * sent for a stream until its plan is done, so its tracker is untouched meanwhile: nothing is
 * sent twice, and a stream whose wanted version moved meanwhile is simply planned again.
 */
import type { Manifest } from './manifest.js';
import { PlanJob } from './plan-job.js';
import type { PushPlan, PushPlanner } from './push-planner.js';
import type { StreamId } from './types.js';
import { rememberPushBody } from './wire.js';

/**
 * Steps one pump may take. Encoding a resource costs about ten times merging an entry: 10,000
 * resources encoded held a busy core 100-150 ms (with the collections they set off), 5,000 half
 * that. A whole configuration of 75,000 services goes out over about thirty turns of the loop,
 * a few milliseconds apart.
 */
export const FRESH_UNITS_PER_PUMP = 5_000;
/**
 * Plans of one stream dropped unfinished (its wanted version moved on: each change of the mesh
 * makes a new target and retires the one being planned) before its next is made whole at once,
 * as every plan was before they were made in steps. Without it, a mesh that changed more often
 * than a whole configuration takes to plan (75,000 services: about 30 pumps) was never sent to
 * a new or returning agent, however long the changes went on.
 */
export const RESTARTS_BEFORE_WHOLE = 2;

interface Pending {
  readonly job: PlanJob;
  readonly base: Manifest | null;
  readonly full: boolean;
  /** Streams that wait for this plan. */
  readonly waiters: Set<StreamId>;
}

function jobKey(base: Manifest | null, target: Manifest, full: boolean): string {
  return `${full || base === null ? 'full' : base.id}>${target.id}`;
}

export class FreshPlans {
  /** By plan key, oldest first. */
  private readonly jobs = new Map<string, Pending>();
  /** The job each waiting stream waits for (one at most: a newer plan it waits for replaces the older). */
  private readonly waitingOn = new Map<StreamId, string>();
  /** Plans done for a waiting stream, handed to it at its next evaluation (by plan key). */
  private readonly ready = new Map<StreamId, { readonly key: string; readonly plan: PushPlan }>();
  /** Per stream, its plans dropped unfinished since it was last given one (RESTARTS_BEFORE_WHOLE). */
  private readonly restarts = new Map<StreamId, number>();
  /** Streams whose job another stream's whole plan finished (plan()): handed back at the next pump. */
  private readonly doneOutOfTurn: StreamId[] = [];
  private left = 0;

  constructor(
    private readonly planner: PushPlanner,
    private readonly unitsPerPump: number = FRESH_UNITS_PER_PUMP,
  ) {
    if (!(unitsPerPump >= 1)) throw new Error(`invariant: unitsPerPump must be at least 1, found ${unitsPerPump}`);
  }

  /**
   * A pump starts: its budget is whole again and goes to the jobs pending, oldest first. The
   * streams to evaluate again: those whose plan is done, or whose target was retired meanwhile.
   */
  startPump(): StreamId[] {
    this.left = this.unitsPerPump;
    const again: StreamId[] = this.doneOutOfTurn.splice(0);
    for (const [key, p] of this.jobs) {
      if (this.left <= 0) break;
      if (!this.planner.isCurrent(p.job.target)) {
        this.jobs.delete(key);
        for (const stream of p.waiters) {
          this.waitingOn.delete(stream);
          this.restarted(stream);
        }
        again.push(...p.waiters);
        continue;
      }
      this.left -= p.job.step(this.left);
      const done = this.finish(key, p);
      if (done === null) continue;
      again.push(...this.handOut(key, p, done));
    }
    return again;
  }

  /** This pump's budget is spent: a plan not cached waits for the next. */
  get spent(): boolean {
    return this.left <= 0;
  }

  /** Jobs wait for a pump. */
  get pending(): boolean {
    return this.jobs.size > 0 || this.doneOutOfTurn.length > 0;
  }

  /**
   * The push for `stream` from `base` to `target` (a current target): cached, done for it, or
   * planned now within what is left of the budget; null while its job waits (startPump hands
   * the stream back once it is done).
   */
  plan(stream: StreamId, base: Manifest | null, target: Manifest, full: boolean): PushPlan | null {
    const key = jobKey(base, target, full);
    const handed = this.ready.get(stream);
    this.ready.delete(stream);
    if (handed !== undefined && handed.key === key) return this.given(stream, handed.plan);
    // Waiting for another plan (its wanted version moved): not any more. The same one goes on.
    const waited = this.waitingOn.get(stream);
    if (waited !== key) {
      if (waited !== undefined) this.restarted(stream);
      this.unwait(stream);
    }
    const cached = this.planner.cachedPlan(base, target, full);
    if (cached !== null) return this.given(stream, cached);
    let p = this.jobs.get(key);
    if (p === undefined) {
      p = { job: new PlanJob(full ? null : base, target, this.planner.resourcesOf(target)), base, full, waiters: new Set() };
      this.jobs.set(key, p);
    }
    // Given here if done here, not handed to it again at the next pump.
    p.waiters.delete(stream);
    this.waitingOn.delete(stream);
    // Its versions move faster than its plans are made: this one is made whole now.
    if ((this.restarts.get(stream) ?? 0) >= RESTARTS_BEFORE_WHOLE) {
      this.left -= p.job.step(Number.MAX_SAFE_INTEGER);
      const done = this.finish(key, p);
      if (done === null) throw new Error(`invariant: plan ${key} not done after an unbounded step`);
      this.doneOutOfTurn.push(...this.handOut(key, p, done));
      return this.given(stream, done);
    }
    // Budget left means every older job is done (startPump spends it oldest first): this one may go on.
    if (this.left > 0) {
      this.left -= p.job.step(this.left);
      const done = this.finish(key, p);
      if (done !== null) {
        this.doneOutOfTurn.push(...this.handOut(key, p, done));
        return this.given(stream, done);
      }
    }
    p.waiters.add(stream);
    this.waitingOn.set(stream, key);
    return null;
  }

  /** The stream ended: it waits for nothing; a job nobody waits for is dropped. */
  forget(stream: StreamId): void {
    this.ready.delete(stream);
    this.restarts.delete(stream);
    const at = this.doneOutOfTurn.indexOf(stream);
    if (at >= 0) this.doneOutOfTurn.splice(at, 1);
    this.unwait(stream);
  }

  /** A plan goes to `stream`: its count of dropped plans starts again. */
  private given(stream: StreamId, plan: PushPlan): PushPlan {
    this.restarts.delete(stream);
    return plan;
  }

  private restarted(stream: StreamId): void {
    this.restarts.set(stream, (this.restarts.get(stream) ?? 0) + 1);
  }

  /** `done` goes to the streams that waited for its job; they are to be evaluated again. */
  private handOut(key: string, p: Pending, done: PushPlan): StreamId[] {
    for (const stream of p.waiters) {
      this.waitingOn.delete(stream);
      this.ready.set(stream, { key, plan: done });
    }
    return [...p.waiters];
  }

  /** The stream waits for no job any more; a job nobody waits for is dropped. */
  private unwait(stream: StreamId): void {
    const key = this.waitingOn.get(stream);
    if (key === undefined) return;
    this.waitingOn.delete(stream);
    const p = this.jobs.get(key);
    p?.waiters.delete(stream);
    if (p?.waiters.size === 0) this.jobs.delete(key);
  }

  /** A job done: its plan kept as the planner keeps its own, its body as pushBody's; null while not done. */
  private finish(key: string, p: Pending): PushPlan | null {
    const done = p.job.done;
    if (done === null) return null;
    this.jobs.delete(key);
    rememberPushBody(done.plan, done.body);
    this.planner.remember(p.base, p.job.target, p.full, done.plan);
    return done.plan;
  }
}
