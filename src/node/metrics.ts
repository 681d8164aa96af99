/**
 * Prometheus metrics (prom-client) on `GET /metrics` of the node's `metrics` address, named as
 * Prometheus wants them (base units: seconds and bytes; `_total` only on counters; HELP and
 * TYPE on every family; `promtool check metrics` passes) and modelled on what etcd exposes, so
 * the usual dashboards and alerts carry over (docs/reference.md lists them; docs/grafana.json
 * graphs them). Gauges that mirror state are read on scrape, so the hot path only bumps
 * counters and observes histograms.
 */
import http from 'node:http';
import type net from 'node:net';
import type { TLSSocket } from 'node:tls';
import https from 'node:https';
import client from 'prom-client';
import type { NodeStatus, Message } from '../raft/index.js';
import type { SoftState } from '../raft/types.js';
import type { AuditEvent } from '../membership/audit.js';
import type { MembershipView } from '../membership/membership-engine.js';
import type { IncompleteCut } from '../transport/incomplete-requests.js';
import { OpenTlsSockets, type ClosedConnection, type RevocationCheck } from '../transport/revoked-sockets.js';
import { pemCrls } from '../transport/tls-files.js';
import { METRICS_CAP_REASONS, MetricsConnections, tupleOf } from './metrics-connections.js';
import { BufferedHistogram } from './buffered-histogram.js';
import { ScrapeRenders } from './scrape-renders.js';
import { LOOP_LAG_LAST, LOOP_LAG_METRICS, registerLoopLag } from './loop-lag-metrics.js';
import { loopLag, type LagWindow } from '../util/loop-lag.js';

interface ScrapeState {
  readonly status: NodeStatus;
  readonly applied: number;
  readonly snapshotIndex: number;
  /** Bytes of log entries held in memory (RaftHost.logMemoryBytes()). */
  readonly logMemoryBytes: number;
  /** RaftHost.uncommittedBytes() and proposalsDropped, and raft.max_uncommitted_bytes. */
  readonly uncommittedBytes: number;
  readonly maxUncommittedBytes: number;
  readonly proposalsDropped: number;
  readonly membership: MembershipView;
  /** RaftHost.commitStallMs() and the limit past which the leader counts as stuck. */
  readonly commitStallMs: number;
  readonly commitStallLimitMs: number;
  /** The committed cluster version (`MAJOR.MINOR`, src/statemachine/cluster-version.ts). */
  readonly clusterVersion: string;
  /** The state's size as the quota counts it (StateQuota.used()) and controller.quota_bytes. */
  readonly stateBytes: number;
  readonly quotaBytes: number;
  /** The data dir's free disk at the last reading (null: none yet) and controller.min_free_disk_bytes. */
  readonly diskFreeBytes: number | null;
  readonly minFreeDiskBytes: number;
}

/**
 * prom-client's own lag histogram samples with a timer of this resolution, and cannot be left
 * out of its defaults: at the longest a timer takes (24.8 days) it never wakes the loop. Its
 * gauges are replaced by ours (loop-lag-metrics.ts), read from the timer grid's wake-ups.
 */
const DEFAULTS_LAG_RESOLUTION_MS = 2 ** 31 - 1;

/**
 * prom-client's defaults that break the naming rules: gauges ending in `_total`. Each has a
 * twin without the suffix (nodejs_active_handles{type}, ...), which stays.
 */
export const MISNAMED_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'] as const;

/** Disk and apply latencies: from 100 µs to 8 s, as etcd's wal_fsync buckets. */
const DISK_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192];
/** Proposals wait for a quorum's fsync: from 1 ms to 10 s. */
const PROPOSAL_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const RTT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const SNAPSHOT_BUCKETS = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** /metrics over HTTPS: the node's certificate and key, and the CA scrapers' certificates must come from (PEM). */
export interface MetricsTls {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly clientCa?: Buffer | null;
  /** With `clientCa`: CRLs the scraper's certificate is checked against (tls.crl). */
  readonly crl?: Buffer | null;
}

/** The scraper-certificate options of `tls` (none without a client CA). */
function metricsClientAuth(tls: MetricsTls): { readonly ca?: Buffer; readonly requestCert?: boolean; readonly rejectUnauthorized?: boolean; readonly crl?: string[] } {
  return tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true, ...(tls.crl ? { crl: pemCrls(tls.crl) } : {}) } : {};
}

/** Connections the metrics endpoint keeps at once, in all and from one source (metrics-connections.ts). */
export { MAX_METRICS_CONNECTIONS, MAX_METRICS_CONNECTIONS_PER_SOURCE } from './metrics-connections.js';

export class Metrics {
  readonly registry = new client.Registry();
  private server: http.Server | null = null;
  /** Scrapers' TLS connections (HTTPS only), for closing those a new CRL revokes. */
  private readonly scrapers = new OpenTlsSockets();
  /** Scrapers' connections accepted and not yet through their handshake, by 4-tuple. */
  private readonly handshaking = new Map<string, net.Socket>();
  private state: (() => ScrapeState) | null = null;
  /** The state when this process started serving: the base of the index counters. */
  private atStart: ScrapeState | null = null;
  /**
   * Messages counted since the last scrape, by type, added to raft_messages_sent_total when it is read: a labelled
   * inc per message (a hash of its labels each time) was a visible share of a put's CPU.
   */
  private readonly sentSinceScrape = new Map<string, number>();
  private readonly leaderChanges: client.Counter;
  private readonly transitions: client.Counter<'member' | 'to'>;
  private readonly auditDropped: client.Counter;
  private readonly rtt: client.Histogram<'peer'>;
  private readonly proposals: client.Counter<'result'>;
  private readonly proposalsFailed: client.Counter;
  private readonly proposalDuration: BufferedHistogram;
  private readonly applyDuration: BufferedHistogram;
  private readonly fsyncDuration: BufferedHistogram;
  private readonly snapshotDuration: client.Histogram;
  private readonly snapshotBytes: client.Gauge;
  private readonly snapshotFailures: client.Counter;
  private readonly compactions: client.Counter;
  private pendingProposals = 0;
  private lastLeader: string | null = null;
  private readonly refusals: client.Counter<'direction' | 'code' | 'peer'>;
  private readonly callRefusals: client.Counter<'code'>;
  private readonly unendedResets: client.Counter;
  private readonly incompleteCuts: client.Counter<'reason'>;
  private readonly unreadAnswerCuts: client.Counter;
  private readonly metricsCapped: client.Counter<'reason'>;
  private readonly scrapesReused: client.Counter;
  private readonly lag: LagWindow = loopLag.window();

  constructor(
    readonly node: string,
    version = '',
  ) {
    this.registry.setDefaultLabels({ node });
    // The event-loop lag histogram samples with a timer: prom-client's 10 ms default woke an
    // idle controller 100 times a second, about a third of its idle wake-ups; 100 ms still ten.
    client.collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: DEFAULTS_LAG_RESOLUTION_MS });
    for (const name of [...MISNAMED_DEFAULT_METRICS, LOOP_LAG_LAST, ...Object.values(LOOP_LAG_METRICS)]) this.registry.removeSingleMetric(name);
    registerLoopLag(this.registry, this.lag);
    const registers = [this.registry];
    const scrape = (): ScrapeState | null => (this.state ? this.state() : null);
    const gauge = (name: string, help: string, read: (s: ScrapeState) => number): void => {
      new client.Gauge({
        name,
        help,
        registers,
        collect() {
          const s = scrape();
          if (s) this.set(read(s));
        },
      });
    };
    new client.Gauge({ name: 'controller_build_info', help: 'Always 1; the version label is the running version.', labelNames: ['version'], registers }).set({ version }, 1);
    // An info gauge, as controller_build_info: one series, labelled with the version in force.
    new client.Gauge({
      name: 'controller_cluster_version_info',
      help: 'Always 1; the version label is the committed cluster version (MAJOR.MINOR).',
      labelNames: ['version'],
      registers,
      collect() {
        const s = scrape();
        if (!s) return;
        this.reset();
        this.set({ version: s.clusterVersion }, 1);
      },
    });
    gauge('raft_term', 'Current Raft term.', (s) => s.status.term);
    gauge('raft_commit_index', 'Highest log index known committed.', (s) => s.status.commit);
    gauge('raft_applied_index', 'Highest log index applied to the state machine.', (s) => s.applied);
    gauge('raft_last_index', 'Last index in the local log.', (s) => s.status.lastIndex);
    gauge('raft_first_index', 'First index still in the local log (older entries are compacted into the snapshot).', (s) => s.status.firstIndex);
    gauge('raft_snapshot_index', 'Index of the latest snapshot on disk.', (s) => s.snapshotIndex);
    gauge('raft_log_memory_bytes', 'Bytes of log entries held in memory until the next snapshot (bounded by raft.snapshot_threshold_bytes).', (s) => s.logMemoryBytes);
    gauge('raft_uncommitted_bytes', 'Bytes of entries this leader appended in its term and has not committed (0 on a follower).', (s) => s.uncommittedBytes);
    gauge('raft_max_uncommitted_bytes', 'raft.max_uncommitted_bytes: past it the leader refuses writes (RESOURCE_EXHAUSTED) until earlier ones commit.', (s) => s.maxUncommittedBytes);
    new client.Counter({
      name: 'raft_proposals_dropped_total',
      help: 'Writes this leader refused (RESOURCE_EXHAUSTED) because raft_uncommitted_bytes would pass raft.max_uncommitted_bytes.',
      registers,
      collect() {
        const s = scrape();
        if (!s) return;
        this.reset();
        this.inc(s.proposalsDropped);
      },
    });
    gauge('raft_is_leader', '1 when this node is the leader.', (s) => (s.status.role === 'leader' ? 1 : 0));
    gauge('raft_has_leader', '1 when this node knows a leader.', (s) => (s.status.leader !== null ? 1 : 0));
    gauge('raft_is_learner', '1 when this node is a learner (replicates, does not vote).', (s) => (s.status.conf.learners.includes(node) ? 1 : 0));
    gauge('raft_voters', 'Voters in the configuration this node has applied.', (s) => s.status.conf.voters.length);
    gauge('raft_learners', 'Learners in the configuration this node has applied.', (s) => s.status.conf.learners.length);
    gauge('raft_commit_stall_seconds', 'How long this leader has held entries without its commit index moving (0: none).', (s) => s.commitStallMs / 1000);
    gauge('raft_commit_stalled', '1 when the commit stall is past 2 x election timeout: the leader is stuck.', (s) => (s.commitStallMs >= s.commitStallLimitMs ? 1 : 0));
    gauge('membership_view_stale', '1 while this node answers stale: it cannot reach a quorum, or hears one but no leader beyond an ordinary election.', (s) => (s.membership.stale ? 1 : 0));
    gauge('state_size_bytes', "The replicated state's size as controller.quota_bytes counts it: an upper bound of its snapshot's length.", (s) => s.stateBytes);
    gauge('state_quota_bytes', 'controller.quota_bytes: the leader refuses writes that would take state_size_bytes past it (NO_SPACE).', (s) => s.quotaBytes);
    gauge('controller_data_dir_free_bytes', "Free bytes of the data dir's file system (NaN before the first reading): a full disk stops a controller.", (s) => s.diskFreeBytes ?? NaN);
    gauge('controller_min_free_disk_bytes', "controller.min_free_disk_bytes: the leader refuses writes that would leave a voter's controller_data_dir_free_bytes below the higher of its and the voter's (NO_SPACE).", (s) => s.minFreeDiskBytes);
    // etcd's proposals_committed/applied are gauges named _total; here they are real counters,
    // counted from this process's start (bindState) by the advance of the indexes.
    const start = (): ScrapeState | null => this.atStart;
    const indexCounter = (name: string, help: string, read: (s: ScrapeState) => number): void => {
      let counted = 0;
      new client.Counter({
        name,
        help,
        registers,
        collect() {
          const s = scrape();
          const base = start();
          if (!s || !base) return;
          const since = Math.max(0, read(s) - read(base));
          if (since > counted) this.inc(since - counted);
          counted = Math.max(counted, since);
        },
      });
    };
    indexCounter('raft_proposals_committed_total', 'Log entries committed since this process started.', (s) => s.status.commit);
    indexCounter('raft_proposals_applied_total', 'Log entries applied since this process started.', (s) => s.applied);
    const pending = (): number => this.pendingProposals;
    new client.Gauge({
      name: 'raft_proposals_pending',
      help: 'Proposals submitted on this node and not yet applied or failed.',
      registers,
      collect() {
        this.set(pending());
      },
    });
    this.proposalsFailed = new client.Counter({ name: 'raft_proposals_failed_total', help: 'Proposals submitted on this node that failed (lost leadership, timeout).', registers });
    this.proposals = new client.Counter({ name: 'raft_proposals_total', help: 'State-machine proposals on this node by outcome.', labelNames: ['result'], registers });
    this.proposalDuration = new BufferedHistogram({
      name: 'raft_proposal_duration_seconds',
      help: 'From a proposal on this node to its result (committed by a quorum and applied here).',
      buckets: PROPOSAL_BUCKETS,
      registers,
    });
    this.applyDuration = new BufferedHistogram({
      name: 'raft_apply_duration_seconds',
      help: 'Time to apply one committed entry to the state machine.',
      buckets: DISK_BUCKETS,
      registers,
    });
    this.fsyncDuration = new BufferedHistogram({
      name: 'raft_disk_fsync_duration_seconds',
      help: 'Time to write and fsync one batch of log entries and hard state (etcd: wal_fsync).',
      buckets: DISK_BUCKETS,
      registers,
    });
    this.snapshotDuration = new client.Histogram({
      name: 'raft_snapshot_save_duration_seconds',
      help: 'Time to write a snapshot of the state machine and compact the log behind it.',
      buckets: SNAPSHOT_BUCKETS,
      registers,
    });
    this.snapshotBytes = new client.Gauge({ name: 'raft_snapshot_size_bytes', help: 'Size of the latest snapshot this node wrote.', registers });
    this.snapshotFailures = new client.Counter({ name: 'raft_snapshot_failures_total', help: 'Snapshots that failed because the state could not be serialized; the log stays uncompacted until one succeeds.', registers });
    this.compactions = new client.Counter({ name: 'raft_log_compactions_total', help: 'Log compactions (each follows a snapshot).', registers });
    const perPeer = (name: string, help: string, read: (r: ScrapeState['membership']['rows'][number]) => number): void => {
      new client.Gauge({
        name,
        help,
        labelNames: ['peer'],
        registers,
        collect() {
          const s = scrape();
          if (!s) return;
          this.reset();
          for (const r of s.membership.rows) if (r.id !== node) this.set({ peer: r.id }, read(r));
        },
      });
    };
    perPeer('membership_heartbeat_timeout_seconds', 'Adaptive heartbeat timeout in force per peer.', (r) => (r.peer?.timeoutMs ?? 0) / 1000);
    perPeer('membership_peer_last_contact_seconds', 'Since this node last heard from the peer.', (r) => (r.peer?.lastContactMs ?? 0) / 1000);
    perPeer('membership_peer_online', '1 when the reconciled status of the peer is online.', (r) => (r.online ? 1 : 0));
    const unsent = this.sentSinceScrape;
    new client.Counter({
      name: 'raft_messages_sent_total',
      help: 'Raft messages handed to the transport, by type.',
      labelNames: ['type'],
      registers,
      collect() {
        for (const [type, n] of unsent) this.inc({ type }, n);
        unsent.clear();
      },
    });
    this.leaderChanges = new client.Counter({ name: 'raft_leader_changes_total', help: 'Changes of leader this node has seen (to "none" included).', registers });
    this.transitions = new client.Counter({
      name: 'membership_status_transitions_total',
      help: 'Member status transitions recorded in the audit trail.',
      labelNames: ['member', 'to'],
      registers,
    });
    this.auditDropped = new client.Counter({
      name: 'audit_events_dropped_total',
      help: "Audit events this controller could not write to its audit store: its trail lacks them (ctl audit from it says so); other controllers' trails have them.",
      registers,
    });
    this.rtt = new client.Histogram({
      name: 'membership_heartbeat_rtt_seconds',
      help: 'Heartbeat round-trip time per peer (etcd: network_peer_round_trip_time).',
      labelNames: ['peer'],
      buckets: RTT_BUCKETS,
      registers,
    });
    this.callRefusals = new client.Counter({
      name: 'client_calls_refused_total',
      help: 'Calls refused before any handler: COMPRESSED = a compressed request; HEADERS_TOO_LARGE = metadata past the port\'s 8 KiB; with tls.agent_ca, AGENT_CERTIFICATE = an agent certificate off its stream, NOT_AN_AGENT = another on an agent stream, UNVERIFIED_CHAIN = a chain whose links do not verify; NOT_A_CLIENT = with tls.client_ca, a tls.ca certificate that is no peer certificate on the client API; GATE_FAILED = a caller the gate could not judge; NOT_A_MEMBER = the peer certificate of an id that is no member.',
      labelNames: ['code'],
      registers: [this.registry],
    });
    this.incompleteCuts = new client.Counter({
      name: 'client_requests_cut_total',
      help: 'Request streams reset while their message was still arriving: budget = the unfinished messages of all streams reached their budget and this one had waited longest; calls = 4,096 calls awaited a message and this one had gone longest without a byte; stalled = no byte came for 30 s; chunks = more than 8,192 chunks waited unread in its read buffer.',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    for (const reason of ['budget', 'calls', 'stalled', 'chunks'] satisfies IncompleteCut[]) this.incompleteCuts.inc({ reason }, 0);
    this.unreadAnswerCuts = new client.Counter({
      name: 'client_answers_cut_total',
      help: "Unary calls reset because the answers written and not read by their clients, all together, passed their budget (256 MiB) and this call's had waited longest.",
      registers: [this.registry],
    });
    this.unendedResets = new client.Counter({
      name: 'client_streams_reset_unended_total',
      help: 'Streams reset (RST_STREAM NO_ERROR) after their status was written because the client had not ended its request; the requests of clients that never half-close are not held.',
      registers: [this.registry],
    });
    this.metricsCapped = new client.Counter({
      name: 'controller_metrics_connections_capped_total',
      help: 'Connections /metrics closed for a cap: max_connections (one of all, at 64; an old one, answered and idle first), max_per_source (one of its source, at 8; loopback is one source of 32, IPv6 counts by /64), max_pipelined (more than 4 requests unanswered on it).',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    for (const reason of METRICS_CAP_REASONS) this.metricsCapped.inc({ reason }, 0);
    this.scrapesReused = new client.Counter({
      name: 'controller_metrics_scrapes_reused_total',
      help: 'Scrapes of /metrics answered with the latest render, under 100 ms old, because more than 10 a second asked for a new one.',
      registers: [this.registry],
    });
    this.refusals = new client.Counter({
      name: 'peer_refusals_total',
      help: 'Peer RPCs refused on identity grounds: direction in = this node refused the peer, out = the peer refused this node.',
      labelNames: ['direction', 'code', 'peer'],
      registers: [this.registry],
    });
  }

  /** A stream reset after its status because its client had not ended the request (src/transport/unended-requests.ts). */
  onIncompleteRequestCut(reason: IncompleteCut): void {
    this.incompleteCuts.inc({ reason });
  }

  onUnreadAnswerCut(): void {
    this.unreadAnswerCuts.inc();
  }

  onUnendedStreamReset(): void {
    this.unendedResets.inc();
  }

  /** A call a gate refused (src/transport/compression-gate.ts, agent-ca-gate.ts), by its code. */
  onCallRefused(code: string): void {
    this.callRefusals.inc({ code });
  }

  /** `peer` must be a member id (or 'unknown'): label values stay bounded. */
  onPeerRefusal(direction: 'in' | 'out', code: string, peer: string): void {
    this.refusals.inc({ direction, code, peer });
  }

  observeRtt(peer: string, ms: number): void {
    this.rtt.observe({ peer }, ms / 1000);
  }

  onProposal(result: 'committed' | 'failed'): void {
    this.proposals.inc({ result });
  }

  /** A proposal was submitted on this node; call the returned function with its outcome. */
  proposalStarted(): (ok: boolean) => void {
    this.pendingProposals += 1;
    const started = performance.now();
    let done = false;
    return (ok) => {
      if (done) return;
      done = true;
      this.pendingProposals -= 1;
      if (ok) this.proposalDuration.observe((performance.now() - started) / 1000);
      else this.proposalsFailed.inc();
    };
  }

  observeApply(seconds: number): void {
    this.applyDuration.observe(seconds);
  }

  observeFsync(seconds: number): void {
    this.fsyncDuration.observe(seconds);
  }

  onSnapshotFailed(): void {
    this.snapshotFailures.inc();
  }

  observeSnapshot(seconds: number, bytes: number): void {
    this.snapshotDuration.observe(seconds);
    this.snapshotBytes.set(bytes);
    this.compactions.inc();
  }

  /** Where gauges read on scrape; called once at start, before the host applies anything new. */
  bindState(read: () => ScrapeState): void {
    this.state = read;
    this.atStart = read();
  }

  onSend(msgs: readonly Message[]): void {
    for (const m of msgs) this.sentSinceScrape.set(m.type, (this.sentSinceScrape.get(m.type) ?? 0) + 1);
  }

  onSoftState(s: SoftState, _term: number): void {
    // A soft state change may be only a change of role (a candidate's): count changes of leader.
    if (s.leader === this.lastLeader) return;
    this.lastLeader = s.leader;
    this.leaderChanges.inc();
  }

  onAudit(e: AuditEvent): void {
    if (e.type === 'member.status' && e.subject && e.to) this.transitions.inc({ member: e.subject, to: e.to });
  }

  /** An audit event the store could not write. */
  onAuditDropped(): void {
    this.auditDropped.inc();
  }

  /**
   * Serves /metrics; over HTTPS with `tls` (the node's certificate and key, PEM), and with
   * `clientCa` only to scrapers whose certificate it signed (the handshake fails for others).
   */
  async listen(address: string, tls: MetricsTls | null = null): Promise<void> {
    const idx = address.lastIndexOf(':');
    const host = address.slice(0, idx);
    const port = Number(address.slice(idx + 1));
    // Rendered into bytes once: a body reused by many answers is not encoded again for each.
    const render = async (): Promise<Buffer> => Buffer.from(await this.registry.metrics());
    const renders = new ScrapeRenders(render, performance.now(), () => this.scrapesReused.inc());
    const connections = new MetricsConnections((reason) => this.metricsCapped.inc({ reason }));
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      const answered = connections.request(req.socket);
      if (answered === false) return;
      res.once('finish', answered);
      res.once('close', answered);
      if (req.url !== '/metrics') {
        res.writeHead(404).end('not found; try /metrics\n');
        return;
      }
      renders.body(performance.now()).then(
        (body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(body),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    };
    const clientAuth = tls === null ? {} : metricsClientAuth(tls);
    // Scrapers are few and quick: 3,000 idle connections (no certificate needed without a
    // metrics client CA) held a controller's memory until they closed all at once.
    const limits = { headersTimeout: 10_000, requestTimeout: 10_000, connectionsCheckingInterval: 5_000 };
    this.server = tls === null ? http.createServer(limits, handler) : https.createServer({ ...limits, cert: tls.cert, key: tls.key, handshakeTimeout: 10_000, ...clientAuth }, handler);
    if (this.server instanceof https.Server) {
      this.server.on('connection', (socket: net.Socket) => {
        const tuple = tupleOf(socket);
        this.handshaking.set(tuple, socket);
        socket.once('close', () => {
          if (this.handshaking.get(tuple) === socket) this.handshaking.delete(tuple);
        });
      });
      this.server.on('secureConnection', (socket: TLSSocket) => {
        this.handshaking.delete(tupleOf(socket));
        this.scrapers.add(socket);
      });
    }
    // Scrapers are few: at most 64 connections, 8 from one source (32 from loopback), an old one closed at a cap.
    this.server.on('connection', (socket: net.Socket) => connections.admit(socket));
    const srv = this.server;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, host.replace(/^\[|\]$/g, ''), () => resolve());
    });
  }

  /**
   * New certificate, key, scrapers' CA and CRL for the handshakes that start from now on (a TLS
   * reload); scrapes already connected keep theirs. Whether scrapers are asked for a certificate
   * is fixed at listen. Nothing to do without HTTPS.
   */
  setTls(tls: MetricsTls, cutHandshakes: boolean): void {
    if (!(this.server instanceof https.Server)) return;
    this.server.setSecureContext({ cert: tls.cert, key: tls.key, ...metricsClientAuth(tls) });
    // As on the gRPC port (guarded-listener.ts setTls): a connection accepted before the swap
    // would finish its handshake against the old CRL and CAs.
    if (cutHandshakes) for (const socket of [...this.handshaking.values()]) socket.destroy();
  }

  /** Closes the scrapers' connections whose certificate a new CRL revokes (revoked-sockets.ts). */
  closeRevoked(revocations: RevocationCheck): Promise<ClosedConnection[]> {
    return this.scrapers.closeRevoked('metrics', revocations);
  }

  async close(): Promise<void> {
    this.lag.close();
    const srv = this.server;
    if (!srv) return;
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }
}
