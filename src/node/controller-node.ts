/**
 * One controller process: composes storage, the Raft host, the peer transport, the client
 * API, the membership layer, audit and metrics, and shuts them down in reverse order.
 */
import { clusterIdentityStamp } from '../api/cluster-identity.js';
import { ensurePrivateDataDir, removeCreatedDataDir } from './data-dir-mode.js';
import { randomBytes, randomInt } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { baseCallGuard } from '../transport/base-call-guard.js';
import { INCOMPLETE_REQUEST_BUDGET_BYTES, INCOMPLETE_REQUEST_MAX_CALLS, INCOMPLETE_REQUEST_STALL_MS, INCOMPLETE_SWEEP_MS, IncompleteRequests } from '../transport/incomplete-requests.js';
import { UNREAD_ANSWER_BUDGET_BYTES, UNREAD_ANSWER_SWEEP_MS, UnreadAnswers } from '../transport/unread-answers.js';
import { oneMessageRequests } from '../transport/unended-requests.js';
import type { Logger } from 'pino';
import type { NodeConfig } from '../config/index.js';
import { raftTimingWarnings } from '../config/raft-timing.js';
import { controllerService } from '../api/controller-service.js';
import { kvSessionLimits } from '../api/kv-session-limits.js';
import { KvSessions } from '../api/kv-session-service.js';
import { callerOwners } from '../api/caller-owner.js';
import { LeaderForwarder } from '../api/leader-forwarder.js';
import { forwardKeepalive } from '../api/forward-keepalive.js';
import { controllersView } from '../api/controller-rows.js';
import type { AuditDroppedMsg, AuditEventMsg } from '../api/wire-types.js';
import { loadProto, lookupService } from '../transport/proto.js';
import { strictRequests } from '../transport/strict-decode.js';
import type { ConfEntry, Message } from '../raft/index.js';
import { encodeCommand } from '../statemachine/index.js';
import type { LevelRaftStorage } from '../storage/level-raft-storage.js';
import { raftDbPath } from '../storage/paths.js';
import { PeerTransport, peerServerOptions } from '../transport/peer-transport.js';
import { insecureCredentials, type PeerCredentials } from '../transport/credentials.js';
import { memberKeyGate, memberKeyRecheck } from '../transport/member-key-gate.js';
import { GATE_FAILED } from '../transport/door-gate.js';
import { plaintextPeerAuth } from '../transport/peer-auth.js';
import { PayloadError } from '../transport/errors.js';
import { initialNodes, joinWaitWarning, osIdentitySource, StartupRefusedError, type Duty } from '../identity/index.js';
import { JoinWatch } from './join-watch.js';
import { systemScheduler, type Timer } from '../util/clock.js';
import { randomSeed, seededRng } from '../util/rng.js';
import { AuditStore } from '../membership/audit-store.js';
import { AuditDrops, type AuditDropSummary } from '../membership/audit-drops.js';
import { auditDropReporter } from './audit-drop-report.js';
import { auditEvent, type AuditEvent } from '../membership/audit.js';
import { CONF_MARK, confAuditEvent } from '../membership/conf-audit.js';
import { LEADER_MARK, LeadershipLog } from '../membership/leadership-log.js';
import { ViewDecodeError } from '../membership/errors.js';
import { confEntryToMembersCommand, decodeAddContext } from './conf-members.js';
import { commitStallLimitMs } from './commit-stall.js';
import { fileAddressWarnings, MemberAddressError, selfAddressProblem } from './file-addresses.js';
import { caseTwinNodesWarning } from '../config/id-case.js';
import { omittedMemberWarnings } from '../config/omitted-members.js';
import { SHARED_DATA_DIR, sharedDataDirWarning } from '../config/shared-data-dir.js';
import { restartProblem } from './restart-problems.js';
import { NodeIdentity } from './node-identity.js';
import { plaintextWarnings } from './plaintext-warning.js';
import { RELATIVE_DATA_DIR, relativeDataDirWarning } from './relative-data-dir.js';
import { RaftHost } from './raft-host.js';
import { helloDeadlineMs, prepareDataDir } from './startup.js';
import { OtherClusterProbe } from './other-cluster-probe.js';
import { OtherClusterMetrics } from './other-cluster-metrics.js';
import { askPeers } from '../transport/index.js';
import type { MembershipNode } from './membership-port.js';
import { createMembershipNode } from './membership-driver.js';
import { AgentsLayer } from '../agents/agents-layer.js';
import { meteredConsensus } from './metered-consensus.js';
import { meteredStorage } from './metered-storage.js';
import { Metrics } from './metrics.js';
import { PromoterDriver, promoterSettings } from './promoter-driver.js';
import { peerReportingRemoval } from './removal-probe.js';
import { RemovalWatch } from './removal-watch.js';
import { ObservedStateMachine } from './observed-state-machine.js';
import { OpenStreams } from '../api/open-streams.js';
import { addOperatorService, watchApplies } from './operator-tools.js';
import { WatchMetrics } from './watch-metrics.js';
import { SettingsKeeper } from './settings-keeper.js';
import { ClusterVersionKeeper, versionRise } from './cluster-version-keeper.js';
import { initCommand, settingsKind } from '../statemachine/settings.js';
import { BOOT_ID_VERSION, clusterKind } from '../statemachine/cluster-version.js';
import { VERSION } from './version.js';
import { wireAutopilot, type AutopilotWiring } from './autopilot-wiring.js';
import { PeerContacts } from './peer-contact.js';
import { cutOffReason, describeRefusals } from '../api/quorum-guard.js';
import { StateQuota } from '../api/state-quota.js';
import { DiskFloor } from '../api/disk-floor.js';
import type { WireDisk } from '../transport/wire.js';
import { DISK_READ_EVERY_MS, DISK_READING_CARRIED_MS, readDiskFree } from './disk-free.js';
import { DiskFloorLog } from './disk-floor-log.js';
import { listenGrpc } from './grpc-listener.js';
import type { GuardedListener } from '../transport/guarded-listener.js';
import { capHeaderList } from '../transport/header-list-cap.js';
import { traceMilestone } from '../util/trace.js';
import { tlsAtStart, wireTlsReload, type TlsReload } from './tls-reload-wiring.js';
import type { TlsReloadOutcome } from './tls-reloader.js';
import { HealthMetrics } from './health-metrics.js';
import { DEFAULT_HEALTH_WATCH_CAPS, HealthService } from './health-service.js';
import { AuditFollowMetrics, AuditListingMetrics } from './audit-follow-metrics.js';
import { auditFollowLimits } from '../api/audit-follows.js';
import { KvSessionMetrics } from './kv-session-metrics.js';
import { auditLimits } from '../api/audit-handler.js';
import { auditListingLimits } from '../api/audit-listings.js';
import { removeFinishedRestoreLeftovers } from '../backup/restore-staging.js';

/** The audit mark holding the last cluster version this controller recorded. */
const CLUSTER_VERSION_MARK = 'cluster-version';

export interface ControllerNodeOptions {
  readonly config: NodeConfig;
  readonly logger: Logger;
  /** Start without bootstrapping: wait to be added by `ctl member add` and replicated to. */
  readonly join: boolean;
  /** Called when the node can no longer keep its durability promises. */
  readonly onFatal: (err: Error) => void;
  /** Called when this node learns it was removed from the cluster (it should exit with code 10). */
  readonly onRemoved?: (reason: string) => void;
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
    private readonly listener: GuardedListener,
    private readonly membership: MembershipNode,
    private readonly forwarder: LeaderForwarder,
    private readonly metrics: Metrics,
    private readonly health: HealthService,
    private readonly sessions: KvSessions,
    private readonly promoter: PromoterDriver,
    private readonly removal: RemovalWatch,
    /** The node's own intervals: the identity duties' and the incomplete requests' sweep. */
    private readonly tickers: readonly Timer[],
    private readonly agents: AgentsLayer,
    private readonly leadership: LeadershipLog,
    private readonly autopilot: AutopilotWiring,
    private readonly tlsReload: TlsReload | null,
    /** Watches and audit follows, ended with SHUTTING_DOWN when this controller stops. */
    private readonly openStreams: OpenStreams,
    /** The members' addresses as the replicated state has them. */
    private readonly memberAddresses: () => readonly { readonly id: string; readonly address: string; readonly role: 'voter' | 'learner' }[],
  ) {}

  static async start(opts: ControllerNodeOptions): Promise<ControllerNode> {
    const { config, logger } = opts;
    const self = config.self;
    // When this node began to serve (set as Raft starts ticking): the quorum guard gives it an
    // election timeout to hear its peers, and counts leaderless time from then at the earliest.
    const serving = { since: Number.POSITIVE_INFINITY };
    for (const warning of plaintextWarnings(config)) logger.warn(warning);
    const relativeDataDir = relativeDataDirWarning(config, () => process.cwd());
    if (relativeDataDir !== null) logger.warn({ code: RELATIVE_DATA_DIR }, relativeDataDir);
    for (const w of raftTimingWarnings(config)) logger.warn({ code: 'RISKY_TIMING', key: w.key }, w.message);
    const sharedDataDir = sharedDataDirWarning(config);
    if (sharedDataDir !== null) logger.warn({ code: SHARED_DATA_DIR }, sharedDataDir);
    const caseTwins = caseTwinNodesWarning(config.file, config.nodes);
    if (caseTwins !== null) logger.warn({ code: 'CASE_TWIN_IDS' }, caseTwins);
    // TLS material a SIGHUP can replace (tls-in-force.ts): built before anything dials or listens.
    const tlsInForce = config.tls ? tlsAtStart(config.tls, self.id, (code) => metrics.onCallRefused(code)) : null;
    const creds: PeerCredentials = tlsInForce?.credentials ?? insecureCredentials();
    const peerAuth = tlsInForce?.peerAuth ?? plaintextPeerAuth;
    for (const dir of removeFinishedRestoreLeftovers(config.dataDir)) logger.info({ dir }, 'removed the empty staging dir a finished restore left in the data dir');
    const dataDir = ensurePrivateDataDir(config.dataDir);
    if (dataDir.note !== null) logger.warn({ code: dataDir.note.code }, dataDir.note.message);
    // Decides bootstrap / join / start (or refuses the data dir) before anything else runs.
    const { storage, persisted, identity, decision: startDecision } = await prepareDataDir({ config, join: opts.join, logger, credentials: creds.client, newId: osIdentitySource }).catch((err: unknown) => {
      if (err instanceof StartupRefusedError) removeCreatedDataDir(dataDir.created);
      throw err;
    });
    const audit = await AuditStore.open(config.dataDir, {
      ...config.auditRetention,
      onClockAhead: (aheadMs) =>
        logger.warn(
          { code: 'CLOCK_AHEAD', aheadMs },
          `audit: the wall clock is ${Math.round(aheadMs / 1000)}s ahead of the time measured since this controller started (a clock step?); ` +
            'audit retention and the order of new events follow the measured time, so no history is pruned by it; check the clock (NTP)',
        ),
    });
    const sm = new ObservedStateMachine();
    const diskFloor = new DiskFloor({ minFreeBytes: config.minFreeDiskBytes, dataDir: config.dataDir, self: self.id, now: () => performance.now() });
    const quota = new StateQuota(config.quotaBytes, sm, () => performance.now(), diskFloor);
    const metrics = new Metrics(self.id, VERSION);
    const agentGate = tlsInForce?.agentGate ?? null;
    const watches = watchApplies(sm, metrics);

    const auditDrops = new AuditDrops();
    const auditNotPersisted = auditDropReporter({ drops: auditDrops, onDropped: () => metrics.onAuditDropped(), logger, now: Date.now });
    const recordAudit = (e: AuditEvent, marks?: Readonly<Record<string, string>>): void => {
      logger.info({ audit: e }, `audit ${e.type}`);
      metrics.onAudit(e);
      audit.append(e, marks).catch((err: unknown) => auditNotPersisted(e, err));
    };
    // Leadership events with their reason (election, transfer, shutdown hand-off), once each.
    const leadership = new LeadershipLog(self.id, 2 * config.raft.electionTimeoutMs);
    // Autopilot is wired after Raft's callbacks are: leader changes seen before that count for nothing.
    let leaderSeen: ((from: string | null, to: string, byElection: boolean) => void) | null = null;
    /** A peer's pong said its disk: the autopilot's wiring takes it once it exists. */
    let peerDiskSeen: ((peer: string, disk: WireDisk) => void) | null = null;
    /** When this node's own disk was last read (statfs answered), monotonic ms; null: never. */
    let diskReadAt: number | null = null;
    const noteTransfers = (m: Message, outgoing: boolean): void => {
      if (m.type === 'TimeoutNow' && outgoing) leadership.timeoutNowSent(m.to, systemScheduler.now());
      else if (m.type === 'Vote' && m.transfer) leadership.transferVote(m.from, m.term);
    };

    const knownAddress = (id: string): string | null =>
      sm.members.get(id)?.address || config.nodes.find((n) => n.id === id)?.address || null;

    const isConfigured = (id: string): boolean => config.nodes.some((n) => n.id === id);
    // Members' addresses change only with a conf entry or a snapshot: compare the file then.
    const fileAddresses = { changed: true, warned: new Set<string>(), fatal: false };
    const warnFileAddresses = (): void => {
      if (!fileAddresses.changed) return;
      fileAddresses.changed = false;
      const misplaced = selfAddressProblem(config.file, self, sm.members.list());
      if (misplaced !== null && !fileAddresses.fatal) {
        fileAddresses.fatal = true;
        logger.fatal({ code: 'MEMBER_ADDRESS' }, misplaced);
        opts.onFatal(new MemberAddressError(misplaced));
        return;
      }
      for (const w of fileAddressWarnings(config.file, config.nodes, sm.members.list())) {
        if (!fileAddresses.warned.has(w)) logger.warn({ code: 'FILE_ADDRESS_MISMATCH' }, w);
        fileAddresses.warned.add(w);
      }
    };
    // Members this data dir knew at start that the file leaves out (config/omitted-members.ts):
    // said once, when the replay reaches the commit index stored. A member added since was added
    // by an operator who edits the files on disk, which this process read before.
    let omittedChecked = false;
    const warnOmittedMembers = (): void => {
      if (omittedChecked || sm.appliedIndex < persisted.hardState.commit) return;
      omittedChecked = true;
      for (const w of omittedMemberWarnings(config.file, config.nodes, sm.members.list())) logger.warn({ code: 'MEMBER_NOT_IN_FILE' }, w);
    };
    const settingsKeeper = new SettingsKeeper({
      file: config.settings,
      view: () => sm.view(settingsKind),
      isLeader: () => host?.softState().role === 'leader',
      proposeInit: async (values) => {
        if (host === null) throw new Error('not started');
        const result = await host.propose(encodeCommand(initCommand(values)), config.raft.electionTimeoutMs * 2);
        if (!result.ok) throw new Error(result.message);
      },
      logger,
    });
    const clusterVersion = new ClusterVersionKeeper({
      software: VERSION,
      view: () => sm.view(clusterKind),
      isLeader: () => host?.softState().role === 'leader',
      configuration: () => {
        const conf = host?.conf();
        return conf === undefined ? [] : [...conf.voters, ...conf.learners];
      },
      advertised: () => new Map((membership?.listControllers().rows ?? []).map((r) => [r.id, r.version])),
      proposeVersion: async (version) => {
        if (host === null) throw new Error('not started');
        const result = await host.propose(encodeCommand({ kind: 'cluster', op: 'set-version', version }), config.raft.electionTimeoutMs * 2);
        if (!result.ok) throw new Error(result.message);
      },
      // Exit 1, as any fatal error: this build must not apply a newer cluster's entries.
      onTooOld: (err) => opts.onFatal(err),
      logger,
      now: () => performance.now(),
    });

    // Each rise of the cluster version, once per controller: the mark survives restarts and replays.
    const auditClusterVersion = (): void => {
      const rise = versionRise(sm.view(clusterKind).version, audit.mark(CLUSTER_VERSION_MARK));
      if (rise === null) return;
      const reason = `every member of the configuration runs ${rise.to} or later`;
      recordAudit(auditEvent(Date.now(), self.id, 'cluster.version', { subject: null, from: rise.from, to: rise.to, reason }), { [CLUSTER_VERSION_MARK]: rise.to });
    };

    const removal = new RemovalWatch({
      self: self.id,
      isMember: () => {
        const conf = host?.conf();
        return conf !== undefined && (conf.voters.includes(self.id) || conf.learners.includes(self.id));
      },
      graceMs: 2 * config.raft.electionTimeoutMs,
      leaderlessMs: () => {
        if (host === null || host.softState().role === 'leader') return 0;
        const at = host.lastLeaderContactAt();
        return at === null ? Number.POSITIVE_INFINITY : performance.now() - at;
      },
      holdsUncommitted: () => host !== null && host.status().lastIndex > host.status().commit,
      probeAfterMs: 3 * config.raft.electionTimeoutMs,
      askPeers: () => {
        const peers = new Map(config.nodes.map((n) => [n.id, n.address]));
        for (const m of sm.members.list()) peers.set(m.id, m.address);
        return peerReportingRemoval(self.id, [...peers].map(([id, address]) => ({ id, address })), creds.client, config.raft.electionTimeoutMs);
      },
      logger,
      onRemoved: (reason) => opts.onRemoved?.(reason),
    });

    // The host and the transport refer to each other; the transport is built first and
    // delivers into the host once it exists.
    let host: RaftHost | null = null;
    let membership: MembershipNode | null = null;
    // This process's boot id: DUPLICATE_PROCESS names processes by it, and the start log says which is whose.
    const boot = osIdentitySource();
    // The file's peers outside the membership are asked this often which cluster they answer for
    // (other-cluster-probe.ts); a peer seen answering for another stays marked four rounds.
    const otherClusterProbeMs = Math.max(1000, 4 * config.raft.electionTimeoutMs);
    const nodeIdentity = new NodeIdentity({
      self: self.id,
      clusterName: config.clusterName,
      configured: isConfigured,
      fileNodes: initialNodes(config.nodes),
      identity,
      boot,
      // About what a restart takes (a second or two to start); a copy heard meanwhile is refused.
      processHoldMs: 2 * config.raft.electionTimeoutMs,
      persist: (next) => storage.saveIdentity(next),
      logger,
      onRefusal: (direction, peer, code, details, report) => {
        metrics.onPeerRefusal(direction, code ?? 'OTHER', peer);
        // A peer refusing this node's data dir as a removed member's: conclusive (exit 10).
        if (direction === 'out' && code === 'REMOVED_MEMBER') removal.refusedAsRemoved(peer, details);
        if (!report) return;
        const [sender, receiver] = direction === 'in' ? [peer, self.id] : [self.id, peer];
        logger.warn({ peer, code, direction }, direction === 'in' ? `refused a message from ${peer}: ${details}` : `${peer} refused this node's message: ${details}`);
        const reason = code !== null && details.startsWith(`${code}:`) ? details : `${code ?? 'PERMISSION_DENIED'}: ${details}`;
        recordAudit(auditEvent(Date.now(), self.id, 'peer.refused', { subject: peer, from: sender, to: receiver, reason }));
      },
      reportStatus: async (from, r) => (sm.members.get(r.member) === null || membership === null ? false : membership.reportStatus(r.member, r.status, r.reason, from)),
      onFatal: opts.onFatal,
      now: () => performance.now(),
      otherClusterWindowMs: 4 * otherClusterProbeMs,
    });
    // Two processes answer as this member (its own row: peers refuse it as a second process of itself).
    const duplicateProcess = (id: string): boolean => (id === self.id ? nodeIdentity.refusedAsDuplicateBy().length > 0 : nodeIdentity.duplicateMark(id) !== null);
    const refusals = (): string => describeRefusals(self.id, nodeIdentity.refusedAsDuplicateBy(), nodeIdentity.refusedForName());
    let agents: AgentsLayer | null = null;
    const contacts = new PeerContacts(systemScheduler);
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
        noteTransfers(m, false);
        host?.noteMessageFrom(m.from);
        contacts.note(m);
        membership?.noteContact(m.from);
        host?.step(m);
      },
      onUnreachable: (peer) => host?.reportUnreachable(peer),
      onSnapshotStatus: (peer, ok) => host?.reportSnapshot(peer, ok),
      // Our pongs say our disk while the reading is current (a statfs that keeps failing says
      // nothing, and the leader's reading ages out as an unanswered call's did).
      ownDisk: () => {
        const free = diskFloor.free();
        if (free === null || diskReadAt === null || performance.now() - diskReadAt > DISK_READING_CARRIED_MS) return null;
        return { freeBytes: free, floorBytes: config.minFreeDiskBytes };
      },
      onPeerDisk: (peer, disk) => peerDiskSeen?.(peer, disk),
      // Said in our Hello answers: a member starting with other values warns (timing-mismatch.ts).
      raftTiming: { electionTimeoutMs: config.raft.electionTimeoutMs, heartbeatIntervalMs: config.raft.heartbeatIntervalMs },
      onHeartbeat: (from, payload) => {
        // A peer is up: before the first leader, enough of them shorten the first election.
        host?.notePeerAlive(from);
        try {
          return membership?.onHeartbeat(from, payload) ?? new Uint8Array(0);
        } catch (err) {
          // The peer's fault, not ours: answered INVALID_ARGUMENT.
          if (err instanceof ViewDecodeError) throw new PayloadError(err.message);
          throw err;
        }
      },
      logger,
      // One batch is in flight per peer, and everything queued behind it (pre-votes too) waits
      // for its ack. A batch unacknowledged for two election timeouts is stale anyway: give up
      // on its stream and send the queue on a fresh one (the 5 s default kept 11 starved nodes
      // leaderless for tens of seconds; docs/fault-injection.md, finding 3).
      stepDeadlineMs: Math.max(1000, 2 * config.raft.electionTimeoutMs),
      // The leader's batches are acknowledged with this node's answers in the ack (one message
      // back instead of three). A held ack holds the leader's next batch, heartbeats included:
      // at most half a heartbeat interval, and the host releases it as soon as it is idle.
      replyHoldMs: Math.max(1, Math.floor(config.raft.heartbeatIntervalMs / 2)),
    });
    for (const n of config.nodes) transport.setPeer(n.id, n.address);

    // Set once the door's checks exist (below): ends the streams of a key a removal revoked (open-streams.ts).
    let endRevokedMemberStreams = (): void => undefined;
    host = new RaftHost({
      id: self.id,
      timing: config.raft,
      initialElectionAdvance: config.raft.initialElectionAdvance,
      storage: meteredStorage(storage, metrics),
      persisted,
      stateMachine: sm,
      confCommand: confEntryToMembersCommand,
      scheduler: systemScheduler,
      rng: seededRng(randomSeed()),
      run: randomBytes(6).toString('hex'),
      logger,
      send: (msgs, urgency) => {
        for (const m of msgs) noteTransfers(m, true);
        metrics.onSend(msgs);
        transport.send(msgs, urgency);
      },
      onSoftState: (s, term) => {
        settingsKeeper.check();
        clusterVersion.check();
        logger.info({ leader: s.leader, role: s.role, term }, 'raft state changed');
        metrics.onSoftState(s, term);
        nodeIdentity.onRole(s.role === 'leader');
        membership?.onLeaderChange(s.leader, term);
        health.setStatus('', s.leader !== null ? 'SERVING' : 'NOT_SERVING');
      },
      onLeaderChanged: (_from, to, term) => {
        const r = leadership.changed(to, term, systemScheduler.now(), Date.now(), audit.mark(LEADER_MARK));
        if (r !== null) recordAudit(r.event, { [LEADER_MARK]: r.mark });
        if (r !== null && to !== null) leaderSeen?.(r.event.from ?? null, to, r.kind === 'election');
      },
      onConfApplied: (change: ConfEntry, conf) => {
        applyConfToTransport(change, transport, knownAddress, self.id);
        // sm.appliedIndex is the change's own index while it is being applied.
        const r = confAuditEvent({ self: self.id, change, conf, index: sm.appliedIndex, recordedMark: audit.mark(CONF_MARK), wallClockMs: Date.now() });
        if (r !== null) recordAudit(r.event, { [CONF_MARK]: r.mark });
        if (change.type === 'promote' && sm.appliedIndex > Number(audit.mark(CONF_MARK) ?? 0)) {
          recordAudit(auditEvent(Date.now(), self.id, 'member.promoted', { subject: change.node, from: 'learner', to: 'voter', reason: 'caught up' }), {
            [CONF_MARK]: String(sm.appliedIndex),
          });
        }
        removal.onConfApplied(change);
        fileAddresses.changed = true;
        // After this apply, when the store no longer holds the member.
        if (change.type === 'remove') setImmediate(() => endRevokedMemberStreams());
      },
      onApplied: () => {
        warnFileAddresses();
        warnOmittedMembers();
        nodeIdentity.onApplied();
        membership?.onApplied();
        settingsKeeper.check();
        clusterVersion.check();
        auditClusterVersion();
        agents?.onApplied();
      },
      onProposalDone: (committed) => metrics.onProposal(committed ? 'committed' : 'failed'),
      onSettled: () => transport.releaseReplies(),
      onSnapshotRestored: () => {
        for (const m of sm.members.list()) if (m.id !== self.id) transport.setPeer(m.id, m.address);
        fileAddresses.changed = true;
        setImmediate(() => endRevokedMemberStreams());
      },
      onSnapshotFailed: () => metrics.onSnapshotFailed(),
      onFatal: opts.onFatal,
      mayCampaign: () => nodeIdentity.mayCampaign(),
    });
    const raftHost = host;
    // What the client API proposes is counted; the membership layer's own proposals are not.
    const apiPort = meteredConsensus(raftHost, metrics);
    nodeIdentity.bind({
      members: () => sm.members,
      raft: () => {
        const st = raftHost.position();
        return { term: st.term, lastIndex: st.lastIndex };
      },
      appliedIndex: () => sm.appliedIndex,
      vouchedCommit: () => raftHost.vouchedCommit(),
      onlyTermBeyondBootstrap: () => raftHost.onlyTermBeyondBootstrap(),
      bootRequired: () => sm.view(clusterKind).supports(BOOT_ID_VERSION),
    });
    // Members that joined after bootstrap are only in the replicated records.
    for (const m of sm.members.list()) if (m.id !== self.id && m.address) transport.setPeer(m.id, m.address);

    const forwarder = new LeaderForwarder(creds.client, forwardKeepalive(config.raft.electionTimeoutMs));
    const kvSessionMetrics = new KvSessionMetrics(metrics.registry);
    const sessions = new KvSessions(kvSessionLimits({}, kvSessionMetrics));
    kvSessionMetrics.bind(sessions.limits);
    membership = createMembershipNode(
      {
        self: self.id,
        electionTimeoutMs: config.raft.electionTimeoutMs,
        logger,
        members: () => sm.members.list(),
        statusTransitions: (seq) => ({ ...sm.members.statusTransitionsSince(seq), seq: sm.members.statusTransitionSeq }),
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
        auditMark: (key) => audit.mark(key),
        onRtt: (peer, ms) => metrics.observeRtt(peer, ms),
      },
      { heartbeat: config.heartbeat, stateSyncIntervalMs: config.stateSyncIntervalMs, scheduler: systemScheduler, incarnation: randomInt(1, 2 ** 31), version: VERSION, listen: self.listen },
    );
    const membershipNode = membership;
    const autopilot = wireAutopilot({
      preferredHandOff: (to) => leadership.preferredHandOff(to),
      config,
      logger,
      scheduler: systemScheduler,
      host: raftHost,
      stateMachine: sm,
      membership: membershipNode,
      contacts,
      registry: metrics.registry,
      peerCredentials: creds.client,
      identity: nodeIdentity,
      auth: peerAuth,
      duplicateMark: (id) => nodeIdentity.duplicateMark(id),
      commitStall: () => ({ stalledMs: raftHost.commitStallMs(), limitMs: commitStallLimitMs(config.raft.electionTimeoutMs) }),
      diskFloor,
      quota,
    });
    // Why this node cannot serve a request that needs the cluster now (quorum-guard.ts): every
    // path that waits for a leader asks it first, so a cut-off node says so at once.
    const openStreams = new OpenStreams();
    // How a forward to the leader (kv writes and the mesh's) is given up (on-leader.ts).
    const forwardWatch = {
      // Two election timeouts: a leader that answers nobody for that long is lost to this node.
      forwardBudgetMs: 2 * config.raft.electionTimeoutMs,
      // A leader that still sends this node its heartbeats keeps the forwards it is working on.
      leaderHeardAt: (leader: string): number | null => {
        const at = raftHost.lastLeaderContactAt();
        if (raftHost.softState().leader !== leader || at === null) return null;
        return Date.now() - (systemScheduler.now() - at);
      },
    };
    const cutOff = (): string | null =>
      cutOffReason({
        self: self.id,
        electionTimeoutMs: config.raft.electionTimeoutMs,
        startedAt: serving.since,
        now: () => systemScheduler.now(),
        staleReason: () => membershipNode.staleReason(),
        leader: () => raftHost.softState().leader,
        lastLeaderContactAt: () => raftHost.lastLeaderContactAt(),
        refusedAsDuplicateBy: () => nodeIdentity.refusedAsDuplicateBy(),
        refusedForName: () => nodeIdentity.refusedForName(),
      });
    // Whose exactly-once record a client's write makes: a forward's owner only from a member (caller-owner.ts).
    const ownerOf = callerOwners(sm, (call) => peerAuth.checkAnyPeer(call) === null);
    agents = new AgentsLayer({
      self: self.id,
      cutOff,
      ...forwardWatch,
      host: raftHost,
      stateMachine: sm,
      quota,
      maxMeshBytes: config.maxMeshBytes,
      membership: () => membershipNode.listControllers(),
      lastContactAt: (peer) => membershipNode.lastContactAt(peer),
      addressOf: knownAddress,
      isMember: (id) => sm.members.get(id) !== null,
      credentials: creds.client,
      heartbeat: config.heartbeat,
      electionTimeoutMs: config.raft.electionTimeoutMs,
      stateSyncIntervalMs: config.stateSyncIntervalMs,
      reconnectTimeoutMs: config.agentReconnectTimeoutMs,
      // The cluster id its first leader drew (src/identity); its name in a new cluster's first moments.
      clusterId: () => nodeIdentity.clusterId() ?? config.clusterName,
      clusterName: config.clusterName,
      peerCaller: (call) => peerAuth.checkAnyPeer(call),
      ownerOf,
      replayUntil: persisted.hardState.commit,
      audit: recordAudit,
      logger,
      refusals,
      defaultTimeoutMs: 5000,
    });
    const agentsLayer = agents;

    // The base call's guard first: it reads what the call that grpc-js starts with holds.
    // Request messages still arriving, and the calls awaiting them, are held to a budget (incomplete-requests.ts).
    const incomplete = new IncompleteRequests(
      { budgetBytes: Math.max(INCOMPLETE_REQUEST_BUDGET_BYTES, 8 * config.raft.maxMessageBytes), stallMs: INCOMPLETE_REQUEST_STALL_MS, maxCalls: INCOMPLETE_REQUEST_MAX_CALLS },
      () => performance.now(),
      (reason) => metrics.onIncompleteRequestCut(reason),
    );
    // Unary answers written and not read are held to a budget too (unread-answers.ts).
    const unread = new UnreadAnswers(UNREAD_ANSWER_BUDGET_BYTES, () => metrics.onUnreadAnswerCut());
    const guard = baseCallGuard({
      onCompressed: () => metrics.onCallRefused('COMPRESSED'),
      onUnendedReset: () => metrics.onUnendedStreamReset(),
      onHeadersTooLarge: () => metrics.onCallRefused('HEADERS_TOO_LARGE'),
      incomplete,
      unread,
    });
    // A member's key acts beyond peer RPCs only while it is a member (member-key-gate.ts); before
    // the first entry is applied, the file's members.
    const isMemberKey = (id: string): boolean => sm.members.get(id) !== null || (sm.members.size === 0 && isConfigured(id));
    const memberKeyOpts = { clientCa: (config.tls?.clientCa ?? null) !== null };
    const memberGate = memberKeyGate(peerAuth, isMemberKey, (code) => metrics.onCallRefused(code), () => metrics.onCallRefused(GATE_FAILED), memberKeyOpts);
    // A KvSession lasts: judged again at each request, so a member removed while its key holds one open stops writing.
    const memberKeyNow = memberKeyRecheck(peerAuth, isMemberKey, (code) => metrics.onCallRefused(code), memberKeyOpts);
    // Watches, audit follows and agent streams last too: a removed member's key holding one is
    // ended at the removal (an agent stream as well: without tls.agent_ca a peer key may sync as an agent).
    endRevokedMemberStreams = () => {
      const ended = openStreams.refuseWhere(memberKeyNow) + agentsLayer.refuseWhere(memberKeyNow);
      if (ended > 0) logger.warn({ code: 'REVOKED_KEY_STREAMS_ENDED', streams: ended }, `ended ${ended} watch, audit or agent stream(s) of a removed member's key`);
    };
    // Each answer names its cluster (cluster-identity.ts), refusals at the gates after it included.
    const identityStamp = clusterIdentityStamp(() => ({ name: config.clusterName, id: nodeIdentity.clusterId() }));
    const interceptors = [guard, identityStamp, oneMessageRequests, ...(agentGate === null ? [] : [agentGate.interceptor]), memberGate];
    // Streams per connection are capped (past it nghttp2 refuses a stream before grpc-js makes a
    // call of it): 20,000 header-only calls on one connection held the event loop past an
    // election timeout (attack round 10); and a call's header block to 8 KiB (header-list-cap.ts): header-only calls with 60 KB of
    // metadata held 118 MB a connection (attack round 14).
    const server = capHeaderList(new grpc.Server({ ...peerServerOptions(config.raft.maxMessageBytes), 'grpc.max_concurrent_streams': config.maxStreamsPerConnection, interceptors }));
    transport.register(server);
    autopilot.register(server);
    leaderSeen = (from, to, byElection) => autopilot.leaderChanged(from, to, byElection);
    peerDiskSeen = (peer, disk) => autopilot.peerDisk(peer, disk);
    let healthMetrics: HealthMetrics | null = null;
    const health = new HealthService({ '': 'NOT_SERVING' }, DEFAULT_HEALTH_WATCH_CAPS, (reason) => healthMetrics?.refused(reason));
    healthMetrics = new HealthMetrics(metrics.registry, () => health.watches);
    health.addToServer(server);
    const auditFollowMetrics = new AuditFollowMetrics(metrics.registry);
    const auditFollows = auditFollowLimits({}, auditFollowMetrics);
    auditFollowMetrics.bind(auditFollows);
    const auditListingMetrics = new AuditListingMetrics(metrics.registry);
    const auditListings = auditListingLimits({}, auditListingMetrics);
    auditListingMetrics.bind(auditListings);
    agentsLayer.register(server, metrics.registry);
    const api = lookupService(loadProto('controller.proto'), 'controller.api.Controller');
    server.addService(
      strictRequests(api.service),
      controllerService({
        id: self.id,
        clusterName: config.clusterName,
        version: VERSION,
        host: apiPort,
        stateMachine: sm,
        quota,
        addressOf: knownAddress,
        forwarder,
        ownerOf,
        sessionRefusal: (call) => memberKeyNow(call.getPath(), call),
        listControllers: () =>
          controllersView({
            self: self.id,
            version: VERSION,
            raft: raftHost.status(),
            members: sm.members.list(),
            appliedIndex: sm.appliedIndex,
            membership: membershipNode.listControllers(),
            duplicate: duplicateProcess,
            refusedAsDuplicateBy: nodeIdentity.refusedAsDuplicateBy(),
            refusedForName: nodeIdentity.refusedForName(),
            otherClusters: nodeIdentity.otherClustersReason(),
          }),
        audit: {
          page: async (sinceMs, after, limit, until) => {
            const page = await audit.page({ sinceMs, after, limit, until });
            return { events: page.events.map(toAuditMsg), last: page.last };
          },
          end: () => audit.newestKey(),
          follow: (listener) => audit.follow((e, key) => listener(toAuditMsg(e), key)),
          dropped: () => {
            const s = auditDrops.summary();
            return s === null ? null : toDroppedMsg(self.id, s);
          },
          followDropped: (listener) => auditDrops.follow((s) => listener(toDroppedMsg(self.id, s))),
          now: () => audit.now(),
        },
        auditLimits: auditLimits({ follows: auditFollows, listings: auditListings, open: openStreams }),
        defaultTimeoutMs: 5000,
        clusterId: () => nodeIdentity.clusterId(),
        commitStallLimitMs: commitStallLimitMs(config.raft.electionTimeoutMs),
        ...forwardWatch,
        raftHeartbeatIntervalMs: config.raft.heartbeatIntervalMs,
        peerHeard: (id) => {
          const c = contacts.get(id);
          return c !== null && systemScheduler.now() - c.lastHeardAt <= config.raft.electionTimeoutMs;
        },
        sessions,
        health: autopilot.health,
        resources: autopilot.resources,
        cutOff,
        otherClusters: () => nodeIdentity.otherClustersReason(),
      }),
    );
    addOperatorService(server, {
      id: self.id,
      clusterName: config.clusterName,
      clusterId: () => nodeIdentity.clusterId(),
      version: VERSION,
      host: raftHost,
      stateMachine: sm,
      watches,
      watchMetrics: new WatchMetrics(metrics.registry),
      raftDbDir: raftDbPath(config.dataDir),
      // Quorum contact only: a node that hears no leader says `no leader` there already.
      staleness: () => {
        const reason = membershipNode.staleReason();
        return { stale: reason !== '', reason };
      },
      duplicate: duplicateProcess,
      otherClusters: () => {
        const now = performance.now();
        const peers = nodeIdentity.otherClusterPeers().map((p) => ({ peer: p.peer, clusterId: p.clusterId ?? '', lastSeenMs: Math.max(0, Math.round(now - p.lastSeenAt)) }));
        return { peers, reason: nodeIdentity.otherClustersReason() };
      },
      diskShortfall: () => diskFloor.ownShortfall(),
      defaultTimeoutMs: 5000,
      cutOff,
      openStreams,
    });
    new OtherClusterMetrics(metrics.registry, () => nodeIdentity.otherClusterPeers().length);
    const caps = { maxConnections: config.maxConnections, maxPendingHandshakes: config.maxPendingHandshakes };
    const listener = await listenGrpc(self.listen, server, creds, metrics.registry, logger, caps).catch((err: Error) => {
      throw new Error(`cannot listen on ${self.listen}: ${err.message}`);
    });
    traceMilestone('start.listening');
    tlsInForce?.bindListener(listener);
    metrics.bindState(() => ({
      status: raftHost.status(),
      applied: sm.appliedIndex,
      snapshotIndex: raftHost.snapshotIndex(),
      logMemoryBytes: raftHost.logMemoryBytes(),
      uncommittedBytes: raftHost.uncommittedBytes(),
      maxUncommittedBytes: config.raft.maxUncommittedBytes,
      proposalsDropped: raftHost.proposalsDropped,
      membership: membershipNode.listControllers(),
      commitStallMs: raftHost.commitStallMs(),
      commitStallLimitMs: commitStallLimitMs(config.raft.electionTimeoutMs),
      clusterVersion: sm.view(clusterKind).version,
      stateBytes: quota.used(),
      quotaBytes: quota.quotaBytes,
      diskFreeBytes: diskFloor.free(),
      minFreeDiskBytes: config.minFreeDiskBytes,
    }));
    if (self.metrics) {
      const https = config.tls?.metrics === true && tlsInForce !== null;
      await metrics.listen(self.metrics, https ? tlsInForce.metricsTls() : null);
      if (https) tlsInForce.bindMetrics(metrics);
    }
    const tlsReload = config.tls && tlsInForce ? wireTlsReload({ files: config.tls, selfId: self.id, inForce: tlsInForce, registry: metrics.registry, logger }) : null;
    tlsReload?.start();
    const promoter = new PromoterDriver({
      logger,
      intervalMs: Math.max(100, 2 * config.raft.heartbeatIntervalMs),
      now: () => systemScheduler.now(), // the clock of the peer contacts
      isLeader: () => raftHost.softState().role === 'leader',
      raft: () => raftHost.status(),
      members: () => sm.members.list(),
      online: () => new Set(membershipNode.listControllers().rows.filter((r) => r.online).map((r) => r.id)),
      contact: (id) => contacts.get(id),
      settings: () => promoterSettings(sm.view(settingsKind)),
      promote: async (id) => {
        const result = await raftHost.proposeConfChange({ type: 'promote', node: id, context: '' }, 2 * config.raft.electionTimeoutMs);
        if (!result.ok) throw new Error(result.message);
      },
      onPromoted: () => undefined, // every member records member.promoted when it applies the change
    });
    serving.since = systemScheduler.now();
    traceMilestone('start.ticking');
    raftHost.start();
    // A data dir whose snapshot holds every committed entry replays none: no apply says when.
    warnOmittedMembers();
    membershipNode.start();
    promoter.start();
    removal.start();
    agentsLayer.start();
    autopilot.start();
    // The leader's identity duties: draw the cluster id once, record each member's data dir.
    const identityTicker = systemScheduler.every(config.raft.heartbeatIntervalMs, () => {
      for (const duty of nodeIdentity.duties()) nodeIdentity.proposed(duty, proposeDuty(raftHost, duty, config.raft.electionTimeoutMs * 2, osIdentitySource));
      // Also the cluster version's tick: the last member's new version may arrive in a view
      // while nothing is applied, and a too-old data dir must stop even in an idle cluster.
      clusterVersion.check();
    });
    const otherClusterProbe = new OtherClusterProbe({
      targets: () => config.nodes.filter((n) => n.id !== self.id && sm.members.get(n.id) === null).map((n) => ({ id: n.id, address: n.address })),
      ask: () => {
        const clusterId = nodeIdentity.clusterId();
        if (clusterId === null) return null;
        return { incarnation: nodeIdentity.identity.incarnation, clusterId, lastIndex: raftHost.position().lastIndex, joining: false, nodes: null };
      },
      askPeers: (targets, ask) => askPeers({ self: self.id, clusterName: config.clusterName, ask, targets, credentials: creds.client, deadlineMs: helloDeadlineMs(config) }),
      onAnswer: (peer, clusterId) => nodeIdentity.answeredFor(peer, clusterId),
    });
    const otherClusterTicker = systemScheduler.every(otherClusterProbeMs, () => {
      otherClusterProbe.round().catch((err: unknown) => logger.warn({ err }, 'asking the file\'s peers which cluster they answer for failed'));
    });
    // A --join start that waits for a leader asks the file's peers again while it knows no
    // configuration, and says what it waits for that may never come (join-watch.ts).
    const joinWatch = new JoinWatch(
      {
        waiting: () => {
          const conf = raftHost.status().conf;
          return conf.voters.length === 0 && conf.learners.length === 0;
        },
        ask: () =>
          askPeers({
            self: self.id,
            clusterName: config.clusterName,
            ask: { incarnation: nodeIdentity.identity.incarnation, clusterId: null, lastIndex: 0, joining: true, nodes: initialNodes(config.nodes) },
            targets: config.nodes.filter((n) => n.id !== self.id).map((n) => ({ id: n.id, address: n.address })),
            credentials: creds.client,
            deadlineMs: helloDeadlineMs(config),
          }),
        judge: (answers) =>
          joinWaitWarning({
            memberId: self.id,
            join: true,
            dataDir: config.dataDir,
            clusterName: config.clusterName,
            configFile: config.file,
            clusterSize: config.nodes.length,
            nodes: initialNodes(config.nodes),
            selfAddress: self.address,
            disk: { kind: 'empty' },
            answers,
          }),
        warn: (message) => logger.warn({ code: 'JOIN_WAITS' }, message),
      },
      startDecision.action === 'join' ? startDecision.warning : null,
    );
    const joinTicker = startDecision.action === 'join' && opts.join
      ? systemScheduler.every(otherClusterProbeMs, () => {
          if (!joinWatch.finished) joinWatch.round().catch((err: unknown) => logger.warn({ err }, 'asking the file\'s peers what a --join start waits for failed'));
        })
      : null;
    const incompleteSweep = systemScheduler.every(INCOMPLETE_SWEEP_MS, () => incomplete.sweep());
    // This node's free disk, read in the background: a write it leads is judged on the last
    // reading, and a disk below the floor is logged on every member (a follower's fills unjudged
    // while no leader asks it: disk-floor.ts).
    const diskLog = new DiskFloorLog(diskFloor, logger);
    const readDisk = (): void =>
      void readDiskFree(config.dataDir).then((free) => {
        if (free === null) return;
        diskReadAt = performance.now();
        diskLog.observe(free);
      });
    readDisk();
    const diskTicker = systemScheduler.every(DISK_READ_EVERY_MS, readDisk);
    const unreadSweep = systemScheduler.every(UNREAD_ANSWER_SWEEP_MS, () => unread.sweep());
    logger.info({ listen: self.listen, address: self.address, dataDir: config.dataDir, version: VERSION, incarnation: identity.incarnation, boot, clusterId: nodeIdentity.clusterId() }, 'controller started');
    return new ControllerNode(config, logger, storage, audit, raftHost, transport, server, listener, membershipNode, forwarder, metrics, health, sessions, promoter, removal, [identityTicker, incompleteSweep, unreadSweep, otherClusterTicker, diskTicker, ...(joinTicker === null ? [] : [joinTicker])], agentsLayer, leadership, autopilot, tlsReload, openStreams, () => sm.members.list());
  }

  /**
   * Re-reads the TLS files and, when they pass the start-up checks, puts them in force for new
   * connections (SIGHUP); null without TLS. Logged and counted either way (tls-reloader.ts).
   */
  reloadTls(): TlsReloadOutcome | null {
    return this.tlsReload?.reload() ?? null;
  }

  /**
   * Why a restart with `next` (the config file read again) would be refused (exit 2): its own
   * address is not the one the cluster dials, or its cluster.name not the one its peers run;
   * or would start empty (its data_dir moved to one holding no Raft state); null when nothing is
   * known against it.
   */
  restartProblem(next: NodeConfig): string | null {
    return restartProblem(next, this.config, this.memberAddresses());
  }

  /** Warnings about `next` (the config file read again) that refuse nothing: the members it leaves out (MEMBER_NOT_IN_FILE). */
  fileWarnings(next: NodeConfig): string[] {
    return omittedMemberWarnings(next.file, next.nodes, this.memberAddresses());
  }

  /** Graceful stop: hand leadership off, finish the write in progress, close in reverse order. */
  async shutdown(): Promise<void> {
    this.leadership.shutdownStarted();
    for (const ticker of this.tickers) ticker.cancel();
    this.tlsReload?.stop();
    const next = await this.host.handOffLeadership().catch(() => null);
    if (next) this.logger.info({ to: next }, 'handed leadership off before shutting down');
    // Agents, watches and audit follows move to another controller now, while the cluster still answers.
    this.agents.stop();
    this.openStreams.endAll(`${this.config.self.id} is shutting down; try another controller`);
    this.membership.stop();
    this.promoter.stop();
    this.removal.stop();
    this.autopilot.stop();
    await this.host.stop();
    this.health.setStatus('', 'NOT_SERVING');
    // Open KvSessions would hold tryShutdown until the force timeout: end them first.
    this.sessions.endAll();
    // No new connections; those still in their TLS handshake are ours to close, not grpc-js's.
    const listenerClosed = this.listener.close();
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
    this.listener.destroyAll();
    await listenerClosed;
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
      if (change.node !== self) transport.setPeer(change.node, decodeAddContext(change.context).address);
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

function toDroppedMsg(node: string, s: AuditDropSummary): AuditDroppedMsg {
  return { node, count: s.count, first: new Date(s.firstMs).toISOString(), last: new Date(s.lastMs).toISOString(), cause: s.cause };
}
