/**
 * One controller process: composes storage, the Raft host, the peer transport, the client
 * API, the membership layer, audit and metrics, and shuts them down in reverse order.
 */
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import type { NodeConfig } from '../config/index.js';
import { controllerService } from '../api/controller-service.js';
import { KvSessions } from '../api/kv-session-service.js';
import { LeaderForwarder } from '../api/leader-forwarder.js';
import { controllersView } from '../api/controller-rows.js';
import type { AuditEventMsg } from '../api/wire-types.js';
import { loadProto, lookupService } from '../transport/proto.js';
import { strictRequests } from '../transport/strict-decode.js';
import type { ConfEntry, Message } from '../raft/index.js';
import { StateMachine, encodeCommand } from '../statemachine/index.js';
import type { LevelRaftStorage } from '../storage/level-raft-storage.js';
import { PeerTransport, peerServerOptions } from '../transport/peer-transport.js';
import { insecureCredentials, mutualTlsCredentials, tlsPeerAuth, type PeerCredentials } from '../transport/credentials.js';
import { plaintextPeerAuth } from '../transport/peer-auth.js';
import { osIdentitySource, type Duty } from '../identity/index.js';
import { systemScheduler, type Timer } from '../util/clock.js';
import { randomSeed, seededRng } from '../util/rng.js';
import { AuditStore } from '../membership/audit-store.js';
import { auditEvent, leaderChanged, type AuditEvent } from '../membership/audit.js';
import { commitStallLimitMs } from './commit-stall.js';
import { confEntryToMembersCommand } from './conf-members.js';
import { NodeIdentity } from './node-identity.js';
import { plaintextWarnings } from './plaintext-warning.js';
import { RaftHost } from './raft-host.js';
import { prepareDataDir } from './startup.js';
import type { MembershipNode } from './membership-port.js';
import { createMembershipNode } from './membership-driver.js';
import { AgentsLayer } from '../agents/agents-layer.js';
import { Metrics } from './metrics.js';
import { SettingsKeeper } from './settings-keeper.js';
import { settingsKind } from '../statemachine/settings.js';
import { VERSION } from './version.js';

export interface ControllerNodeOptions {
  readonly config: NodeConfig;
  readonly logger: Logger;
  /** Start without bootstrapping: wait to be added by `ctl member add` and replicated to. */
  readonly join: boolean;
  /** Called when the node can no longer keep its durability promises. */
  readonly onFatal: (err: Error) => void;
}

export class ControllerNode {
  private constructor(
    readonly config: NodeConfig,
    private readonly logger: Logger,
    private readonly storage: LevelRaftStorage,
    private readonly audit: AuditStore,
    readonly host: RaftHost,
    private readonly transport: PeerTransport,
    private readonly server: grpc.Server,
    private readonly membership: MembershipNode,
    private readonly forwarder: LeaderForwarder,
    private readonly metrics: Metrics,
    private readonly health: HealthImplementation,
    private readonly sessions: KvSessions,
    private readonly identityTicker: Timer,
    private readonly agents: AgentsLayer,
  ) {}

  static async start(opts: ControllerNodeOptions): Promise<ControllerNode> {
    const { config, logger } = opts;
    const self = config.self;
    for (const warning of plaintextWarnings(config)) logger.warn(warning);
    const creds: PeerCredentials = config.tls ? mutualTlsCredentials(config.tls) : insecureCredentials();
    const peerAuth = config.tls ? tlsPeerAuth(config.tls) : plaintextPeerAuth;
    fs.mkdirSync(config.dataDir, { recursive: true });
    // Decides bootstrap / join / start (or refuses the data dir) before anything else runs.
    const { storage, persisted, identity } = await prepareDataDir({ config, join: opts.join, logger, credentials: creds.client, newId: osIdentitySource });
    const audit = await AuditStore.open(config.dataDir, config.auditRetention);
    const sm = new StateMachine();
    const metrics = new Metrics(self.id);

    const recordAudit = (e: AuditEvent): void => {
      logger.info({ audit: e }, `audit ${e.type}`);
      metrics.onAudit(e);
      audit.append(e).catch((err: unknown) => logger.warn({ err }, 'audit event not persisted'));
    };

    const knownAddress = (id: string): string | null =>
      sm.members.get(id)?.address || config.nodes.find((n) => n.id === id)?.address || null;

    const isConfigured = (id: string): boolean => config.nodes.some((n) => n.id === id);
    const settingsKeeper = new SettingsKeeper({
      file: config.settings,
      view: () => sm.view(settingsKind),
      isLeader: () => host?.softState().role === 'leader',
      proposeInit: async (values) => {
        if (host === null) throw new Error('not started');
        const result = await host.propose(encodeCommand({ kind: 'settings', op: 'init', values }), config.raft.electionTimeoutMs * 2);
        if (!result.ok) throw new Error(result.message);
      },
      logger,
    });

    // The host and the transport refer to each other; the transport is built first and
    // delivers into the host once it exists.
    let host: RaftHost | null = null;
    let membership: MembershipNode | null = null;
    const nodeIdentity = new NodeIdentity({
      self: self.id,
      clusterName: config.clusterName,
      configured: isConfigured,
      identity,
      persist: (next) => storage.saveIdentity(next),
      logger,
      onRefusal: (direction, peer, code, details, report) => {
        metrics.onPeerRefusal(direction, code ?? 'OTHER', peer);
        if (!report) return;
        const [sender, receiver] = direction === 'in' ? [peer, self.id] : [self.id, peer];
        logger.warn({ peer, code, direction }, direction === 'in' ? `refused a message from ${peer}: ${details}` : `${peer} refused this node's message: ${details}`);
        const reason = code !== null && details.startsWith(`${code}:`) ? details : `${code ?? 'PERMISSION_DENIED'}: ${details}`;
        recordAudit(auditEvent(Date.now(), self.id, 'peer.refused', { subject: peer, from: sender, to: receiver, reason }));
      },
      reportStatus: async (from, r) => (sm.members.get(r.member) === null || membership === null ? false : membership.reportStatus(r.member, r.status, r.reason, from)),
      onFatal: opts.onFatal,
      now: () => performance.now(),
    });
    let agents: AgentsLayer | null = null;
    const transport = new PeerTransport({
      self: self.id,
      clusterName: config.clusterName,
      maxMessageBytes: config.raft.maxMessageBytes,
      credentials: creds,
      // A member by the replicated records or by the cluster file. Not the records alone: a node
      // that is behind (say, restored from a snapshot older than its leader's own addition) must
      // still accept its leader, or it never catches up. A removed member is refused once it
      // is gone from both, which is the removal procedure of docs/deploy.md.
      isKnownPeer: (id) => sm.members.get(id) !== null || isConfigured(id),
      identity: nodeIdentity,
      auth: peerAuth,
      onMessage: (m: Message) => {
        host?.noteMessageFrom(m.from);
        membership?.noteContact(m.from);
        host?.step(m);
      },
      onUnreachable: (peer) => host?.reportUnreachable(peer),
      onSnapshotStatus: (peer, ok) => host?.reportSnapshot(peer, ok),
      onHeartbeat: (from, payload) => membership?.onHeartbeat(from, payload) ?? new Uint8Array(0),
      logger,
      // One batch is in flight per peer, and everything queued behind it (pre-votes too) waits
      // for its ack. A batch unacknowledged for two election timeouts is stale anyway: give up
      // on its stream and send the queue on a fresh one (the 5 s default kept 11 starved nodes
      // leaderless for tens of seconds; docs/fault-injection.md, finding 3).
      stepDeadlineMs: Math.max(1000, 2 * config.raft.electionTimeoutMs),
    });
    for (const n of config.nodes) transport.setPeer(n.id, n.address);

    host = new RaftHost({
      id: self.id,
      timing: config.raft,
      storage,
      persisted,
      stateMachine: sm,
      confCommand: confEntryToMembersCommand,
      scheduler: systemScheduler,
      rng: seededRng(randomSeed()),
      logger,
      send: (msgs) => {
        metrics.onSend(msgs);
        transport.send(msgs);
      },
      onSoftState: (s, term) => {
        settingsKeeper.check();
        logger.info({ leader: s.leader, role: s.role, term }, 'raft state changed');
        metrics.onSoftState(s, term);
        nodeIdentity.onRole(s.role === 'leader');
        membership?.onLeaderChange(s.leader, term);
        health.setStatus('', s.leader !== null ? 'SERVING' : 'NOT_SERVING');
      },
      onLeaderChanged: (from, to, term) => recordAudit(leaderChanged(Date.now(), self.id, from, to, term)),
      onConfApplied: (change: ConfEntry) => {
        applyConfToTransport(change, transport, knownAddress, self.id);
        if (change.type === 'add-learner' || change.type === 'remove') {
          recordAudit(
            auditEvent(Date.now(), self.id, change.type === 'remove' ? 'member.removed' : 'member.added', {
              subject: change.node,
              from: null,
              to: change.type === 'remove' ? null : change.context,
              reason: change.type === 'remove' ? 'removed by operator' : 'added as learner',
            }),
          );
        }
      },
      onApplied: () => {
        nodeIdentity.onApplied();
        membership?.onApplied();
        settingsKeeper.check();
        agents?.onApplied();
      },
      onProposalDone: (committed) => metrics.onProposal(committed ? 'committed' : 'failed'),
      onSnapshotRestored: () => {
        for (const m of sm.members.list()) if (m.id !== self.id) transport.setPeer(m.id, m.address);
      },
      onFatal: opts.onFatal,
    });
    const raftHost = host;
    nodeIdentity.bind({
      members: () => sm.members,
      raft: () => {
        const st = raftHost.status();
        return { term: st.term, lastIndex: st.lastIndex };
      },
      appliedIndex: () => sm.appliedIndex,
    });
    // Members that joined after bootstrap are only in the replicated records.
    for (const m of sm.members.list()) if (m.id !== self.id && m.address) transport.setPeer(m.id, m.address);

    const forwarder = new LeaderForwarder(creds.client);
    const sessions = new KvSessions();
    membership = createMembershipNode(
      {
        self: self.id,
        electionTimeoutMs: config.raft.electionTimeoutMs,
        logger,
        members: () => sm.members.list(),
        raftStatus: () => raftHost.status(),
        lastLeaderContactAt: () => raftHost.lastLeaderContactAt(),
        propose: (d, observedAt, term) =>
          raftHost.propose(
            encodeCommand({ kind: 'members', op: 'setStatus', id: d.id, status: d.status, reason: d.reason, observedAt, term }),
            config.raft.electionTimeoutMs * 2,
          ),
        forwardCorrection: async (d) => {
          const leader = raftHost.softState().leader;
          if (leader === null) return false;
          // The leader judges its own corrections as it judges a follower's.
          if (leader === self.id) return membership === null ? false : membership.reportStatus(d.id, d.status, d.reason, self.id);
          return transport.reportStatus(leader, { member: d.id, status: d.status, reason: d.reason }, config.raft.electionTimeoutMs);
        },
        ping: (peer, payload, deadlineMs) => transport.ping(peer, payload, deadlineMs),
        audit: recordAudit,
        onRtt: (peer, ms) => metrics.observeRtt(peer, ms),
      },
      { heartbeat: config.heartbeat, stateSyncIntervalMs: config.stateSyncIntervalMs, scheduler: systemScheduler, incarnation: randomInt(1, 2 ** 31) },
    );
    const membershipNode = membership;
    agents = new AgentsLayer({
      self: self.id,
      host: raftHost,
      stateMachine: sm,
      membership: () => membershipNode.listControllers(),
      addressOf: knownAddress,
      isMember: (id) => sm.members.get(id) !== null,
      credentials: creds.client,
      heartbeat: config.heartbeat,
      electionTimeoutMs: config.raft.electionTimeoutMs,
      stateSyncIntervalMs: config.stateSyncIntervalMs,
      // The cluster id its first leader drew (src/identity); its name in a new cluster's first moments.
      clusterId: () => nodeIdentity.clusterId() ?? config.clusterName,
      peerCaller: (call) => peerAuth.checkAnyPeer(call),
      replayUntil: persisted.hardState.commit,
      audit: recordAudit,
      logger,
      defaultTimeoutMs: 5000,
    });
    const agentsLayer = agents;

    const server = new grpc.Server(peerServerOptions(config.raft.maxMessageBytes));
    transport.register(server);
    const health = new HealthImplementation({ '': 'NOT_SERVING' });
    health.addToServer(server);
    agentsLayer.register(server, metrics.registry);
    const api = lookupService(loadProto('controller.proto'), 'controller.api.Controller');
    server.addService(
      strictRequests(api.service),
      controllerService({
        id: self.id,
        clusterName: config.clusterName,
        version: VERSION,
        host: raftHost,
        stateMachine: sm,
        addressOf: knownAddress,
        forwarder,
        listControllers: () =>
          controllersView({
            self: self.id,
            version: VERSION,
            raft: raftHost.status(),
            members: sm.members.list(),
            appliedIndex: sm.appliedIndex,
            membership: membershipNode.listControllers(),
          }),
        audit: {
          query: async (sinceMs) => (await audit.query({ sinceMs })).map(toAuditMsg),
          follow: (listener) => audit.follow((e) => listener(toAuditMsg(e))),
        },
        defaultTimeoutMs: 5000,
        clusterId: () => nodeIdentity.clusterId(),
        commitStallLimitMs: commitStallLimitMs(config.raft.electionTimeoutMs),
        sessions,
      }),
    );
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(self.listen, creds.server, (err) => (err ? reject(new Error(`cannot listen on ${self.listen}: ${err.message}`)) : resolve())),
    );
    metrics.bindState(() => ({
      status: raftHost.status(),
      applied: sm.appliedIndex,
      membership: membershipNode.listControllers(),
      commitStallMs: raftHost.commitStallMs(),
      commitStallLimitMs: commitStallLimitMs(config.raft.electionTimeoutMs),
    }));
    if (self.metrics) await metrics.listen(self.metrics, config.tls?.metrics ? { cert: fs.readFileSync(config.tls.cert), key: fs.readFileSync(config.tls.key) } : null);
    raftHost.start();
    membershipNode.start();
    agentsLayer.start();
    // The leader's identity duties: draw the cluster id once, record each member's data dir.
    const identityTicker = systemScheduler.every(config.raft.heartbeatIntervalMs, () => {
      for (const duty of nodeIdentity.duties()) nodeIdentity.proposed(duty, proposeDuty(raftHost, duty, config.raft.electionTimeoutMs * 2, osIdentitySource));
    });
    logger.info({ listen: self.listen, address: self.address, dataDir: config.dataDir, version: VERSION, incarnation: identity.incarnation, clusterId: nodeIdentity.clusterId() }, 'controller started');
    return new ControllerNode(config, logger, storage, audit, raftHost, transport, server, membershipNode, forwarder, metrics, health, sessions, identityTicker, agentsLayer);
  }

  /** Graceful stop: hand leadership off, finish the write in progress, close in reverse order. */
  async shutdown(): Promise<void> {
    this.identityTicker.cancel();
    const next = await this.host.handOffLeadership().catch(() => null);
    if (next) this.logger.info({ to: next }, 'handed leadership off before shutting down');
    // Agents move to another controller now, while the cluster still answers their claims.
    this.agents.stop();
    this.membership.stop();
    await this.host.stop();
    this.health.setStatus('', 'NOT_SERVING');
    // Open KvSessions would hold tryShutdown until the force timeout: end them first.
    this.sessions.endAll();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 500);
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    this.transport.close();
    this.forwarder.close();
    await this.metrics.close();
    await this.audit.close();
    await this.storage.close();
    this.logger.info('controller stopped');
  }
}

/** Proposes one identity duty through the host; the id of a new cluster is drawn here. */
function proposeDuty(host: RaftHost, duty: Duty, timeoutMs: number, newId: () => string) {
  const command =
    duty.kind === 'establish'
      ? encodeCommand({ kind: 'members', op: 'establish', clusterId: newId(), incarnations: duty.incarnations })
      : encodeCommand({ kind: 'members', op: 'recordIncarnation', id: duty.id, incarnation: duty.incarnation });
  return host.propose(command, timeoutMs);
}

function applyConfToTransport(change: ConfEntry, transport: PeerTransport, addressOf: (id: string) => string | null, self: string): void {
  switch (change.type) {
    case 'bootstrap':
      for (const id of change.voters) {
        const a = addressOf(id);
        if (a && id !== self) transport.setPeer(id, a);
      }
      return;
    case 'add-learner':
      if (change.node !== self) transport.setPeer(change.node, change.context);
      return;
    case 'promote':
      return;
    case 'remove':
      transport.removePeer(change.node);
      return;
  }
}

function toAuditMsg(e: AuditEvent): AuditEventMsg {
  return { time: e.time, node: e.node, type: e.type, subject: e.subject ?? '', from: e.from ?? '', to: e.to ?? '', reason: e.reason };
}
