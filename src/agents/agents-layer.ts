/**
 * The agents layer of one controller, composed: the hub and its driver (AgentSync streams),
 * the Mesh service (resources, `list agents`, agent reports), and the ports that connect them
 * to consensus, the state machine, membership and audit. controller-node.ts only constructs it,
 * registers its services, tells it when entries apply, and stops it.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type client from 'prom-client';
import type { ConsensusPort } from '../api/consensus-port.js';
import { MeshForwarder } from '../api/mesh-forwarder.js';
import { forwardKeepalive } from '../api/forward-keepalive.js';
import { meshOps, meshReportRequest, reportRequest } from '../api/mesh-ops.js';
import type { OwnerOf } from '../api/caller-owner.js';
import { meshService, type AgentList } from '../api/mesh-service.js';
import { onLeaderOf } from '../api/on-leader.js';
import type { HeartbeatConfig } from '../config/types.js';
import { auditEvent, type AuditEvent } from '../membership/audit.js';
import type { MembershipView } from '../membership/membership-engine.js';
import { agentsKind, clusterKind, meshKind, settingsKind, type StateMachine } from '../statemachine/index.js';
import type { Refusal } from '../identity/index.js';
import type { AuthenticatedCall } from '../transport/peer-auth.js';
import { loadProto, lookupService } from '../transport/proto.js';
import { strictRequests } from '../transport/strict-decode.js';
import { Fields } from '../util/untrusted.js';
import { HubDriver, sessionPrefix, type SyncCall } from './hub-driver.js';
import { AGENT_SYNC_SERVICE } from './sync-codec.js';
import { departureGraceMs } from './hub.js';
import { agentRows } from './listing.js';
import { decodePublishStanding } from './publish-standing.js';
import type { LiveAgent } from './types.js';
import type { StateQuota } from '../api/state-quota.js';
import { MeshBound, registerMeshBoundMetrics } from '../api/mesh-bound.js';

export interface AgentsLayerDeps {
  readonly self: string;
  readonly host: ConsensusPort & { lastLeaderContactAt(): number | null };
  readonly stateMachine: StateMachine;
  readonly membership: () => MembershipView;
  /**
   * When this controller last heard from a peer (the membership detector's contact, on
   * performance.now()'s clock); null if never. What `membership()` rows show, without building
   * them: the hub asks it on every tick.
   */
  readonly lastContactAt: (peer: string) => number | null;
  readonly addressOf: (id: string) => string | null;
  readonly isMember: (id: string) => boolean;
  /** Why this node cannot serve a request that needs the cluster now; null: it can (quorum-guard.ts). */
  readonly cutOff?: () => string | null;
  /** How long a forward of `ctl apply` / `delete` keeps trying a leader that does not answer (on-leader.ts); absent: the client's deadline. */
  readonly forwardBudgetMs?: number;
  /** When this node last heard `leader` as its leader (on-leader.ts): a forward to a leader still heard keeps the client's deadline. */
  readonly leaderHeardAt?: (leader: string) => number | null;
  /** Credentials to dial other controllers (forwarding, live rows). */
  readonly credentials: grpc.ChannelCredentials;
  readonly heartbeat: HeartbeatConfig;
  readonly electionTimeoutMs: number;
  readonly stateSyncIntervalMs: number;
  /** An agent offline this long is forgotten (controller.agent_reconnect_timeout). */
  readonly reconnectTimeoutMs: number;
  /** The cluster's identity: its id once drawn, its name before (see docs/agents.md). */
  readonly clusterId: () => string;
  /** The cluster's `cluster.name`, told to agents in the welcome (a restore keeps it). */
  readonly clusterName: string;
  /** Null when a gRPC caller presents a controller's peer certificate (ReportAgents is theirs only). */
  readonly peerCaller: (call: AuthenticatedCall) => Refusal | null;
  /** Whose exactly-once record a client's write makes (src/api/caller-owner.ts). */
  readonly ownerOf?: OwnerOf;
  /** The commit index when the process started: entries up to it were audited by the previous run. */
  readonly replayUntil: number;
  readonly audit: (e: AuditEvent) => void;
  readonly logger: Logger;
  readonly defaultTimeoutMs: number;
  /** controller.quota_bytes (src/api/state-quota.ts), for `ctl apply`. */
  readonly quota?: StateQuota;
  /** controller.max_mesh_bytes (src/api/mesh-bound.ts), for `ctl apply` and agents' publishes. */
  readonly maxMeshBytes: number;
  /** Who refuses this controller now (a second process of its member, its cluster.name); '': nobody. */
  readonly refusals?: () => string;
}

/**
 * Agents are pinged every base_timeout / 2 (at least 100 ms): two pings within the timeout,
 * which TCP delivers or breaks. Heartbeats are most of an idle controller's agent traffic (a
 * thousand agents at base/4 cost a controller more CPU than the pushes of a change a second).
 */
export function agentPingIntervalMs(heartbeat: HeartbeatConfig): number {
  return Math.max(100, Math.round(heartbeat.baseTimeoutMs / 2));
}

/** How long `list agents` waits for the other controllers' live rows (they answer in milliseconds). */
const LIVE_ROWS_WAIT_MS = 500;

export class AgentsLayer {
  readonly driver: HubDriver;
  private readonly forwarder: MeshForwarder;
  private readonly syncService: grpc.ServiceDefinition;
  private readonly meshDefinition: grpc.ServiceDefinition;
  private readonly meshImpl: grpc.UntypedServiceImplementation;
  private controllersCache: { at: number; view: MembershipView } | null = null;
  private readonly meshBound: MeshBound;

  constructor(private readonly deps: AgentsLayerDeps) {
    const { self, host, stateMachine: sm } = deps;
    this.forwarder = new MeshForwarder(deps.credentials, forwardKeepalive(deps.electionTimeoutMs));
    const cutOff = deps.cutOff === undefined ? {} : { cutOff: deps.cutOff };
    const budget = deps.forwardBudgetMs === undefined ? {} : { forwardBudgetMs: deps.forwardBudgetMs };
    const heard = deps.leaderHeardAt === undefined ? {} : { leaderHeardAt: deps.leaderHeardAt };
    const onLeader = onLeaderOf({ id: self, host, addressOf: deps.addressOf, forwarder: this.forwarder, ...cutOff, ...budget, ...heard });
    const meshBound = (this.meshBound = new MeshBound(deps.maxMeshBytes, () => sm.view(meshKind)));
    let clockWarnedAt = Number.NEGATIVE_INFINITY;
    const onClockAhead = (aheadMs: number): void => {
      const now = performance.now();
      if (now - clockWarnedAt < 60_000) return;
      clockWarnedAt = now;
      deps.logger.warn(
        { code: 'CLOCK_AHEAD', aheadMs: Math.round(aheadMs) },
        `the wall clock is ${Math.round(aheadMs / 1000)}s ahead of the time this controller's monotonic clock says has passed (it was stepped ahead); ` +
          'mesh commands are stamped with the monotonic estimate instead, so quarantines and dependency expiry keep their pace (docs/agents.md, "Time in apply"). ' +
          'If the new time is right, restart this controller once the clock is correct',
      );
    };
    const ops = meshOps({ host, stateMachine: sm, onLeader, isMember: deps.isMember, self, meshBound, onClockAhead, ...cutOff, ...(deps.quota === undefined ? {} : { quota: deps.quota }) });
    this.driver = new HubDriver(
      {
        self,
        detector: {
          baseTimeoutMs: deps.heartbeat.baseTimeoutMs,
          dynamicAdjustment: deps.heartbeat.dynamicAdjustment,
          rttWindow: deps.heartbeat.rttWindow,
          minTimeoutMs: deps.heartbeat.minTimeoutMs,
          maxTimeoutMs: deps.heartbeat.maxTimeoutMs,
        },
        pingIntervalMs: agentPingIntervalMs(deps.heartbeat),
        electionTimeoutMs: deps.electionTimeoutMs,
        stateSyncIntervalMs: deps.stateSyncIntervalMs,
        reconnectTimeoutMs: deps.reconnectTimeoutMs,
        sessionPrefix: sessionPrefix(self),
      },
      {
        logger: deps.logger,
        state: () => ({ mesh: sm.view(meshKind), agents: sm.view(agentsKind), settings: sm.view(settingsKind), cluster: sm.view(clusterKind), revision: sm.revision() }),
        wallClock: () => Date.now(),
        atQuota: () => deps.quota !== undefined && deps.quota.used() >= deps.quota.quotaBytes,
        meshRoom: (growth) => meshBound.refusal(growth),
        refusals: () => deps.refusals?.() ?? '',
        clusterId: deps.clusterId,
        clusterName: () => deps.clusterName,
        quorumContactAt: () => this.quorumContactAt(),
        leaderContactAt: () => host.lastLeaderContactAt(),
        leading: () => host.softState().role === 'leader',
        replaying: () => sm.appliedIndex <= deps.replayUntil,
        controller: (id) => {
          const row = this.controllers().rows.find((r) => r.id === id);
          if (row === undefined) return { online: false, silentMs: null };
          return { online: row.online, silentMs: row.peer?.lastContactMs ?? (id === self ? 0 : null) };
        },
        readBarrier: (timeoutMs) => host.readBarrier(timeoutMs),
        liveElsewhere: async (timeoutMs) => (await this.peersLiveRows(Date.now() + timeoutMs)).rows,
        report: async (entries, client, timeoutMs) => {
          await ops.report(reportRequest(self, entries, client), Date.now() + timeoutMs);
        },
        meshReport: async (report, client, timeoutMs) => {
          await ops.reportMesh(meshReportRequest(report, client), Date.now() + timeoutMs);
        },
        audit: (e) => deps.audit(auditEvent(Date.now(), self, e.type, { subject: e.subject, from: e.from, to: e.to, reason: e.reason })),
      },
    );
    const proto = loadProto('agent.proto');
    this.syncService = AGENT_SYNC_SERVICE;
    this.meshDefinition = strictRequests(lookupService(proto, 'controller.agents.Mesh').service);
    this.meshImpl = meshService({
      self,
      ops,
      defaultTimeoutMs: deps.defaultTimeoutMs,
      listAgents: (localOnly, deadline) => this.listAgents(localOnly, deadline),
      peerCaller: deps.peerCaller,
      ...(deps.ownerOf === undefined ? {} : { ownerOf: deps.ownerOf }),
    });
  }

  register(server: grpc.Server, metrics: client.Registry): void {
    server.addService(this.syncService, { Sync: (call: Parameters<HubDriver['serve']>[0]) => this.driver.serve(call) });
    server.addService(this.meshDefinition, this.meshImpl);
    this.driver.registerMetrics(metrics);
    registerMeshBoundMetrics(this.meshBound, metrics);
  }

  start(): void {
    this.driver.start();
  }

  /** Ends each agent stream whose caller `judge` now refuses (hub-driver.ts); how many. */
  refuseWhere(judge: (method: string, call: SyncCall) => string | null): number {
    return this.driver.refuseWhere((call) => judge(call.getPath(), call));
  }

  onApplied(): void {
    this.driver.onApplied();
  }

  /** Closes every agent stream (agents move at once) and the peer channels. */
  stop(): void {
    this.driver.stop();
    this.forwarder.close();
  }

  private controllers(): MembershipView {
    return this.cachedControllers().view;
  }

  private cachedControllers(): { at: number; view: MembershipView } {
    const now = performance.now();
    if (this.controllersCache === null || now - this.controllersCache.at > 50) this.controllersCache = { at: now, view: this.deps.membership() };
    return this.controllersCache;
  }

  /**
   * The latest instant at which this controller had heard, within the detector's memory, from
   * a quorum of voters (itself included), by any message: Raft's or the membership pings that
   * every controller sends every other. Not only the leader's messages: a follower whose leader
   * just died still hears the other followers, is not cut off, and keeps its agents through
   * the election.
   */
  private quorumContactAt(): number | null {
    const voters = this.deps.host.status().conf.voters;
    const heard = voters
      .map((v) => (v === this.deps.self ? performance.now() : (this.deps.lastContactAt(v) ?? Number.NEGATIVE_INFINITY)))
      .sort((a, b) => b - a);
    const quorumth = heard[Math.floor(voters.length / 2)] ?? Number.NEGATIVE_INFINITY;
    const raft = this.deps.host.lastLeaderContactAt() ?? Number.NEGATIVE_INFINITY;
    const best = Math.max(quorumth, raft);
    return best === Number.NEGATIVE_INFINITY ? null : best;
  }

  /**
   * The live agents of every other member this one hears from, not only those the records
   * name: an agent that just moved is live on a controller its record does not name yet.
   * Members it does not hear from would only make the caller wait; `answered` says who did.
   */
  private async peersLiveRows(until: number): Promise<{ readonly rows: LiveAgent[]; readonly answered: ReadonlySet<string> }> {
    const view = this.deps.membership();
    const heard = new Set(view.rows.filter((r) => r.online || r.localState === 'online').map((r) => r.id));
    const others = this.deps.stateMachine.members.list().filter((m) => m.id !== this.deps.self && heard.has(m.id));
    const rows: LiveAgent[] = [];
    const answered = new Set<string>();
    await Promise.all(
      others.map(async (m) => {
        const address = this.deps.addressOf(m.id);
        if (address === null) return;
        try {
          rows.push(...decodeLiveRows(await this.forwarder.listLocal(address, until), m.id));
          answered.add(m.id);
        } catch (err) {
          this.deps.logger.debug({ err, controller: m.id }, 'no live agent rows from a controller');
        }
      }),
    );
    return { rows, answered };
  }

  private async listAgents(localOnly: boolean, deadline: number): Promise<AgentList> {
    const hub = this.driver.hub;
    const view = this.deps.membership();
    const live = hub.live(performance.now());
    if (localOnly) return { agents: live, stale: view.stale, staleReason: view.staleReason };
    const sm = this.deps.stateMachine;
    const records = sm.view(agentsKind).list();
    const byId = new Map<string, LiveAgent[]>();
    const add = (row: LiveAgent): void => {
      const list = byId.get(row.id);
      if (list === undefined) byId.set(row.id, [row]);
      else list.push(row);
    };
    for (const row of live) add(row);
    const peers = await this.peersLiveRows(Math.min(deadline, Date.now() + LIVE_ROWS_WAIT_MS));
    for (const row of peers.rows) add(row);
    const answered = new Set<string>([this.deps.self, ...peers.answered]);
    const rowsById = new Map(view.rows.map((r) => [r.id, r]));
    const pingMs = agentPingIntervalMs(this.deps.heartbeat);
    const rows = agentRows({
      records,
      wantedVersion: (r) => hub.wantedVersion(r.id, r),
      controller: (id) => {
        if (id === this.deps.self) return { online: !hub.cutOffAt(performance.now()), silentMs: 0 };
        const row = rowsById.get(id);
        return { online: row?.online ?? false, silentMs: row?.peer?.lastContactMs ?? null };
      },
      // As the leader's expiry: grace, and an election timeout for a claim to commit elsewhere.
      graceMs: (timeoutMs) => departureGraceMs(timeoutMs, pingMs) + this.deps.electionTimeoutMs,
      live: byId,
      answered,
      declaration: (id) => sm.view(meshKind).declaration(id),
    });
    return { agents: rows, stale: view.stale, staleReason: view.staleReason };
  }
}

/** Another controller's live rows are untrusted input like any answer; `controller` is who was asked. */
function decodeLiveRows(raw: unknown, controller: string): LiveAgent[] {
  const f = Fields.of(raw, 'ListAgentsResponse', (m) => new Error(m));
  const bytes = f.raw['agents'];
  if (!(bytes instanceof Uint8Array)) throw new Error('ListAgentsResponse.agents: expected bytes');
  const list: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
  if (!Array.isArray(list)) throw new Error('ListAgentsResponse.agents: expected a list');
  return (list as readonly unknown[]).map((item, i) => {
    const r = Fields.of(item, `agents[${i}]`, (m) => new Error(m));
    return {
      id: r.string('id', { maxBytes: 253 }),
      controller,
      session: r.string('session', { maxBytes: 128 }),
      lastContactMs: r.int('lastContactMs', { min: 0 }),
      heartbeatTimeoutMs: r.int('heartbeatTimeoutMs', { min: 0 }),
      departing: r.boolean('departing'),
      publish: decodePublishStanding(r.raw['publish'], `agents[${i}].publish`, (m) => new Error(m)),
    };
  });
}
