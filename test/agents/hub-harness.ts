/**
 * A deterministic stage for AgentHub: controllers that share one replicated log (each applies
 * it up to where it is, so one can lag), simulated time, and agents that run the real agent
 * configuration logic (src/agent/config-state.ts). No timers, sockets or randomness: a test is
 * a script of steps, and a failure replays exactly.
 */
import { AgentConfig } from '../../src/agent/config-state.js';
import { AgentHub } from '../../src/agents/hub.js';
import { PLAINTEXT_STREAM } from '../../src/agents/identity.js';
import type { HubAudit, HubEffect, HubOptions, HubPort } from '../../src/agents/hub-types.js';
import type { AgentMessage, CloseCode, ControllerMessage, Push } from '../../src/agents/protocol.js';
import type { LiveAgent } from '../../src/agents/types.js';
import { resourceKey } from '../../src/statemachine/mesh-types.js';
import { MeshBound } from '../../src/api/mesh-bound.js';
import {
  StateMachine,
  agentsKind,
  encodeCommand,
  meshKind,
  settingsKind,
  clusterKind,
  type AgentEpoch,
  type ApplyResult,
  type HostedService,
  type KindCommand,
  type ResourceInput,
} from '../../src/statemachine/index.js';

export const DETECTOR = { baseTimeoutMs: 1000, dynamicAdjustment: true, rttWindow: 16, minTimeoutMs: 1000, maxTimeoutMs: 4000 };

export class SimLog {
  readonly entries: Uint8Array[] = [];
  clusterId = 'cluster-a';
  /** cluster.name ('': unnamed, as before names were sent). */
  clusterName = '';
  /** The leader's state machine: the truth every controller converges to. */
  readonly truth = new StateMachine();

  propose(cmd: KindCommand): ApplyResult {
    const data = encodeCommand(cmd);
    this.entries.push(data);
    return this.truth.apply(this.entries.length, data);
  }
}

let runs = 0;

/** A simulated controller as its hub sees it: applied state, time, and the faults a test sets. */
export interface SimHubState {
  readonly sm: StateMachine;
  readonly log: SimLog;
  readonly clock: { readonly now: number };
  readonly quorum: boolean;
  /** Since when it hears a quorum but no leader (a leader only it cannot reach, or an election); null: it hears one. */
  readonly leaderSilentSince: number | null;
  readonly leading: boolean;
  readonly replayUntil: number;
  /** Controllers it no longer hears from, with since when. */
  readonly unreachable: ReadonlyMap<string, number>;
  /** The state is at controller.quota_bytes (publishes that create services are held back). */
  readonly atQuota?: boolean;
  /** Who refuses it now (a second process of its member, its cluster.name); '' or absent: nobody. */
  readonly refusals?: string;
  /** controller.max_mesh_bytes (publishes that would grow the mesh past it are held back); absent: none. */
  readonly maxMeshBytes?: number;
  /** How far its wall clock reads ahead of simulated time (a skewed clock); absent: 0. */
  readonly wallOffsetMs?: number;
}

/** The hub's port of a simulated controller (SimController, DrivenController). */
export function simHubPort(c: SimHubState): HubPort {
  return {
    state: () => ({ mesh: c.sm.view(meshKind), agents: c.sm.view(agentsKind), settings: c.sm.view(settingsKind), cluster: c.sm.view(clusterKind), revision: c.sm.revision() }),
    // Simulated wall clock: the epoch plus simulated time, plus its skew.
    wallClock: () => c.clock.now + (c.wallOffsetMs ?? 0),
    clusterId: () => c.log.clusterId,
    clusterName: () => c.log.clusterName,
    quorumContactAt: () => (c.quorum ? c.clock.now : null),
    leaderContactAt: () => c.leaderSilentSince ?? (c.quorum ? c.clock.now : null),
    leading: () => c.leading,
    replaying: () => c.sm.appliedIndex <= c.replayUntil,
    controller: (id) => {
      const since = c.unreachable.get(id);
      return since === undefined ? { online: true, silentMs: 0 } : { online: false, silentMs: c.clock.now - since };
    },
    atQuota: () => c.atQuota === true,
    refusals: () => c.refusals ?? '',
    meshRoom: (growth) => (c.maxMeshBytes === undefined ? null : new MeshBound(c.maxMeshBytes, () => c.sm.view(meshKind)).refusal(growth)),
  };
}

/**
 * What an agent talks to: a controller's end of its streams. SimController hands messages to
 * the hub directly; DrivenController (driven-controller.ts) through the production driver.
 */
export interface AgentFacing {
  readonly id: string;
  readonly clock: { readonly now: number };
  /** Opens a stream from `agent`, which hears back through receive() and onClosed(). */
  open(agent: SimAgent): number;
  deliver(stream: number, m: AgentMessage): void;
  /** The agent's side ended the stream (process killed, network reset). */
  end(stream: number): void;
  /** The agent gave up on the stream without the controller hearing it end: `sink` gets what is sent there. */
  abandon(stream: number, sink: SimAgent): void;
}

let nextStream = 1;

export class SimController implements AgentFacing {
  readonly sm = new StateMachine();
  readonly hub: AgentHub;
  readonly audits: HubAudit[] = [];
  readonly logs: string[] = [];
  /** Streams the hub closed, with the code and reason. */
  readonly closed = new Map<number, { code: CloseCode; reason: string }>();
  quorum = true;
  atQuota = false;
  refusals = '';
  maxMeshBytes: number | undefined = undefined;
  lagging = false;
  leading = false;
  /** Its wall clock's skew (simHubPort). */
  wallOffsetMs = 0;
  /** The `at` the leader stamps on a mesh report it proposes for this controller (its wall clock); default: simulated time. */
  leaderWall: () => number = () => this.clock.now;
  /** Entries up to this index were applied by an earlier run of this controller. */
  replayUntil = 0;
  barriers = 0;
  leaderSilentSince: number | null = null;
  /** Its reports wait, unsent, as behind a proposal a leader it cannot reach never answers. */
  reportsHeld = false;
  /** Its report is sent but goes unanswered (a leader that it hears but that does not hear it); it commits once this is cleared. */
  unheardByLeader = false;
  private reportInFlight: Parameters<SimLog['propose']>[0] | null = null;
  private meshReportInFlight: Parameters<SimLog['propose']>[0] | null = null;
  /** The other controllers' live agents, as this one would gather them (ask-elsewhere); none by default. */
  elsewhere: () => readonly LiveAgent[] = () => [];
  /** Ids of controllers this one no longer hears from, with since when. */
  readonly unreachable = new Map<string, number>();
  private agentsByStream = new Map<number, SimAgent>();

  constructor(
    readonly id: string,
    readonly log: SimLog,
    readonly clock: { now: number },
    options: Partial<HubOptions> = {},
  ) {
    this.hub = new AgentHub(
      {
        self: id,
        detector: DETECTOR,
        pingIntervalMs: 250,
        electionTimeoutMs: 1000,
        stateSyncIntervalMs: 2000,
        sessionPrefix: `${id}:run${++runs}`,
        ...options,
      },
      simHubPort(this),
    );
  }

  attach(stream: number, agent: SimAgent): void {
    this.agentsByStream.set(stream, agent);
  }

  open(agent: SimAgent): number {
    const stream = nextStream++;
    this.attach(stream, agent);
    this.run(this.hub.open(stream, PLAINTEXT_STREAM, this.clock.now));
    return stream;
  }

  deliver(stream: number, m: AgentMessage): void {
    this.run(this.hub.message(stream, m, this.clock.now));
  }

  end(stream: number): void {
    this.detach(stream);
    this.run(this.hub.closed(stream, this.clock.now));
  }

  abandon(stream: number, sink: SimAgent): void {
    this.attach(stream, sink);
  }

  detach(stream: number): void {
    this.agentsByStream.delete(stream);
  }

  run(effects: readonly HubEffect[]): void {
    for (const e of effects) {
      switch (e.type) {
        case 'send': {
          const agent = this.agentsByStream.get(e.stream);
          if (e.message.type === 'push') agent?.onPushWritten(e.message);
          agent?.receive(e.message);
          break;
        }
        case 'close':
          this.closed.set(e.stream, { code: e.code, reason: e.reason });
          this.agentsByStream.get(e.stream)?.onClosed(e.code, e.reason);
          this.agentsByStream.delete(e.stream);
          break;
        case 'barrier':
          this.barriers++;
          break;
        case 'ask-elsewhere':
          this.run(this.hub.elsewhereAnswered(this.elsewhere(), this.clock.now));
          break;
        case 'audit':
          this.audits.push(e.event);
          break;
        case 'log':
          this.logs.push(e.message);
          break;
      }
    }
  }

  /** Apply the shared log up to its end (unless lagging) and tell the hub. */
  catchUp(): boolean {
    if (this.lagging || this.sm.appliedIndex >= this.log.entries.length) return false;
    for (let i = this.sm.appliedIndex + 1; i <= this.log.entries.length; i++) this.sm.apply(i, this.log.entries[i - 1]!);
    this.run(this.hub.applied(this.clock.now));
    return true;
  }

  /** Every pending push decision, then every pending report into the log (if a quorum hears us). */
  flush(): boolean {
    let moved = false;
    while (this.hub.hasWork()) {
      this.run(this.hub.pump(this.clock.now, 64));
      moved = true;
    }
    if (!this.quorum || this.reportsHeld) return moved;
    if (this.unheardByLeader) {
      if (this.reportInFlight === null) {
        const entries = this.hub.takeReport(this.clock.now);
        if (entries !== null) this.reportInFlight = { kind: 'agents', op: 'report', controller: this.id, entries } as KindCommand;
      }
      if (this.meshReportInFlight === null) {
        const body = this.hub.takeMeshReport(this.clock.now);
        if (body !== null) this.meshReportInFlight = { ...body, at: this.leaderWall() } as KindCommand;
      }
      return moved;
    }
    if (this.reportInFlight !== null) {
      this.log.propose(this.reportInFlight);
      this.hub.reportCommitted();
      this.reportInFlight = null;
      moved = true;
    }
    if (this.meshReportInFlight !== null) {
      this.meshResults.push(this.log.propose(this.meshReportInFlight));
      this.hub.meshReportDone();
      this.meshReportInFlight = null;
      moved = true;
    }
    for (let entries = this.hub.takeReport(this.clock.now); entries !== null; entries = this.hub.takeReport(this.clock.now)) {
      this.log.propose({ kind: 'agents', op: 'report', controller: this.id, entries } as KindCommand);
      this.hub.reportCommitted();
      moved = true;
    }
    // As the leader does on ReportMesh: its clock stamped as `at`.
    for (let body = this.hub.takeMeshReport(this.clock.now); body !== null; body = this.hub.takeMeshReport(this.clock.now)) {
      this.meshResults.push(this.log.propose({ ...body, at: this.leaderWall() } as KindCommand));
      this.hub.meshReportDone();
      moved = true;
    }
    return moved;
  }

  /** Results of the mesh reports this controller proposed, in order. */
  readonly meshResults: ApplyResult[] = [];

  tick(): void {
    this.run(this.hub.tick(this.clock.now));
  }

  record(agent: string) {
    return this.sm.view(agentsKind).get(agent);
  }
}

export interface AgentDecl {
  /** The protocols its hello declares (info.protocols); default http and tcp, whatever it NACKs. */
  readonly protocols?: readonly string[];
  readonly lazy: boolean;
  readonly dependencies: readonly string[];
  readonly hosts: readonly HostedService[];
}

/** An agent process: the real configuration logic, a manual or automatic ACK policy. */
export class SimAgent {
  readonly config: AgentConfig;
  readonly received: Push[] = [];
  readonly replies: AgentMessage[] = [];
  readonly pings: number[] = [];
  /** The timeout each ping told the agent to wait for the next message (its watchdog's). */
  readonly pingTimeouts: number[] = [];
  controller: AgentFacing | null = null;
  stream = 0;
  closedWith: { code: CloseCode; reason: string } | null = null;
  session = '';
  /** false: pushes wait in `received` for ack()/nack() by the test. */
  autoReply = true;
  /** Its hello says it joins a push sent in parts (so the hub gives its big pushes no allowance). */
  pushParts = false;
  /** false: pings are not answered (a hung agent). */
  answerPings = true;
  seq = 0;
  /** When the agent last sent anything (simulated time). */
  lastSentAt = 0;
  /** agent.yaml: lazy, static dependencies, hosted services. */
  decl: AgentDecl;

  constructor(
    readonly id: string,
    protocols: readonly string[] = ['http', 'tcp'],
    readonly boot = `${id}-boot`,
    decl: Partial<AgentDecl> = {},
  ) {
    this.config = new AgentConfig(new Set(protocols));
    this.decl = { lazy: false, dependencies: [], hosts: [], ...decl };
  }

  /** A /resolve of `name`: a hit (the VIP) or a miss, which the agent reports as the binary does. */
  resolve(name: string): string | null | 'fallback' {
    const svc = this.config.get(resourceKey('service', name));
    if (svc !== null && svc.kind === 'service') {
      if (!this.decl.dependencies.includes(name) && !this.decl.hosts.some((h) => h.name === name)) this.send({ type: 'usage', missed: [], used: [name] });
      return svc.status.vip ?? null;
    }
    this.send({ type: 'usage', missed: [name], used: [] });
    return 'fallback';
  }

  connect(c: AgentFacing, override: Partial<{ clusterId: string; version: number; hasConfig: boolean; epoch: AgentEpoch; heldClusterOnly: boolean }> = {}): void {
    this.controller = c;
    this.closedWith = null;
    this.stream = c.open(this);
    if (this.closedWith !== null) return;
    const hasConfig = override.hasConfig ?? this.config.version !== null;
    this.send({
      type: 'hello',
      agentId: this.id,
      clusterId: override.clusterId ?? this.config.clusterId,
      clusterName: this.config.clusterName,
      hasConfig,
      version: override.version ?? this.config.version ?? 0,
      manifest: this.config.manifest(),
      epoch: override.epoch ?? { boot: this.boot, seq: ++this.seq },
      info: { protocols: [...(this.decl.protocols ?? ['http', 'tcp'])].sort(), lazy: this.decl.lazy, dependencies: [...this.decl.dependencies].sort(), hosts: this.decl.hosts.map((h) => h.name).sort() },
      hosts: [...this.decl.hosts].sort((a, b) => (a.name < b.name ? -1 : 1)),
      rejectedVersion: this.config.rejected,
      pushParts: this.pushParts,
      heldClusterOnly: override.heldClusterOnly ?? false,
    });
  }

  /** The agent's side ends the stream (process killed, network reset). */
  disconnect(): void {
    const c = this.controller;
    if (c === null) return;
    c.end(this.stream);
    this.controller = null;
  }

  send(m: AgentMessage): void {
    this.replies.push(m);
    if (this.controller === null) return;
    this.lastSentAt = this.controller.clock.now;
    this.controller.deliver(this.stream, m);
  }

  receive(m: ControllerMessage): void {
    switch (m.type) {
      case 'welcome':
        this.session = m.session;
        return;
      case 'ping':
        this.pings.push(m.seq);
        this.pingTimeouts.push(m.timeoutMs);
        if (this.answerPings) this.send({ type: 'pong', seq: m.seq });
        return;
      case 'push':
        this.received.push(m);
        if (this.autoReply) this.reply(m);
        return;
    }
  }

  /** Judge a push with the real agent logic and answer as the agent binary would. */
  reply(push: Push): void {
    const verdict = this.config.judge({ version: push.plan.version, baseVersion: push.plan.baseVersion, clusterId: push.clusterId, upserts: push.plan.upserts, removes: push.plan.removes });
    if (verdict.type === 'accept') {
      this.config.commit(verdict.next);
      this.send({ type: 'ack', nonce: push.nonce, version: push.plan.version });
    }
    else if (verdict.type === 'reject') {
      this.config.reject(push.plan.version);
      this.send({ type: 'nack', nonce: push.nonce, version: push.plan.version, error: verdict.error });
    }
  }

  /** A push was written to a stream of this agent (it may yet be lost on its way). */
  onPushWritten(_push: Push): void {}

  onClosed(code: CloseCode, reason: string): void {
    this.closedWith = { code, reason };
    this.controller = null;
  }

  names(): string[] {
    return this.config.json().resources.map((r) => resourceKey(r.kind, r.name));
  }
}

/** Runs every controller until nothing moves: pushes, replies, reports, applies. */
export function settle(controllers: readonly SimController[]): void {
  for (let round = 0; round < 100; round++) {
    let moved = false;
    for (const c of controllers) moved = c.flush() || moved;
    for (const c of controllers) moved = c.catchUp() || moved;
    if (!moved) return;
  }
  throw new Error('the controllers did not settle in 100 rounds');
}

/** Advances time in steps of `stepMs`, ticking and settling every controller each step. */
export function advance(clock: { now: number }, controllers: readonly SimController[], ms: number, stepMs = 50): void {
  const end = clock.now + ms;
  while (clock.now < end) {
    clock.now = Math.min(end, clock.now + stepMs);
    for (const c of controllers) c.tick();
    settle(controllers);
  }
}

export const svc = (name: string, protocol = 'http', ports: number[] = [80]): ResourceInput => ({ kind: 'service', name, spec: { protocol, ports }, labels: {} });
export const rt = (name: string, from: string, to: string): ResourceInput => ({ kind: 'route', name, spec: { from, to }, labels: {} });
export const applyCmd = (...resources: ResourceInput[]): KindCommand => ({ kind: 'mesh', op: 'apply', resources } as KindCommand);

export const host = (name: string, protocol = 'http', ports: number[] = [80], labels: Record<string, string> = {}): HostedService => ({ name, spec: { protocol, ports }, labels });

/**
 * Two controllers on one log, c1 leading, at cluster `version`, agents' services unlisted for
 * `graceMs` expired; `setup(now)` proposed before their first tick (an operator's services, say).
 */
export function meshStage(version: string, graceMs: number, setup: (now: number) => readonly KindCommand[] = () => []): { log: SimLog; clock: { now: number }; cs: [SimController, SimController] } {
  const log = new SimLog();
  const clock = { now: 1_700_000_000_000 };
  const cs = ['c1', 'c2'].map((id) => new SimController(id, log, clock, { unlistedServiceGraceMs: graceMs })) as [SimController, SimController];
  cs[0].leading = true;
  log.propose({ kind: 'cluster', op: 'set-version', version } as KindCommand);
  for (const cmd of setup(clock.now)) log.propose(cmd);
  for (const c of cs) c.tick();
  settle(cs);
  return { log, clock, cs };
}
