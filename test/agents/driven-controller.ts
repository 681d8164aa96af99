/**
 * A controller of the agents' simulation that runs the production driver (HubDriver) on
 * simulated time: its streams are event emitters speaking the wire encoding (wire.ts,
 * sync-codec.ts) with a latency per message (in order, as on a stream), its reports commit
 * through the shared log a round trip later when a quorum hears it, its read barriers complete
 * once it has caught up. Every message and timer is an event of one
 * Timeline, so a seed replays exactly; a dead controller's events are dropped.
 */
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { HubDriver, type HubDriverPort, type SyncCall } from '../../src/agents/hub-driver.js';
import type { HubAudit, HubOptions } from '../../src/agents/hub-types.js';
import type { AgentMessage, CloseCode, ControllerMessage } from '../../src/agents/protocol.js';
import type { LiveAgent } from '../../src/agents/types.js';
import { decodeControllerWire, type ControllerFrame } from '../../src/agents/sync-codec.js';
import { decodeControllerMessage, encodeAgentMessage } from '../../src/agents/wire.js';
import { StateMachine, agentsKind, type AgentRecord, type KindCommand } from '../../src/statemachine/index.js';
import type { Scheduler, Timer } from '../../src/util/clock.js';
import { DETECTOR, simHubPort, type AgentFacing, type SimAgent, type SimLog } from './hub-harness.js';

interface Pending {
  at: number;
  readonly seq: number;
  readonly every: number | null;
  readonly fn: () => void;
  readonly alive: () => boolean;
  cancelled: boolean;
}

/** The simulation's one clock and agenda: timers fire in (time, scheduling order). */
export class Timeline {
  private seq = 0;
  private pending: Pending[] = [];

  constructor(readonly clock: { now: number }) {}

  /** A process's Scheduler: once `alive` says false its events are dropped. */
  scheduler(alive: () => boolean): Scheduler {
    return {
      now: () => this.clock.now,
      wallClockMs: () => this.clock.now,
      after: (ms, fn) => this.add(ms, null, fn, alive),
      every: (ms, fn) => this.add(ms, ms, fn, alive),
      soon: (fn) => void this.add(0, null, fn, alive),
    };
  }

  /** Runs every event due within `ms`, in order; the clock then reads now + ms. */
  advance(ms: number): void {
    const end = this.clock.now + ms;
    for (;;) {
      this.pending = this.pending.filter((p) => !p.cancelled && p.alive());
      let next: Pending | undefined;
      for (const p of this.pending) if (p.at <= end && (next === undefined || p.at < next.at || (p.at === next.at && p.seq < next.seq))) next = p;
      if (next === undefined) break;
      this.clock.now = Math.max(this.clock.now, next.at);
      if (next.every === null) next.cancelled = true;
      else next.at += next.every;
      next.fn();
    }
    this.clock.now = end;
  }

  private add(ms: number, every: number | null, fn: () => void, alive: () => boolean): Timer {
    const p: Pending = { at: this.clock.now + Math.max(0, ms), seq: this.seq++, every, fn, alive, cancelled: false };
    this.pending.push(p);
    return { cancel: () => void (p.cancelled = true) };
  }
}

const CLOSE_CODES: ReadonlyMap<number, CloseCode> = new Map([
  [grpc.status.UNAVAILABLE, 'unavailable'],
  [grpc.status.ABORTED, 'aborted'],
  [grpc.status.INVALID_ARGUMENT, 'invalid'],
  [grpc.status.PERMISSION_DENIED, 'denied'],
  [grpc.status.RESOURCE_EXHAUSTED, 'exhausted'],
]);

/** One direction of a stream: messages arrive after a latency, in the order they were sent. */
class Lane {
  private lastAt = 0;

  constructor(
    private readonly time: Scheduler,
    private readonly latency: () => number,
  ) {}

  send(fn: () => void): void {
    const at = Math.max(this.lastAt, this.time.now() + this.latency());
    this.lastAt = at;
    this.time.after(at - this.time.now(), fn);
  }
}

/** The controller's end of one agent's stream, as HubDriver.serve sees a gRPC call. */
class SimCall extends EventEmitter {
  readonly toController: Lane;
  private readonly toAgent: Lane;

  constructor(
    /** Who hears what is written here: the agent, or the sink of a half-open stream. */
    public agent: SimAgent,
    private readonly stream: number,
    private readonly owner: DrivenController,
    time: Scheduler,
    latency: () => number,
  ) {
    super();
    this.toController = new Lane(time, latency);
    this.toAgent = new Lane(time, latency);
    // The driver ends a stream by emitting a gRPC status on it.
    this.on('error', (e: { code: number; details: string }) => {
      const to = this.agent;
      this.toAgent.send(() => {
        if (this.reaches(to)) to.onClosed(CLOSE_CODES.get(e.code) ?? 'unavailable', e.details);
      });
    });
  }

  /** The transport takes every message at once (`taken`): the simulated link has no flow control. */
  write(frame: ControllerFrame, taken?: () => void): boolean {
    taken?.();
    const m = toMessage(decodeControllerMessage(Buffer.isBuffer(frame) ? decodeControllerWire(frame) : (frame as Exclude<ControllerFrame, Buffer>)));
    const to = this.agent;
    if (m.type === 'push') to.onPushWritten(m);
    this.toAgent.send(() => {
      if (this.reaches(to)) to.receive(m);
    });
    return true;
  }

  getAuthContext(): undefined {
    return undefined;
  }

  /** Only the stream the agent holds reaches it: once it has left, nothing sent here does. */
  private reaches(to: SimAgent): boolean {
    return to.stream === this.stream && to.controller === this.owner;
  }
}

/** The agent's view of a push: the wire carries the plan's fields, not its resource count. */
function toMessage(m: ReturnType<typeof decodeControllerMessage>): ControllerMessage {
  if (m.type !== 'push') return m;
  return { type: 'push', nonce: m.nonce, clusterId: m.clusterId, plan: { version: m.version, baseVersion: m.baseVersion, upserts: m.upserts, removes: m.removes, resources: m.upserts.length } };
}

/** What becomes of a proposal (see the constructor). */
export type ProposalOutcome = 'committed' | 'answer lost' | 'lost' | 'unanswered';

let nextStream = 1;
let runs = 0;

export class DrivenController implements AgentFacing {
  readonly sm = new StateMachine();
  readonly driver: HubDriver;
  readonly audits: HubAudit[] = [];
  quorum = true;
  leaderSilentSince: number | null = null;
  /** The leader hears nothing from it (a one-way link): its proposals go unanswered until their deadline. */
  unheardByLeader = false;
  lagging = false;
  leading = false;
  /** Its wall clock's skew (simHubPort). */
  wallOffsetMs = 0;
  /** The `at` the leader stamps on a mesh report it proposes for this controller (its wall clock); default: simulated time. */
  leaderWall: () => number = () => this.clock.now;
  alive = true;
  /** Entries up to this index were applied by an earlier run of this controller. */
  replayUntil = 0;
  readonly unreachable = new Map<string, number>();
  /** The other controllers' live agents, as this one would gather them when asked; none by default. */
  elsewhere: () => readonly LiveAgent[] = () => [];
  private readonly calls = new Map<number, SimCall>();
  private readonly time: Scheduler;

  /**
   * `latency` draws the delay of each message on a stream and of each commit (milliseconds),
   * `outcome` what becomes of a proposal a quorum hears: committed and answered; committed but
   * the answer lost, or lost, as when the leader dies (its connections reset: the caller
   * retries at once, and the state machine must apply a report once); or left unanswered until
   * the call's deadline (a leader this controller alone cannot reach). Both come from the
   * simulation's seeded randomness.
   */
  constructor(
    readonly id: string,
    readonly log: SimLog,
    private readonly timeline: Timeline,
    private readonly latency: () => number = () => 0,
    private readonly outcome: () => ProposalOutcome = () => 'committed',
    options: Partial<HubOptions> = {},
  ) {
    this.time = timeline.scheduler(() => this.alive);
    const port: HubDriverPort = {
      ...simHubPort(this),
      logger: pino({ level: 'silent' }),
      readBarrier: (timeoutMs) => this.barrier(timeoutMs),
      report: (entries, client, timeoutMs) => this.commit({ kind: 'agents', op: 'report', controller: this.id, entries, client } as KindCommand, timeoutMs),
      meshReport: (body, client, timeoutMs) => this.commit({ ...body, at: this.leaderWall(), client } as KindCommand, timeoutMs),
      audit: (e) => void this.audits.push(e),
      // The answers come back a round trip later, as gathered then.
      liveElsewhere: () => new Promise((resolve) => this.time.after(1 + 2 * this.latency(), () => resolve(this.elsewhere()))),
    };
    this.driver = new HubDriver(
      { self: id, detector: DETECTOR, pingIntervalMs: 250, electionTimeoutMs: 1000, stateSyncIntervalMs: 2000, sessionPrefix: `${id}:driven${++runs}`, ...options },
      port,
      this.time,
    );
    this.driver.start();
  }

  get clock(): { readonly now: number } {
    return this.timeline.clock;
  }

  get hub(): HubDriver['hub'] {
    return this.driver.hub;
  }

  record(agent: string): AgentRecord | null {
    return this.sm.view(agentsKind).get(agent);
  }

  /** Applies the shared log up to its end (unless lagging) and tells the driver. */
  catchUp(): boolean {
    if (!this.alive || this.lagging || this.sm.appliedIndex >= this.log.entries.length) return false;
    for (let i = this.sm.appliedIndex + 1; i <= this.log.entries.length; i++) this.sm.apply(i, this.log.entries[i - 1]!);
    this.driver.onApplied();
    return true;
  }

  /** The process is gone: nothing it had scheduled happens, nothing reaches it. */
  kill(): void {
    this.alive = false;
  }

  open(agent: SimAgent): number {
    const stream = nextStream++;
    const call = new SimCall(agent, stream, this, this.time, this.latency);
    this.calls.set(stream, call);
    this.driver.serve(call as unknown as SyncCall);
    return stream;
  }

  deliver(stream: number, m: AgentMessage): void {
    const call = this.calls.get(stream);
    if (call !== undefined) call.toController.send(() => call.emit('data', encodeAgentMessage(m)));
  }

  end(stream: number): void {
    const call = this.calls.get(stream);
    this.calls.delete(stream);
    if (call !== undefined) call.toController.send(() => call.emit('end'));
  }

  abandon(stream: number, sink: SimAgent): void {
    const call = this.calls.get(stream);
    if (call === undefined) return;
    call.agent = sink;
    sink.stream = stream;
    sink.controller = this;
  }

  /** A commit through the leader: done a round trip later when a quorum hears us, else a timeout. */
  private commit(cmd: KindCommand, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.time.after(1 + 2 * this.latency(), () => {
        if (!this.quorum || this.leaderSilentSince !== null || this.unheardByLeader) {
          this.time.after(timeoutMs, () => reject(new Error('no quorum or no leader: the proposal timed out')));
          return;
        }
        const outcome = this.outcome();
        if (outcome === 'committed' || outcome === 'answer lost') this.log.propose(cmd);
        if (outcome === 'committed') resolve();
        // A leader that dies resets its connections: the caller hears of it a round trip later.
        else if (outcome !== 'unanswered') this.time.after(1 + 2 * this.latency(), () => reject(new Error(`the leader failed (${outcome})`)));
        else this.time.after(timeoutMs, () => reject(new Error('the proposal timed out')));
      });
    });
  }

  /** A linearizable read: done once this controller hears a quorum and has applied the log. */
  private barrier(timeoutMs: number): Promise<void> {
    const until = this.clock.now + timeoutMs;
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.quorum && !this.lagging) {
          this.catchUp();
          resolve();
        } else if (this.clock.now >= until) reject(new Error('read barrier timed out'));
        else this.time.after(5, check);
      };
      this.time.after(1, check);
    });
  }
}
