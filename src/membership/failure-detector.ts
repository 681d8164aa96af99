/**
 * The adaptive heartbeat failure detector of one node: which peers it currently hears from.
 * Pure: time comes in as `now` (ms, monotonic), messages as `recordContact` / `recordRtt` calls.
 *
 * A peer is offline once `now - lastContact > timeout`, and online again at its next message
 * (any message counts: a ping, a pong, a Raft message). The timeout is per peer:
 *   dynamic:  clamp(base + 2 x movingAverageRtt, min, max)
 *   static:   exactly base
 * so a peer behind a slow link gets room in proportion to its measured latency.
 *
 * Our own pauses (SIGSTOP, a long GC, a blocked event loop) must not read as every peer's
 * silence: while we were stopped nobody could have reached us. When two `observe` calls are
 * further apart than `stallThresholdMs`, the excess is not counted against any peer.
 *
 * A peer this node cannot dial is not heard, even though its messages arrive (they ride on the
 * connections the peer opened itself): a member listening where its peers cannot connect, or
 * behind a firewall that blocks new inbound connections, reaches everyone and can be reached by
 * nobody. While our dials to it fail (`recordDialFailure`, until `recordDialSuccess`), its
 * messages count for `max(timeout, dialGraceMs)` from the first one heard in the streak, then
 * no longer, so it times out as a silent peer would, with a reason that says why.
 */
import type { MemberStatus, NodeId, PeerObservation, PeerSnapshot, StatusTransition } from './types.js';
import { MembershipError, requireNonNegative, requirePositiveInt } from './errors.js';
import { RttStats } from './rtt-stats.js';

export interface DetectorConfig {
  readonly baseTimeoutMs: number;
  /** true: base + 2 x moving-average RTT, clamped to [min, max]; false: exactly base. */
  readonly dynamicAdjustment: boolean;
  /** Samples in the RTT moving average. */
  readonly rttWindow: number;
  readonly minTimeoutMs: number;
  readonly maxTimeoutMs: number;
  /** A gap between `observe` calls longer than this is our own stall; default min(1000, base / 2). */
  readonly stallThresholdMs?: number;
  /**
   * While dials to a peer fail, its own messages still count for at least this long from the
   * first one heard (and always for one timeout): a restarted peer is heard before our
   * connection to it is redialled. Default 0 (one timeout).
   */
  readonly dialGraceMs?: number;
}

/** The timeout formula alone, for tests and for reporting what a given RTT would yield. */
export function computeTimeoutMs(config: DetectorConfig, movingAverageRttMs: number): number {
  if (!config.dynamicAdjustment) return config.baseTimeoutMs;
  const raw = config.baseTimeoutMs + 2 * movingAverageRttMs;
  return Math.min(config.maxTimeoutMs, Math.max(config.minTimeoutMs, raw));
}

export function validateDetectorConfig(config: DetectorConfig): void {
  const positive = (key: string, v: number): void => {
    if (!Number.isFinite(v) || v <= 0) {
      throw new MembershipError('INVALID_CONFIG', `heartbeat.${key}: expected a duration > 0 ms, found ${String(v)}`);
    }
  };
  positive('base_timeout', config.baseTimeoutMs);
  positive('min_timeout', config.minTimeoutMs);
  positive('max_timeout', config.maxTimeoutMs);
  requirePositiveInt('heartbeat.rtt_window', config.rttWindow);
  if (config.minTimeoutMs > config.maxTimeoutMs) {
    throw new MembershipError(
      'INVALID_CONFIG',
      `heartbeat: expected min_timeout <= max_timeout, found ${config.minTimeoutMs}ms > ${config.maxTimeoutMs}ms`,
    );
  }
  if (config.dialGraceMs !== undefined && !(config.dialGraceMs >= 0)) {
    throw new MembershipError('INVALID_CONFIG', `heartbeat dial grace: expected >= 0 ms, found ${String(config.dialGraceMs)}`);
  }
  if (config.stallThresholdMs !== undefined && !(config.stallThresholdMs > 0)) {
    throw new MembershipError('INVALID_CONFIG', `heartbeat stall threshold: expected > 0 ms, found ${String(config.stallThresholdMs)}`);
  }
}

interface PeerState {
  status: MemberStatus;
  /** The instant the timeout counts from: last contact, or when we started watching, shifted past our stalls. */
  since: number;
  lastHeardAt: number | null;
  /** When `status` last changed; null while it is still the initial one. */
  changedAt: number | null;
  /** The end of the peer's last silence longer than half its timeout (a pause, ours or its). */
  silenceEndedAt: number;
  readonly rtt: RttStats;
  /** Our dials to the peer have failed since then (the first failure after the last success); null: they work. */
  dialFailingSince: number | null;
  /** The first message of the peer heard while our dials fail; its messages count for a while from then. */
  heardWhileUndialableAt: number | null;
  /** The last message of the peer not counted because we cannot dial it. */
  uncountedAt: number | null;
  /** When the ping whose answer last proved a dial sent; failures of older pings say nothing new. */
  lastDialOkSentAt: number;
}

/** A peer whose messages arrive while our dials to it fail (see the file comment). */
export interface UndialablePeer {
  /** ms our dials have been failing. */
  readonly failingForMs: number;
  /** ms since its last message that was not counted; null: none yet (still within the grace). */
  readonly lastUncountedAgoMs: number | null;
}

export class FailureDetector {
  private readonly peerStates = new Map<NodeId, PeerState>();
  private readonly pending: StatusTransition[] = [];
  private readonly stallThresholdMs: number;
  private lastObserveAt: number | null = null;

  /** Every peer starts online with one full timeout of grace from `now`. */
  constructor(
    private readonly config: DetectorConfig,
    peers: readonly NodeId[],
    now: number,
  ) {
    validateDetectorConfig(config);
    this.stallThresholdMs = config.stallThresholdMs ?? Math.min(1_000, config.baseTimeoutMs / 2);
    for (const p of peers) this.addPeer(p, now);
  }

  has(peer: NodeId): boolean {
    return this.peerStates.has(peer);
  }

  peers(): readonly NodeId[] {
    return [...this.peerStates.keys()];
  }

  addPeer(peer: NodeId, now: number): void {
    if (this.peerStates.has(peer)) {
      throw new MembershipError('DUPLICATE_PEER', `failure detector: peer "${peer}" is already watched`);
    }
    this.peerStates.set(peer, {
      status: 'online',
      since: now,
      lastHeardAt: null,
      changedAt: null,
      silenceEndedAt: -Infinity,
      rtt: new RttStats({ window: this.config.rttWindow }),
      dialFailingSince: null,
      heardWhileUndialableAt: null,
      uncountedAt: null,
      lastDialOkSentAt: -Infinity,
    });
  }

  removePeer(peer: NodeId): void {
    this.state(peer); // throws UNKNOWN_PEER: removing a peer never watched is a caller bug
    this.peerStates.delete(peer);
  }

  /** Watch exactly `peers`: new ones start with a grace period, gone ones are forgotten. */
  setPeers(peers: readonly NodeId[], now: number): void {
    const wanted = new Set(peers);
    for (const p of [...this.peerStates.keys()]) if (!wanted.has(p)) this.removePeer(p);
    for (const p of wanted) if (!this.peerStates.has(p)) this.addPeer(p, now);
  }

  /** Any message from `peer` arrived at `now`. Brings an offline peer back at once. */
  recordContact(peer: NodeId, now: number): void {
    const s = this.state(peer);
    const lastArrivalAt = s.uncountedAt ?? s.lastHeardAt;
    if (s.dialFailingSince !== null) {
      // After a silence longer than its timeout (it was stopped, restarting) the grace starts
      // again: a restarted peer is heard before our connection to it is redialled.
      if (s.heardWhileUndialableAt === null || lastArrivalAt === null || now - lastArrivalAt > this.timeoutMs(peer)) {
        s.heardWhileUndialableAt = now;
        s.uncountedAt = null;
      } else if (now > s.heardWhileUndialableAt + Math.max(0, (this.config.dialGraceMs ?? 0) - this.timeoutMs(peer))) {
        s.uncountedAt = now;
        return;
      }
    }
    if (s.lastHeardAt !== null && now - s.lastHeardAt > this.timeoutMs(peer) / 2) s.silenceEndedAt = now;
    s.lastHeardAt = s.lastHeardAt === null ? now : Math.max(s.lastHeardAt, now);
    s.since = Math.max(s.since, now);
    if (s.status === 'offline') {
      s.status = 'online';
      s.changedAt = now;
      this.pending.push({ peer, from: 'offline', to: 'online', reason: 'heartbeat resumed', atMs: now });
    }
  }

  /**
   * Adds an RTT sample measured by a reply that arrived at `now` (default: the last contact,
   * so call recordContact for the reply first); returns false when the sample was ignored.
   * A reply to a ping sent before a silence ended (the peer was stopped, or we were, and
   * answered on resuming) or slower than the timeout measures a pause, not the link: counting
   * it would stretch the very timeout that should catch the next pause.
   */
  recordRtt(peer: NodeId, rttMs: number, now?: number): boolean {
    requireNonNegative(`rtt sample for "${peer}" (ms)`, rttMs);
    const s = this.state(peer);
    const arrived = now ?? s.lastHeardAt ?? 0;
    if (rttMs > this.timeoutMs(peer) || arrived - rttMs < s.silenceEndedAt) return false;
    s.rtt.record(rttMs);
    return true;
  }

  /**
   * A ping sent at `sentAt` could not reach `peer` because no connection to it could be opened
   * (refused, no route, no answer to the attempt). A ping lost on a working connection is not
   * a dial failure: the timeout judges that.
   */
  recordDialFailure(peer: NodeId, sentAt: number): void {
    const s = this.state(peer);
    if (sentAt < s.lastDialOkSentAt || s.dialFailingSince !== null) return;
    // The grace starts at its next message (recordContact), not at the ping even when it was
    // heard since: that may be its last words before it stopped (its connection closing fails
    // the ping), and a peer back within its timeout then had no grace, offline until our redial.
    s.dialFailingSince = sentAt;
  }

  /**
   * A ping sent at `sentAt` was answered, or failed on an open connection: our dials to `peer`
   * work. Call it before recordContact for the answer. A ping sent before the one whose dial
   * failed (a lost ping fails only at its deadline, long after a refused one) ends no streak.
   */
  recordDialSuccess(peer: NodeId, sentAt: number): void {
    const s = this.state(peer);
    s.lastDialOkSentAt = Math.max(s.lastDialOkSentAt, sentAt);
    if (s.dialFailingSince !== null && sentAt < s.dialFailingSince) return;
    s.dialFailingSince = null;
    s.heardWhileUndialableAt = null;
    s.uncountedAt = null;
  }

  /** Whether `peer`'s messages arrive while our dials to it fail; null: we dial it, or it is silent too. */
  undialable(peer: NodeId, now: number): UndialablePeer | null {
    const s = this.state(peer);
    if (s.dialFailingSince === null || s.heardWhileUndialableAt === null) return null;
    return { failingForMs: Math.max(0, now - s.dialFailingSince), lastUncountedAgoMs: s.uncountedAt === null ? null : Math.max(0, now - s.uncountedAt) };
  }

  timeoutMs(peer: NodeId): number {
    return computeTimeoutMs(this.config, this.state(peer).rtt.movingAverageMs());
  }

  /** The moving-average RTT to `peer` in ms; null before the first sample. */
  movingAverageRttMs(peer: NodeId): number | null {
    const rtt = this.state(peer).rtt;
    return rtt.samples === 0 ? null : rtt.movingAverageMs();
  }

  status(peer: NodeId): MemberStatus {
    return this.state(peer).status;
  }

  /**
   * Advance to `now`: returns every transition since the last call, in the order they happened
   * (resumptions recorded by `recordContact`, then timeouts found now). Call it at least every
   * stallThreshold / 2 ms, or gaps are mistaken for our own stalls.
   */
  observe(now: number): readonly StatusTransition[] {
    if (this.lastObserveAt !== null && now < this.lastObserveAt) now = this.lastObserveAt;
    const gap = this.lastObserveAt === null ? 0 : now - this.lastObserveAt;
    const stalledMs = gap > this.stallThresholdMs ? gap - this.stallThresholdMs : 0;
    this.lastObserveAt = now;

    for (const [peer, s] of this.peerStates) {
      if (stalledMs > 0) {
        s.since = Math.min(now, s.since + stalledMs);
        if (s.heardWhileUndialableAt !== null) s.heardWhileUndialableAt = Math.min(now, s.heardWhileUndialableAt + stalledMs);
      }
      if (s.status !== 'online') continue;
      const timeout = this.timeoutMs(peer);
      if (now - s.since > timeout) {
        s.status = 'offline';
        s.changedAt = now;
        const undialable = s.uncountedAt !== null && s.dialFailingSince !== null;
        const reason = undialable
          ? `cannot dial it for ${Math.round(now - (s.dialFailingSince ?? now))}ms while its own messages arrive (heartbeat timeout ${Math.round(timeout)}ms)`
          : `heartbeat timeout ${Math.round(timeout)}ms`;
        this.pending.push({ peer, from: 'online', to: 'offline', reason, atMs: now, ...(undialable ? { undialable: true } : {}) });
      }
    }
    return this.pending.splice(0, this.pending.length);
  }

  /** The cheap part of a snapshot (no percentiles): what views and the reconciler need. */
  observation(peer: NodeId, now: number): PeerObservation {
    const s = this.state(peer);
    return {
      peer,
      status: s.status,
      lastContactMs: s.lastHeardAt === null ? null : Math.max(0, now - s.lastHeardAt),
      silenceMs: s.lastHeardAt === null ? null : Math.max(0, now - s.since),
      timeoutMs: Math.round(this.timeoutMs(peer)),
      changedAt: s.changedAt,
    };
  }

  snapshot(peer: NodeId, now: number): PeerSnapshot {
    // Field by field: object rest and spread take V8's generic copy path, and every status
    // answer (and the simulations' every sample) asks this for every peer.
    const o = this.observation(peer, now);
    const rtt = this.state(peer).rtt;
    return { peer, status: o.status, lastContactMs: o.lastContactMs, timeoutMs: o.timeoutMs, rttP50Ms: rtt.percentileMs(50), rttP99Ms: rtt.percentileMs(99) };
  }

  snapshotAll(now: number): readonly PeerSnapshot[] {
    return [...this.peerStates.keys()].map((p) => this.snapshot(p, now));
  }

  private state(peer: NodeId): PeerState {
    const s = this.peerStates.get(peer);
    if (s === undefined) {
      const known = [...this.peerStates.keys()].join(', ') || 'none';
      throw new MembershipError('UNKNOWN_PEER', `failure detector: expected a watched peer (${known}), found "${peer}"`);
    }
    return s;
  }
}
