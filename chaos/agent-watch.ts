/**
 * The agent side of a chaos run (scenario agent-failover): a swarm of real agents on the
 * controllers' client addresses (not behind the fault proxies: faults hit the controllers, and
 * the agents must follow), stops and restarts of some agents, a configuration change every few
 * seconds, and a sampler of `list agents` on every controller. Held against the truth:
 *
 * - an agent is online exactly while its process runs (a majority of controllers is always up
 *   in these scenarios, so a running agent can always reach one that hears from a quorum);
 * - accuracy: every row of every answer from a majority-side controller that is not stale,
 *   compared with the truth when the request was sent; the grace window after an agent stop or
 *   start is excluded, the faults of controllers are not (a move is not allowed to show as an
 *   outage);
 * - convergence: from each stop (start) of an agent until every such controller shows it
 *   offline (online);
 * - falseOffline: running agents ever shown offline; redundant pushes: versions sent again to
 *   an agent that held them.
 */
import { MeshClient } from '../src/api/mesh-client.js';
import { Swarm } from '../src/agent/swarm.js';
import type { Rng } from '../src/util/rng.js';
import { percentiles, type Percentiles } from './status-analysis.js';

export interface AgentWatchOptions {
  readonly count: number;
  /** Controller id -> its client address. */
  readonly endpoints: ReadonlyMap<string, string>;
  /** Controllers to sample now (running and not paused). */
  readonly targets: () => readonly string[];
  /** Whether a controller's answers at a time of the run are held to the truth (majority side, settled). */
  readonly heldAt: (controller: string, atMs: number) => boolean;
  /** Whether the cluster had no majority side at some time in [fromMs, toMs] (nothing can commit then). */
  readonly quorumLostWithin: (fromMs: number, toMs: number) => boolean;
  /** ms since the run's origin. */
  readonly now: () => number;
  readonly rng: Rng;
  readonly seed: number;
  /** Answers within this long after an agent's change of truth are not compared. */
  readonly graceMs: number;
  readonly event: (text: string) => void;
}

interface AgentSample {
  readonly sampler: string;
  readonly sentMs: number;
  readonly receivedMs: number;
  readonly online: ReadonlyMap<string, boolean>;
}

interface TruthChange {
  readonly atMs: number;
  readonly agent: string;
  readonly running: boolean;
}

export interface AgentMismatch {
  readonly atMs: number;
  readonly sampler: string;
  readonly agent: string;
  readonly expected: 'online' | 'offline';
  readonly reported: 'online' | 'offline' | 'absent';
}

export interface AgentAnalysis {
  readonly count: number;
  readonly statusAccuracy: number;
  readonly compared: number;
  readonly excluded: number;
  readonly convergenceMs: Percentiles;
  readonly unconverged: number;
  readonly falseOffline: number;
  readonly redundantPushes: number;
  readonly redundantBytes: number;
  readonly stops: number;
  readonly configChanges: number;
  /** Running agents not SYNCED at the current version at the end. */
  readonly notSyncedAtEnd: number;
  readonly mismatches: readonly AgentMismatch[];
  /** Every stop and start of an agent and when every held controller showed it (null: never, no controller held then, or a quorum lost around it). */
  readonly changes: readonly { readonly atMs: number; readonly agent: string; readonly to: 'online' | 'offline'; readonly convergedMs: number | null }[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

export class AgentWatch {
  readonly swarm: Swarm;
  readonly samples: AgentSample[] = [];
  private readonly changes: TruthChange[] = [];
  private readonly running: boolean[];
  private readonly ids: string[];
  private readonly clients = new Map<string, MeshClient>();
  private readonly admin: MeshClient;
  private stopped = false;
  /** Wakes the loops' waits when the watch stops: a stopped agent's 4-8 grace windows need not run out. */
  private readonly stopping = new AbortController();
  private loops: Promise<void>[] = [];
  private configChanges = 0;

  constructor(private readonly o: AgentWatchOptions) {
    this.swarm = new Swarm({ count: o.count, controllers: [...o.endpoints.values()], prefix: 'agent-', seed: o.seed });
    this.ids = this.swarm.agents.map((_, i) => `agent-${String(i).padStart(5, '0')}`);
    this.running = this.ids.map(() => false);
    this.admin = new MeshClient({ endpoints: [...o.endpoints.values()], timeoutMs: 3000 });
  }

  /** Starts the agents and waits until every controller lists them all online. */
  async start(deadlineMs: number): Promise<void> {
    const deadline = performance.now() + deadlineMs;
    // A cluster just up may stall a moment on a busy host (NO_QUORUM for a beat): the apply is
    // the same each time, so it is asked again until the deadline.
    for (;;) {
      try {
        await this.admin.apply([{ kind: 'service', name: 'chaos', spec: { protocol: 'http', ports: [1] }, labels: {} }]);
        break;
      } catch (err) {
        if (performance.now() > deadline) throw err;
        await sleep(200);
      }
    }
    this.swarm.start();
    this.running.fill(true);
    for (;;) {
      const views = await Promise.all(this.o.targets().map((id) => this.client(id).listAgentsOn(this.o.endpoints.get(id)!).catch(() => null)));
      if (views.every((v) => v !== null && v.agents.length === this.ids.length && v.agents.every((a) => a.online && a.state === 'SYNCED'))) return;
      if (performance.now() > deadline) throw new Error(`the agents were not all online and SYNCED on every controller within ${deadlineMs}ms`);
      await sleep(200);
    }
  }

  /** From now on: sample every 250 ms, stop and restart an agent now and then, change the configuration every 3 s. */
  run(): void {
    this.loops = [this.sampleLoop(), this.agentFaults(), this.configLoop()];
  }

  private halt(): void {
    this.stopped = true;
    this.stopping.abort();
  }

  /** Waits `ms`, or less once the watch stops. */
  private pause(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.stopping.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.stopping.signal.addEventListener('abort', done);
    });
  }

  async stop(): Promise<void> {
    this.halt();
    await Promise.all(this.loops);
    await this.swarm.stop();
    for (const c of this.clients.values()) c.close();
    this.admin.close();
  }

  private client(id: string): MeshClient {
    let c = this.clients.get(id);
    if (c === undefined) {
      c = new MeshClient({ endpoints: [this.o.endpoints.get(id)!], timeoutMs: 1000 });
      this.clients.set(id, c);
    }
    return c;
  }

  private async sampleLoop(): Promise<void> {
    while (!this.stopped) {
      await Promise.all(
        this.o.targets().map(async (id) => {
          const sentMs = this.o.now();
          const view = await this.client(id).listAgentsOn(this.o.endpoints.get(id)!).catch(() => null);
          // A controller that says it is cut off knows its view may be old: not held to it.
          if (view === null || view.stale) return;
          this.samples.push({ sampler: id, sentMs, receivedMs: this.o.now(), online: new Map(view.agents.map((a) => [a.id, a.online])) });
        }),
      );
      await this.pause(250);
    }
  }

  /** One agent at a time: stopped for 4-8 grace windows, then started again. */
  private async agentFaults(): Promise<void> {
    await this.pause(this.o.graceMs * 2);
    while (!this.stopped) {
      const i = this.o.rng.int(0, this.ids.length);
      await this.swarm.stopOne(i);
      this.setRunning(i, false);
      this.o.event(`agent ${this.ids[i]} stopped`);
      await this.pause(this.o.graceMs * (4 + 4 * this.o.rng.next()));
      if (this.stopped) return;
      this.swarm.restartOne(i);
      this.setRunning(i, true);
      this.o.event(`agent ${this.ids[i]} started`);
      await this.pause(this.o.graceMs * (2 + 2 * this.o.rng.next()));
    }
  }

  private async configLoop(): Promise<void> {
    for (let n = 2; !this.stopped; n++) {
      await this.pause(3000);
      if (this.stopped) return;
      try {
        await this.admin.apply([{ kind: 'service', name: 'chaos', spec: { protocol: 'http', ports: [n] }, labels: {} }]);
        this.configChanges++;
      } catch {
        // No leader right now: the next change comes in 3 s.
      }
    }
  }

  private setRunning(i: number, running: boolean): void {
    this.running[i] = running;
    this.changes.push({ atMs: this.o.now(), agent: this.ids[i]!, running });
  }

  /** Whether `agent` was running at `atMs`, and the time of its last change of truth before then. */
  private truthAt(agent: string, atMs: number): { running: boolean; since: number } {
    let running = true;
    let since = Number.NEGATIVE_INFINITY;
    for (const c of this.changes) {
      if (c.atMs > atMs) break;
      if (c.agent !== agent) continue;
      running = c.running;
      since = c.atMs;
    }
    return { running, since };
  }

  /** Waits until every controller shows the current truth, then judges the run. */
  async finish(deadlineMs: number): Promise<AgentAnalysis> {
    this.halt();
    await Promise.all(this.loops);
    for (let i = 0; i < this.ids.length; i++) if (!this.running[i]) {
      this.swarm.restartOne(i);
      this.setRunning(i, true);
    }
    let notSynced = this.ids.length;
    const deadline = performance.now() + deadlineMs;
    while (performance.now() < deadline) {
      const views = await Promise.all(this.o.targets().map((id) => this.client(id).listAgentsOn(this.o.endpoints.get(id)!).catch(() => null)));
      notSynced = Math.max(...views.map((v) => (v === null ? this.ids.length : this.ids.length - v.agents.filter((a) => a.online && a.state === 'SYNCED').length)));
      if (notSynced === 0) break;
      await sleep(200);
    }
    return this.analyze(notSynced);
  }

  private analyze(notSyncedAtEnd: number): AgentAnalysis {
    let compared = 0;
    let excluded = 0;
    const mismatches: AgentMismatch[] = [];
    const falseOffline = new Set<string>();
    for (const s of this.samples) {
      if (!this.o.heldAt(s.sampler, s.sentMs)) continue;
      for (const agent of this.ids) {
        const truth = this.truthAt(agent, s.sentMs);
        const changedDuring = this.truthAt(agent, s.receivedMs).since > s.sentMs;
        if (s.sentMs - truth.since < this.o.graceMs || changedDuring) {
          excluded++;
          continue;
        }
        compared++;
        const got = s.online.get(agent);
        const reported = got === undefined ? 'absent' : got ? 'online' : 'offline';
        const expected = truth.running ? 'online' : 'offline';
        if (reported === expected) continue;
        mismatches.push({ atMs: Math.round(s.sentMs), sampler: s.sampler, agent, expected, reported });
        if (truth.running && reported !== 'online') falseOffline.add(agent);
      }
    }
    const conv: number[] = [];
    const changes: AgentAnalysis['changes'][number][] = [];
    let unconverged = 0;
    const lastSampleMs = Math.max(0, ...this.samples.map((s) => s.sentMs));
    for (const [k, c] of this.changes.entries()) {
      const next = this.changes.slice(k + 1).find((x) => x.agent === c.agent);
      const until = next?.atMs ?? Number.POSITIVE_INFINITY;
      const want = c.running;
      // The controllers held to the truth when it changed; one that comes back later starts with old news.
      const samplers = new Set(this.samples.filter((s) => s.sentMs >= c.atMs && s.sentMs < until && this.o.heldAt(s.sampler, c.atMs)).map((s) => s.sampler));
      // Nothing commits without a quorum: a change that meets one lost is not held to the target;
      // nor is one the sampling stopped too soon after to see.
      if (samplers.size === 0 || c.atMs + this.o.graceMs > lastSampleMs || this.o.quorumLostWithin(c.atMs - this.o.graceMs, c.atMs + this.o.graceMs)) {
        changes.push({ atMs: Math.round(c.atMs), agent: c.agent, to: want ? 'online' : 'offline', convergedMs: null });
        continue;
      }
      let latest = c.atMs;
      let ok = true;
      for (const sampler of samplers) {
        // Its first answer with the new status; a controller that drops out before (killed,
        // paused, cut off) is not waited for.
        let first: AgentSample | undefined;
        let dropped = false;
        for (const s of this.samples) {
          if (s.sampler !== sampler || s.sentMs < c.atMs || s.sentMs >= until) continue;
          if (!this.o.heldAt(s.sampler, s.sentMs)) {
            dropped = true;
            break;
          }
          if (s.online.get(c.agent) === want) {
            first = s;
            break;
          }
        }
        if (first !== undefined) latest = Math.max(latest, first.receivedMs);
        else if (!dropped) ok = false;
      }
      if (ok) conv.push(latest - c.atMs);
      else if (next === undefined || next.atMs - c.atMs > this.o.graceMs) unconverged++;
      changes.push({ atMs: Math.round(c.atMs), agent: c.agent, to: want ? 'online' : 'offline', convergedMs: ok ? Math.round(latest - c.atMs) : null });
    }
    return {
      count: this.ids.length,
      statusAccuracy: compared === 0 ? 1 : Number(((compared - mismatches.length) / compared).toFixed(6)),
      compared,
      excluded,
      convergenceMs: percentiles(conv),
      unconverged,
      falseOffline: falseOffline.size,
      redundantPushes: this.swarm.redundantPushes,
      redundantBytes: this.swarm.redundantBytes,
      stops: this.changes.filter((c) => !c.running).length,
      configChanges: this.configChanges,
      notSyncedAtEnd,
      mismatches: mismatches.slice(0, 30),
      changes,
    };
  }
}
