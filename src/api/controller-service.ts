/**
 * The client API (proto/controller.proto). Any controller answers; what needs the leader is
 * proposed here when this node leads, and otherwise forwarded to the leader once.
 */
import * as grpc from '@grpc/grpc-js';
import { clusterKind, type StateMachine } from '../statemachine/index.js';
import type { ConsensusPort } from './consensus-port.js';
import { controllersViewWire, type ControllersView, type ControllersViewWire } from './controller-rows.js';
import { configOps, type ConfigSetRequestMsg } from './config-ops.js';
import { healthOps, type HealthRequestMsg, type HealthSource } from './health-ops.js';
import type { HealthResponseMsg } from './health-wire.js';
import { resourcesToWire, type ResourcesRequestMsg, type ResourcesResponseMsg } from './resources-wire.js';
import type { ResourcesReport } from '../resources/types.js';
import { kvOwned, type OwnerOf } from './caller-owner.js';
import { kvOps } from './kv-ops.js';
import { memberOps, type MemberResponseMsg } from './member-ops.js';
import type { KvSessions, SessionRefusal } from './kv-session-service.js';
import { onLeaderOf, type ForwardToLeader } from './on-leader.js';
import { unaryHandler } from './unary-handler.js';
import { ServiceFailure } from './service-error.js';
import { auditLimits, serveAudit, type AuditLimits, type AuditSource } from './audit-handler.js';
import type {
  AuditEventMsg,
  AuditRequestMsg,
  DeleteRequestMsg,
  GetRequestMsg,
  LeaderTransferRequestMsg,
  MemberAddRequestMsg,
  MemberIdRequestMsg,
  PutRequestMsg,
  StatusReportMsg,
} from './wire-types.js';
import type { StateQuota } from './state-quota.js';
import { WriteTurns } from './write-turns.js';

export interface ControllerServiceDeps {
  readonly id: string;
  readonly clusterName: string;
  readonly version: string;
  readonly host: ConsensusPort;
  readonly stateMachine: StateMachine;
  readonly addressOf: (id: string) => string | null;
  readonly forwarder: ForwardToLeader;
  readonly listControllers: () => ControllersView;
  readonly audit: AuditSource;
  /** The caps on audit follows and listings (audit-handler.ts); absent: the defaults, counted by no metrics. */
  readonly auditLimits?: AuditLimits;
  readonly defaultTimeoutMs: number;
  /** The cluster id (src/identity), null before the first leader drew it. */
  readonly clusterId: () => string | null;
  /** A leader whose commit index stands still this long with entries waiting is unhealthy. */
  readonly commitStallLimitMs: number;
  /** This node's raft.heartbeat_interval: settings that health reads are checked against it. */
  readonly raftHeartbeatIntervalMs: number;
  /** Whether a Raft message from peer `id` reached this node within an election timeout (member remove's quorum check). */
  readonly peerHeard: (id: string) => boolean;
  /** Where KvSession streams register, so a graceful shutdown can end them. */
  readonly sessions: KvSessions;
  /** Health in depth (`ctl health`); absent: this node does not serve it. */
  readonly health?: HealthSource;
  /** Members' machine resources (`ctl resources`). */
  readonly resources?: { gather(refresh: boolean): Promise<ResourcesReport> };
  /** Why this node cannot serve a request that needs the cluster now; null: it can (quorum-guard.ts). */
  readonly cutOff?: () => string | null;
  /** Peers seen answering for another cluster id, with the fix ('' when none): health is unhealthy then (health-ops.ts). */
  readonly otherClusters?: () => string;
  /** How long a forward keeps trying a leader that does not answer before the client is sent elsewhere (on-leader.ts). */
  readonly forwardBudgetMs?: number;
  /** When this node last heard from `leader` as its leader (ms since the epoch), null when it is not its leader: a forward is kept while it does (on-leader.ts). */
  readonly leaderHeardAt?: (leader: string) => number | null;
  /** controller.quota_bytes: writes that would pass it are refused on the leader (NO_SPACE). */
  readonly quota?: StateQuota;
  /** Whose exactly-once record a write makes (caller-owner.ts); absent: none, whatever a request claims. */
  readonly ownerOf?: OwnerOf;
  /** Why a KvSession's caller may no longer call, judged at each request (a removed member's key); absent: never. */
  readonly sessionRefusal?: SessionRefusal;
}

export function controllerService(deps: ControllerServiceDeps): grpc.UntypedServiceImplementation {
  const { host, stateMachine: sm } = deps;
  const t = deps.defaultTimeoutMs;
  const onLeader = onLeaderOf(deps);
  const kv = kvOps(host, deps.stateMachine, onLeader, deps.cutOff, deps.quota, new WriteTurns((fn) => setImmediate(fn)));
  const config = configOps(deps.id, host, sm, onLeader, deps.raftHeartbeatIntervalMs);
  const health = deps.health === undefined ? null : healthOps({ ...deps, source: deps.health });
  const members = memberOps(deps.id, host, sm, onLeader, deps.peerHeard);
  const audit = deps.auditLimits ?? auditLimits();
  const ownerOf: OwnerOf = deps.ownerOf ?? (() => undefined);

  return {
    Put: unaryHandler<PutRequestMsg, { revision: number }>((req, deadline, call) => kv.put(kvOwned(req, ownerOf(call, req.client?.owner ?? '', req.forwarded)), deadline), t),
    Delete: unaryHandler<DeleteRequestMsg, { revision: number }>((req, deadline, call) => kv.delete(kvOwned(req, ownerOf(call, req.client?.owner ?? '', req.forwarded)), deadline), t),
    Get: unaryHandler<GetRequestMsg, { key: string; value: Buffer; revision: number }>((req, deadline) => kv.get(req, deadline), t),
    KvSession: deps.sessions.handler(kv, t, ownerOf, deps.sessionRefusal),
    ConfigGet: unaryHandler<{ key: string }, object>((req, deadline) => config.get(req, deadline), t),
    ConfigSet: unaryHandler<ConfigSetRequestMsg, object>((req, deadline) => config.set(req, deadline), t),

    ListControllers: unaryHandler<object, ControllersViewWire>(async () => controllersViewWire(deps.listControllers()), t),
    Health: unaryHandler<HealthRequestMsg, HealthResponseMsg>(async (req, deadline) => {
      if (health === null) throw new ServiceFailure('INTERNAL', `${deps.id} does not judge health`);
      return health.health(req, deadline);
    }, t),
    Resources: unaryHandler<ResourcesRequestMsg, ResourcesResponseMsg>(async (req) => {
      if (deps.resources === undefined) throw new ServiceFailure('INTERNAL', `${deps.id} does not gather resources`);
      return resourcesToWire(await deps.resources.gather(req.refresh));
    }, t),

    Status: unaryHandler<object, object>(async () => {
      const st = host.status();
      const view = deps.listControllers();
      return {
        id: st.id,
        term: st.term,
        leader: st.leader ?? '',
        role: st.role,
        commitIndex: st.commit,
        appliedIndex: sm.appliedIndex,
        lastIndex: st.lastIndex,
        firstIndex: st.firstIndex,
        voters: [...st.conf.voters],
        learners: [...st.conf.learners],
        version: deps.version,
        snapshotIndex: host.snapshotIndex(),
        cluster: deps.clusterName,
        clusterId: deps.clusterId() ?? '',
        commitStallMs: Math.floor(host.commitStallMs()),
        commitStalled: host.commitStallMs() >= deps.commitStallLimitMs,
        stale: view.stale,
        staleReason: view.staleReason,
        clusterVersion: sm.view(clusterKind).version,
      };
    }, t),

    MemberAdd: unaryHandler<MemberAddRequestMsg, MemberResponseMsg>((req, deadline) => members.add(req, deadline), t),
    MemberPromote: unaryHandler<MemberIdRequestMsg, MemberResponseMsg>((req, deadline) => members.promote(req, deadline), t),
    MemberRemove: unaryHandler<MemberIdRequestMsg, MemberResponseMsg>((req, deadline) => members.remove(req, deadline), t),

    LeaderTransfer: unaryHandler<LeaderTransferRequestMsg, { leader: string; unchanged?: boolean }>(async (req, deadline) =>
      onLeader('leaderTransfer', req, deadline, async () => {
        // Already the leader: nothing to do, and the operator is told so (a repeat exits 0, as member steps do).
        if (req.target === deps.id) return { leader: deps.id, unchanged: true };
        if (req.target === '') {
          // Alone, there is nobody to hand off to: say that, not "no other voter took leadership in time" (ops55).
          if (host.status().conf.voters.every((v) => v === deps.id)) {
            throw new ServiceFailure('FAILED_PRECONDITION', `${deps.id} is the only voter: there is no other voter to hand leadership to (add one first: ctl member add ID ADDRESS)`);
          }
          const next = await host.handOffLeadership();
          if (next === null) throw new ServiceFailure('TIMEOUT', 'no other voter took leadership in time');
          return { leader: next };
        }
        // A learner is a member, not a missing id (exit 4): it cannot lead until promoted.
        if (host.status().conf.learners.includes(req.target)) {
          throw new ServiceFailure('FAILED_PRECONDITION', `${req.target} is a learner: only a voter can lead (ctl member promote ${req.target} first)`);
        }
        // A voter not heard from cannot take over: the transfer would leave the cluster without a
        // leader until it lapsed, and then time out without saying why (attack round 10).
        if (host.status().conf.voters.includes(req.target) && !deps.peerHeard(req.target)) {
          throw new ServiceFailure('FAILED_PRECONDITION', `${req.target} has not been heard from within an election timeout: a transfer to it would leave the cluster without a leader until it lapsed; start it, or transfer to another voter (ctl leader transfer with no id picks the most up-to-date)`);
        }
        host.transferLeadership(req.target);
        return { leader: await waitLeaderIs(host, req.target, deadline) };
      }),
    t),

    // A controller-to-controller call: it moved to the peer service (controller.peer.RaftPeer),
    // where only the reporter's own peer certificate may call it. Any caller here is refused.
    ReportStatus: (_call: grpc.ServerUnaryCall<StatusReportMsg, unknown>, cb: grpc.sendUnaryData<unknown>) =>
      cb({
        code: grpc.status.PERMISSION_DENIED,
        details: 'ReportStatus is a controller-to-controller call: it is served by controller.peer.RaftPeer/ReportStatus, for peer certificates only',
      }),

    Audit: (call: grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>) => serveAudit(call, deps.audit, audit),
  };
}

async function waitLeaderIs(host: ConsensusPort, target: string, deadline: number): Promise<string> {
  while (Date.now() < deadline) {
    if (host.softState().leader === target) return target;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new ServiceFailure('TIMEOUT', `leadership did not move to ${target} before the deadline`);
}
