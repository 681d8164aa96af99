/**
 * How often one agent's publishes may change the mesh through this controller. A publish that
 * changes a service (its spec or labels, an endpoint joining or leaving) is a revision of it, and
 * so a push to every agent that gets it: every agent that is not lazy. Before (attack round 16),
 * one agent certificate reconnecting round the controllers, each hello flipping the labels of its
 * hosted services (up to 256 KiB), made a revision at every claim, one a second per controller:
 * 76 pushes, 17.1 MB, in 29 s to every other agent (0.59 MB/s each; for a fleet of 1,000, 590 MB/s
 * out of the controllers) and as much again into the Raft log; now 9 pushes, 2.0 MB. Now an agent's publishes that change
 * the mesh go through one controller PUBLISH_CHANGES_PER_WINDOW times per PUBLISH_WINDOW_MS; one
 * past that waits (held, shown in `list agents`, proposed at the first reconcile round after),
 * as BGP damps a flapping route. An agent restarted with a new agent.yaml now and then is never
 * held: its first publish and two changes after it go at once. The count is this controller's
 * (the hub's deterministic core: time comes in), not replicated state, so an agent that moves
 * round the controllers gets each one's allowance: at most three times as much, still a tenth of
 * what it had.
 */
export const PUBLISH_CHANGES_PER_WINDOW = 3;
export const PUBLISH_WINDOW_MS = 30_000;
/**
 * Agents whose recent changes are kept before the stale ones are swept (a herd's first
 * publishes); after a sweep, the next comes once the agents kept have doubled, so a herd of
 * more agents than this within a window costs each publish O(1), not a pass over all of them.
 */
const SWEEP_FROM = 10_000;

export class PublishDamping {
  /** Per agent, when its latest changing publishes were proposed here, oldest first. */
  private readonly recent = new Map<string, number[]>();
  /** The count of agents kept past which the next publish sweeps the stale ones. */
  private sweepAt = SWEEP_FROM;
  private sweeps = 0;

  /** How long `agent`'s next changing publish must wait at `now`; 0: it may go now. */
  waitMs(agent: string, now: number): number {
    const stamps = this.live(agent, now);
    return stamps.length < PUBLISH_CHANGES_PER_WINDOW ? 0 : stamps[0]! + PUBLISH_WINDOW_MS - now;
  }

  /** A publish of `agent` that changes the mesh was proposed at `now`. */
  proposed(agent: string, now: number): void {
    const stamps = this.live(agent, now);
    stamps.push(now);
    this.recent.set(agent, stamps.slice(-PUBLISH_CHANGES_PER_WINDOW));
    if (this.recent.size > this.sweepAt) this.sweep(now);
  }

  /** How many agents have changes counted now (a gauge for tests and metrics). */
  get tracked(): number {
    return this.recent.size;
  }

  /** How many sweeps of stale agents have run (a gauge for tests). */
  get sweepsRun(): number {
    return this.sweeps;
  }

  private live(agent: string, now: number): number[] {
    return (this.recent.get(agent) ?? []).filter((at) => now - at < PUBLISH_WINDOW_MS);
  }

  private sweep(now: number): void {
    this.sweeps++;
    for (const [agent, stamps] of this.recent) if (stamps.every((at) => now - at >= PUBLISH_WINDOW_MS)) this.recent.delete(agent);
    this.sweepAt = Math.max(SWEEP_FROM, 2 * this.recent.size);
  }
}
