/**
 * Prometheus metrics (prom-client) on `GET /metrics` of the node's `metrics` address. Gauges
 * that mirror state are collected on scrape from the host, so the hot path only bumps counters.
 */
import http from 'node:http';
import https from 'node:https';
import client from 'prom-client';
import type { NodeStatus, Message } from '../raft/index.js';
import type { SoftState } from '../raft/types.js';
import type { AuditEvent } from '../membership/audit.js';
import type { MembershipView } from '../membership/membership-engine.js';

interface ScrapeState {
  readonly status: NodeStatus;
  readonly applied: number;
  readonly membership: MembershipView;
  /** RaftHost.commitStallMs() and the limit past which the leader counts as stuck. */
  readonly commitStallMs: number;
  readonly commitStallLimitMs: number;
}

/** Resolution of nodejs_eventloop_lag_*: coarse enough to cost nothing at idle, fine enough to
 * show a loop blocked long enough to matter to Raft (heartbeats are 100 ms apart by default). */
export const EVENT_LOOP_SAMPLE_MS = 100;

export class Metrics {
  readonly registry = new client.Registry();
  private server: http.Server | null = null;
  private state: (() => ScrapeState) | null = null;
  private readonly sent: client.Counter<'type'>;
  private readonly leaderChanges: client.Counter;
  private readonly transitions: client.Counter<'member' | 'to'>;
  private readonly rtt: client.Histogram<'peer'>;
  private readonly proposals: client.Counter<'result'>;
  private readonly refusals: client.Counter<'direction' | 'code' | 'peer'>;

  constructor(readonly node: string) {
    this.registry.setDefaultLabels({ node });
    // The event-loop lag histogram samples with a timer: prom-client's 10 ms default woke an
    // idle controller 100 times a second, about a third of its idle wake-ups.
    client.collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    const scrape = (): ScrapeState | null => (this.state ? this.state() : null);
    const gauge = (name: string, help: string, read: (s: ScrapeState) => number): void => {
      new client.Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          const s = scrape();
          if (s) this.set(read(s));
        },
      });
    };
    gauge('raft_term', 'Current Raft term.', (s) => s.status.term);
    gauge('raft_commit_index', 'Highest log index known committed.', (s) => s.status.commit);
    gauge('raft_applied_index', 'Highest log index applied to the state machine.', (s) => s.applied);
    gauge('raft_last_index', 'Last index in the local log.', (s) => s.status.lastIndex);
    gauge('raft_is_leader', '1 when this node is the leader.', (s) => (s.status.role === 'leader' ? 1 : 0));
    gauge('raft_has_leader', '1 when this node knows a leader.', (s) => (s.status.leader !== null ? 1 : 0));
    gauge('raft_commit_stall_seconds', 'How long this leader has held entries without its commit index moving (0: none).', (s) => s.commitStallMs / 1000);
    gauge('raft_commit_stalled', '1 when the commit stall is past 2 x election timeout: the leader is stuck.', (s) => (s.commitStallMs >= s.commitStallLimitMs ? 1 : 0));
    gauge('membership_view_stale', '1 when this node cannot reach a quorum.', (s) => (s.membership.stale ? 1 : 0));
    const perPeer = (name: string, help: string, read: (r: ScrapeState['membership']['rows'][number]) => number): void => {
      new client.Gauge({
        name,
        help,
        labelNames: ['peer'],
        registers: [this.registry],
        collect() {
          const s = scrape();
          if (!s) return;
          this.reset();
          for (const r of s.membership.rows) if (r.id !== node) this.set({ peer: r.id }, read(r));
        },
      });
    };
    perPeer('membership_heartbeat_timeout_ms', 'Adaptive heartbeat timeout in force per peer.', (r) => r.peer?.timeoutMs ?? 0);
    perPeer('membership_rtt_p50_ms', 'Heartbeat round-trip time p50 per peer.', (r) => r.peer?.rttP50Ms ?? 0);
    perPeer('membership_rtt_p99_ms', 'Heartbeat round-trip time p99 per peer.', (r) => r.peer?.rttP99Ms ?? 0);
    perPeer('membership_peer_online', '1 when the reconciled status of the peer is online.', (r) => (r.online ? 1 : 0));
    this.sent = new client.Counter({ name: 'raft_messages_sent_total', help: 'Raft messages handed to the transport.', labelNames: ['type'], registers: [this.registry] });
    this.leaderChanges = new client.Counter({ name: 'raft_leader_changes_total', help: 'Leader changes seen.', registers: [this.registry] });
    this.transitions = new client.Counter({
      name: 'membership_status_transitions_total',
      help: 'Member status transitions recorded in the audit trail.',
      labelNames: ['member', 'to'],
      registers: [this.registry],
    });
    this.rtt = new client.Histogram({
      name: 'membership_heartbeat_rtt_seconds',
      help: 'Heartbeat round-trip time per peer.',
      labelNames: ['peer'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    this.proposals = new client.Counter({
      name: 'raft_proposals_total',
      help: 'Client and membership proposals by outcome.',
      labelNames: ['result'],
      registers: [this.registry],
    });
    this.refusals = new client.Counter({
      name: 'peer_refusals_total',
      help: 'Peer RPCs refused on identity grounds: direction in = this node refused the peer, out = the peer refused this node.',
      labelNames: ['direction', 'code', 'peer'],
      registers: [this.registry],
    });
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

  bindState(read: () => ScrapeState): void {
    this.state = read;
  }

  onSend(msgs: readonly Message[]): void {
    for (const m of msgs) this.sent.inc({ type: m.type });
  }

  onSoftState(_s: SoftState, _term: number): void {
    this.leaderChanges.inc();
  }

  onAudit(e: AuditEvent): void {
    if (e.type === 'member.status' && e.subject && e.to) this.transitions.inc({ member: e.subject, to: e.to });
  }

  /** Serves /metrics; over HTTPS with `tls` (the node's certificate and key, PEM). */
  async listen(address: string, tls: { readonly cert: Buffer; readonly key: Buffer } | null = null): Promise<void> {
    const idx = address.lastIndexOf(':');
    const host = address.slice(0, idx);
    const port = Number(address.slice(idx + 1));
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end('not found; try /metrics\n');
        return;
      }
      this.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(body),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    };
    this.server = tls === null ? http.createServer(handler) : https.createServer({ cert: tls.cert, key: tls.key }, handler);
    const srv = this.server;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, host.replace(/^\[|\]$/g, ''), () => resolve());
    });
  }

  async close(): Promise<void> {
    const srv = this.server;
    if (!srv) return;
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }
}
