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
 * sent twice.
 *
 * A stream whose wanted version moves while its plan is made keeps the plan it waits for: the
 * job goes on to the target it began with (pinned, though no longer current), the push goes out
 * at that version, and the next one carries the delta from it to the newest, as an xDS server
 * sends a snapshot and lets the next diff catch up. A stream that needs a plan from the same
 * manifest (or the whole configuration) joins the newest job from it still being made, whatever
 * its target, so streams arriving during churn share one job, as they shared the job to the
 * current target when jobs were dropped. Dropping the job instead let a mesh that
 * changed more often than a whole configuration takes to plan (75,000 services: about 30 pumps)
 * starve a new agent; making its plan whole at once after two drops (the fix before this) held
 * the loop 0.2-0.6 s for each such stream, the hold the budget is there to prevent.
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
/** A push planned: the plan, and the target it brings the agent to (the tracker's record of what was sent). */
export interface PlannedFor {
  readonly plan: PushPlan;
  readonly target: Manifest;
}

interface Pending {
  readonly job: PlanJob;
  /** What the job diffs from: the agent's manifest, or null for the whole configuration. */
  readonly from: Manifest | null;
  readonly base: Manifest | null;
  readonly full: boolean;
  /** Streams that wait for this plan. */
  readonly waiters: Set<StreamId>;
}

/** A plan done for a stream that waited for it, from `from`. */
interface Ready {
  readonly from: Manifest | null;
  readonly planned: PlannedFor;
}

function jobKey(from: Manifest | null, target: Manifest): string {
  return `${from === null ? 'full' : from.id}>${target.id}`;
}

export class FreshPlans {
  /** By plan key, oldest first. */
  private readonly jobs = new Map<string, Pending>();
  /** The newest job from each manifest (null: the whole configuration), which a stream needing a plan from it joins. */
  private readonly newestFrom = new Map<Manifest | null, string>();
  /** The job each waiting stream waits for (one at most). */
  private readonly waitingOn = new Map<StreamId, string>();
  /** Plans done for a waiting stream, handed to it at its next evaluation. */
  private readonly ready = new Map<StreamId, Ready>();
  /** Streams whose job another stream's plan() finished: handed back at the next pump. */
  private readonly doneOutOfTurn: StreamId[] = [];
  private left = 0;

  constructor(
    private readonly planner: PushPlanner,
    private readonly unitsPerPump: number = FRESH_UNITS_PER_PUMP,
  ) {
    if (!(unitsPerPump >= 1)) throw new Error(`invariant: unitsPerPump must be at least 1, found ${unitsPerPump}`);
  }

  /**
   * A pump starts: its budget is whole again and goes to the jobs pending, oldest first (a job
   * whose target is no longer current included: its streams wait for it). The streams to
   * evaluate again: those whose plan is done.
   */
  startPump(): StreamId[] {
    this.left = this.unitsPerPump;
    const again: StreamId[] = this.doneOutOfTurn.splice(0);
    for (const [key, p] of this.jobs) {
      if (this.left <= 0) break;
      this.left -= p.job.step(this.left);
      const done = this.finish(key, p);
      if (done !== null) again.push(...this.handOut(p, done));
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
   * the stream back once it is done). A plan the stream waited for goes out to the target it was
   * begun for, which may be older than `target` (see above); its `target` says which. Never to
   * the version `rejected` (the agent NACKed it: it is not sent again, push-tracker.ts rule 2).
   */
  plan(stream: StreamId, base: Manifest | null, target: Manifest, full: boolean, rejected: number | null = null): PlannedFor | null {
    const from = full ? null : base;
    const handed = this.ready.get(stream);
    this.ready.delete(stream);
    const cached = this.planner.cachedPlan(base, target, full);
    if (cached !== null) {
      this.unwait(stream);
      return { plan: cached, target };
    }
    if (handed !== undefined && handed.from === from && handed.planned.target.version !== rejected) return handed.planned;
    const open = (key: string | undefined): boolean => {
      const p = key === undefined ? undefined : this.jobs.get(key);
      return p !== undefined && p.from === from && p.job.target.version !== rejected;
    };
    let key = jobKey(from, target);
    const waited = this.waitingOn.get(stream);
    if (waited !== undefined && waited !== key) {
      // Its wanted version moved: it keeps the job it waits for, to that job's target (pinned).
      if (open(waited)) key = waited;
      else this.unwait(stream);
    }
    // No job to this target from its manifest: it joins the newest being made from it, if any.
    const newest = this.newestFrom.get(from);
    if (!this.jobs.has(key) && open(newest)) key = newest!;
    let p = this.jobs.get(key);
    if (p === undefined) {
      p = { job: new PlanJob(from, target, this.planner.resourcesOf(target)), from, base, full, waiters: new Set() };
      this.jobs.set(key, p);
      this.newestFrom.set(from, key);
    }
    // Given here if done here, not handed to it again at the next pump.
    p.waiters.delete(stream);
    this.waitingOn.delete(stream);
    // Budget left means every older job is done (startPump spends it oldest first): this one may go on.
    if (this.left > 0) {
      this.left -= p.job.step(this.left);
      const done = this.finish(key, p);
      if (done !== null) {
        this.doneOutOfTurn.push(...this.handOut(p, done));
        return done;
      }
    }
    p.waiters.add(stream);
    this.waitingOn.set(stream, key);
    return null;
  }

  /** The stream ended: it waits for nothing; a job nobody waits for is dropped. */
  forget(stream: StreamId): void {
    this.ready.delete(stream);
    const at = this.doneOutOfTurn.indexOf(stream);
    if (at >= 0) this.doneOutOfTurn.splice(at, 1);
    this.unwait(stream);
  }

  /** `done` goes to the streams that waited for its job; they are to be evaluated again. */
  private handOut(p: Pending, done: PlannedFor): StreamId[] {
    for (const stream of p.waiters) {
      this.waitingOn.delete(stream);
      this.ready.set(stream, { from: p.from, planned: done });
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
    if (p?.waiters.size === 0) this.drop(key, p);
  }

  private drop(key: string, p: Pending): void {
    this.jobs.delete(key);
    if (this.newestFrom.get(p.from) === key) this.newestFrom.delete(p.from);
  }

  /**
   * A job done: its body kept as pushBody's, its plan as the planner keeps its own while its
   * target is current (a plan to a retired target is not cached: it would pin a whole
   * configuration's body that no later push asks for); null while not done.
   */
  private finish(key: string, p: Pending): PlannedFor | null {
    const done = p.job.done;
    if (done === null) return null;
    this.drop(key, p);
    rememberPushBody(done.plan, done.body);
    if (this.planner.isCurrent(p.job.target)) this.planner.remember(p.base, p.job.target, p.full, done.plan);
    return { plan: done.plan, target: p.job.target };
  }
}
