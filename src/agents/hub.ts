/**
 * AgentHub: everything one controller decides about the agents connected to it, as a
 * deterministic core (the shape of the Raft core: inputs in, effects out). Time arrives as
 * `now` (monotonic ms), streams as ids, replicated state through HubPort. The driver
 * (hub-driver.ts) carries the effects out on real gRPC streams and timers.
 *
 * Life of a stream: open -> hello (identity checked) -> queued (admitted a bounded number per
 * tick) -> claimed (a connect report) and welcomed -> active (pushes, pings) or waiting (the
 * agent holds a version this controller has not applied: never push it an older one) -> closed.
 *
 * Health, as the contract defines it: an agent is online while it is connected to a controller
 * that a quorum hears from. So:
 * - a controller that has not heard from a quorum for 85% of an election timeout, or from a
 *   leader for three, or whose report the leader it hears has left unanswered for three (a
 *   one-way link), closes every stream and refuses new ones, and its agents fail over;
 * - an agent silent for its adaptive timeout is cut off; an agent whose stream ended gets a
 *   grace period to reappear on any controller before this one reports it offline, so a move
 *   is not an outage, and is not reported while another controller serves it (offline-check.ts);
 * - the leader reports offline the agents of a controller it has not heard from for their
 *   timeout plus grace (a controller that died cannot report anything);
 * - every report is conditional on the stream (session) that claimed the agent, so a
 *   controller the agent has left cannot take it offline behind its new controller.
 */
import { AGENT_ID_PATTERN, CLAIM_ORDER_VERSION, FORGET_AGENTS_VERSION, declaredOnly, MAX_AGENT_ID_BYTES, MAX_OBSERVED, MAX_OPENED_MS, type AgentReportEntry, type ForgetEntry } from '../statemachine/index.js';
import { EMPTY_MANIFEST_VERSION, Manifest, ManifestStore, contradictsState } from './manifest.js';
import { identityRefusal, type StreamIdentity } from './identity.js';
import { AgentLiveness } from './liveness.js';
import type { HubCounters, HubEffect, HubOptions, HubPort } from './hub-types.js';
import type { AgentMessage, CloseCode, Hello } from './protocol.js';
import { PushPlanner } from './push-planner.js';
import { FreshPlans } from './fresh-plan-budget.js';
import { agentState, PushTracker, type ReplyOutcome } from './push-tracker.js';
import { AdmissionBudget } from './admission.js';
import { Departures, departureGraceMs, type Departure } from './departures.js';
import { LeaderExpiry } from './leader-expiry.js';
import { DEFAULT_RECONNECT_TIMEOUT_MS, OfflineReaper } from './offline-reaper.js';
import { OfflineCheck, type OfflineCandidate } from './offline-check.js';
import { ReportBatch } from './report-batch.js';
import { emptySync, log, olderEpoch, rejectedByThisProcess, rejectionOf, type Session } from './session.js';
import { selectLazy, type ClusterState, type ConfigSelector } from './selection.js';
import { LeaderDuties, usageFlushMs } from './mesh-duties.js';
import { SupplantedProcesses, admittedBefore, supersededBy } from './supplanted.js';
import { LEADERLESS_ELECTIONS } from '../membership/leader-contact.js';
import { meshAudit } from './mesh-audit.js';
import { MeshReportQueue, type MeshReportBody } from './mesh-reports.js';
import { PublishGate } from './publish-gate.js';
import { PublishRefusals } from './publish-refusals.js';
import { PUSH_ALLOWANCE_FROM_MS, pushTransferMs } from './push-transfer.js';
import { pushBody } from './wire.js';
import type { Usage } from './protocol.js';
import type { AgentState, LiveAgent, StreamId } from './types.js';
import { RateBudget } from '../util/rate-budget.js';

/** Our own pause longer than this is not counted against any agent (the failure detector's rule). */
function stallThreshold(opts: HubOptions): number {
  return Math.min(1_000, opts.detector.baseTimeoutMs / 2);
}

const LEADER_EXPIRY_EVERY_MS = 250;

/**
 * A connection of an agent claims it here at most this long after the last claim here: a newer
 * connection takes over, or one that follows a closed stream reconnects. An agent restarting
 * takes over once; a flood of hellos with one id and rising epochs (a bug, or a hostile
 * certificate: 3,000 in a second were measured) gets a refusal each instead of a close, a claim
 * and an audit event each, which had stalled the controller and flooded its audit; so does a
 * flood that closes each stream before its next hello.
 */
export const TAKEOVER_MIN_INTERVAL_MS = 1_000;
/**
 * Usage messages a stream may send: 50 a second after a burst of 100, each up to 2 x 256 names;
 * ours sends misses coalesced over milliseconds and uses once a second. Before (attack round 16),
 * one agent stream sending 128 KB usage messages as fast as they were taken had its leader parse
 * every one (1.4 ms apiece), for names past the bounds of what an agent's report and record hold.
 */
export const USAGE_PER_SECOND = 50;
export const USAGE_BURST = 100;

/** How often an idle hub (see AgentHub.idle) is ticked: as often as the leader's duties run. */
export const IDLE_TICK_MS = LEADER_EXPIRY_EVERY_MS;

const TIMER_SLACK_MS = 2;

/**
 * Whether a duty done at `last` is due again. An interval timer of the duty's own period fires
 * up to a millisecond early by performance.now(); without the slack such a tick would skip the
 * duty and double its period (the idle hub ticks at exactly LEADER_EXPIRY_EVERY_MS).
 */
function due(now: number, last: number, everyMs: number): boolean {
  return now - last >= everyMs - TIMER_SLACK_MS;
}

/**
 * Streams one client certificate may hold on a controller: an agent needs one, and two while a
 * reconnect takes over the old stream. Without a bound, one certificate could open every stream
 * the controller allows without ever saying hello (25,000 of them stalled a controller long
 * enough to be judged offline).
 */
export const MAX_STREAMS_PER_CERTIFICATE = 4;

/** Whom a stream is counted against: its certificate's CN ('' for none); null without TLS. */
function certificateKey(identity: StreamIdentity): string | null {
  return identity.tls ? JSON.stringify(identity.agentId ?? '') : null;
}

export class AgentHub {
  readonly store = new ManifestStore();
  readonly counters: HubCounters = { pushes: 0, acks: 0, nacks: 0, ignoredReplies: 0, resyncs: 0, takeovers: 0, heartbeatTimeouts: 0, refused: 0, publishes: 0, republishesSkipped: 0, publishesHeld: 0, publishesOverMesh: 0, publishesUnspoken: 0, publishesNotAllowed: 0, publishesOverShare: 0, publishesUndeclared: 0, publishesDamped: 0, usageMessagesDropped: 0, offlineHeld: 0, reapsProposed: 0 };
  readonly meshReports: MeshReportQueue;
  private readonly publishGate: PublishGate;
  /** Refusals warned of and audited, per agent (publish-refusals.ts). */
  private readonly publishRefusals = new PublishRefusals();
  private readonly planner: PushPlanner;
  /** Pushes planned afresh, a bounded amount of work per pump (fresh-plan-budget.ts). */
  private readonly fresh: FreshPlans;
  private readonly selector: ConfigSelector;
  private readonly duties: LeaderDuties;
  private meshCursor: number;
  private readonly streams = new Map<StreamId, Session>();
  private readonly byAgent = new Map<string, StreamId>();
  /** When each agent was last claimed here, within TAKEOVER_MIN_INTERVAL_MS, oldest first. */
  private readonly recentClaims = new Map<string, number>();
  /** Processes another process of their agent id took over here: refused while it holds the agent. */
  private readonly supplanted = new SupplantedProcesses();
  private readonly queue = new Set<StreamId>();
  private readonly dirty = new Set<StreamId>();
  private readonly waiting = new Set<StreamId>();
  /** Selection key -> the active streams following it. */
  private readonly bySelection = new Map<string, Set<StreamId>>();
  private readonly departures: Departures;
  private readonly expiry = new LeaderExpiry();
  readonly reaper: OfflineReaper;
  private readonly offline: OfflineCheck;
  private readonly admission: AdmissionBudget;
  private readonly report = new ReportBatch();
  /** Selection key -> the version last evaluated for its sessions. */
  private readonly seenVersions = new Map<string, number>();
  private nonce = 0;
  private sessions = 0;
  private cutOff = true;
  private cutReason = 'cut off from a quorum (starting)';
  /**
   * When the agents' report in flight, and the mesh report in flight, were taken (or, for one
   * taken out of reach, since a quorum and a leader were heard again); null: none in flight. A
   * report that stays unanswered while both are heard means a leader that hears nothing back
   * from us (a link or a port that works one way only): our agents' claims, ACKs, publishes and
   * the names they resolve cannot commit.
   */
  private reportOutSince: number | null = null;
  private meshReportOutSince: number | null = null;
  private lastTickAt: number | null = null;
  /** Whether the hub was idle at its last tick: then the driver ticks it slowly, and the gap is not a stall. */
  private idleAtLastTick = true;
  private barrierWanted = false;
  private barrierInFlight = false;
  private lastReconcileAt = Number.NEGATIVE_INFINITY;
  private lastExpiryAt = Number.NEGATIVE_INFINITY;
  private transitionCursor: number;
  private readonly helloTimeoutMs: number;
  /** Warnings of agents of another cluster refused at their hello: a hello costs a client nothing, a log line must not be free to flood. */
  private readonly foreignWarnings = new RateBudget(1, 10, 0);
  private readonly tickMs: number | null;
  private readonly maxStreams: number;
  private readonly maxStreamsPerCertificate: number;
  /** Open streams per client certificate (its CN; TLS only). */
  private readonly byCertificate = new Map<string, number>();
  private readonly maxReportEntries: number;
  private readonly cutoffMs: number;
  /** Disconnects the offline check let through, by session, until a report holding them commits (recheckOffline). */
  private readonly judgedOffline = new Map<string, OfflineCandidate>();
  private readonly leaderlessMs: number;
  private readonly staleReportMs: number;

  constructor(
    private readonly opts: HubOptions,
    private readonly port: HubPort,
  ) {
    this.selector = opts.selector ?? selectLazy;
    this.planner = new PushPlanner(this.store, this.selector);
    this.fresh = new FreshPlans(this.planner, opts.freshUnitsPerPump);
    this.meshReports = new MeshReportQueue(opts.self);
    this.publishGate = new PublishGate(port, this.meshReports, this.counters, this.publishRefusals);
    this.helloTimeoutMs = opts.helloTimeoutMs ?? 10_000;
    this.admission = new AdmissionBudget(opts.admitPerTick ?? 200);
    this.departures = new Departures(opts.pingIntervalMs);
    this.offline = new OfflineCheck(opts.self);
    this.reaper = new OfflineReaper(opts.reconnectTimeoutMs ?? DEFAULT_RECONNECT_TIMEOUT_MS);
    this.duties = new LeaderDuties(opts.unlistedServiceGraceMs);
    this.tickMs = opts.tickMs ?? null;
    this.maxStreams = opts.maxStreams ?? 50_000;
    this.maxStreamsPerCertificate = opts.maxStreamsPerCertificate ?? MAX_STREAMS_PER_CERTIFICATE;
    this.maxReportEntries = opts.maxReportEntries ?? 1_000;
    this.cutoffMs = Math.round(0.85 * opts.electionTimeoutMs);
    this.leaderlessMs = LEADERLESS_ELECTIONS * opts.electionTimeoutMs;
    this.staleReportMs = opts.staleReportMs ?? 1_000;
    // Audit only what commits from now on; the trail already holds what came before.
    this.transitionCursor = port.state().agents.transitionSeq;
    this.meshCursor = port.state().mesh.transitionSeq;
  }

  /** How long after its last contact a departed agent may reappear elsewhere before it is offline. */
  graceMs(timeoutMs: number): number {
    return departureGraceMs(timeoutMs, this.opts.pingIntervalMs);
  }

  // ---- inputs ---------------------------------------------------------------------------------

  open(stream: StreamId, identity: StreamIdentity, now: number): HubEffect[] {
    // With no streams the ticks skip the quorum check (an idle controller costs nothing): judge now.
    if (this.streams.size === 0) this.checkQuorum(now, []);
    if (this.cutOff) return this.refuse(stream, 'unavailable', `${this.opts.self} is ${this.cutReason}; try another controller`);
    if (this.streams.size >= this.maxStreams) return this.refuse(stream, 'exhausted', `${this.opts.self} holds ${this.streams.size} agent streams, its limit`);
    // One certificate is one agent: it needs one stream (two during a takeover), not the controller's every slot.
    const holder = certificateKey(identity);
    if (holder !== null) {
      const held = this.byCertificate.get(holder) ?? 0;
      if (held >= this.maxStreamsPerCertificate) return this.refuse(stream, 'exhausted', `the certificate ${holder} holds ${held} agent streams on ${this.opts.self}, the most one certificate may`);
      this.byCertificate.set(holder, held + 1);
    }
    const id = `${this.opts.sessionPrefix}-${++this.sessions}`;
    this.streams.set(stream, { stream, openedAt: now, identity, id, phase: 'hello', hello: null, liveness: null, tracker: null, confirmed: false, claimedAt: now, admittedWall: null, admittedSeq: null, selection: null, unreportedPushes: 0, pushReportDue: null, publishChecked: false, refusalsCounted: new Map(), meshHeld: false, protocolHeld: false, publishDamped: false, usageBudget: new RateBudget(USAGE_PER_SECOND, USAGE_BURST, now), publishWaiting: false, publish: null, inherited: null });
    return [];
  }

  message(stream: StreamId, msg: AgentMessage, now: number): HubEffect[] {
    const s = this.streams.get(stream);
    if (s === undefined) return [];
    s.liveness?.heard(now);
    switch (msg.type) {
      case 'hello':
        return this.onHello(s, msg, now);
      case 'ack':
      case 'nack':
        return this.onReply(s, msg, now);
      case 'pong':
        if (s.liveness === null) return this.closeSession(s, 'invalid', 'a pong before the hello was answered', now, false);
        s.liveness.pong(msg.seq, now);
        return [];
      case 'usage':
        if (s.hello === null) return this.closeSession(s, 'invalid', 'a usage report before the hello', now, false);
        this.onUsage(s, msg);
        return [];
      default: {
        const never: never = msg;
        return never;
      }
    }
  }

  /**
   * What can be refused of a message before its body is decoded: the effects that refuse it, or
   * null to decode it and hand it to message(). A hello's body may hold a manifest of 100,000
   * entries (tens of ms to parse, a usage body megabytes), and the checks below need none of it:
   * before (attack round 16), a certificate that may not speak for the agent named, or an agent
   * reconnecting within the takeover interval, had every hello parsed first: one agent certificate
   * sending 2 MB hellos naming another agent on 4 streams, again as each was refused, kept a leader
   * 90% busy (67 ms a hello; now 9-11 ms, what receiving it costs).
   */
  refuseBeforeDecode(stream: StreamId, type: AgentMessage['type'], agentId: string, now: number): HubEffect[] | null {
    const s = this.streams.get(stream);
    if (s === undefined) return [];
    if (type === 'usage' && s.hello === null) return this.closeSession(s, 'invalid', 'a usage report before the hello', now, false);
    if (type === 'usage' && !s.usageBudget.take(now)) {
      // Past what an agent sends (misses coalesced over milliseconds, uses once a second): what
      // such a message could add is past the per-agent bounds anyway, and parsing it is not free.
      this.counters.usageMessagesDropped++;
      s.liveness?.heard(now);
      return [];
    }
    if (type !== 'hello') return null;
    // An id that is no agent id is refused by the decoding, naming the field, before the body.
    if (Buffer.byteLength(agentId) > MAX_AGENT_ID_BYTES || !AGENT_ID_PATTERN.test(agentId)) return null;
    if (s.phase !== 'hello') return this.closeSession(s, 'invalid', 'a second hello on one stream', now, true);
    const refused = identityRefusal(s.identity, agentId);
    if (refused !== null) {
      this.counters.refused++;
      return this.closeSession(s, 'denied', refused, now, false);
    }
    const wait = this.reconnectWait(agentId, now);
    if (wait === null) return null;
    this.counters.refused++;
    return this.closeSession(s, 'exhausted', wait, now, false);
  }

  /** Why `agentId` may not be claimed here now (claimed within TAKEOVER_MIN_INTERVAL_MS), or null. */
  private reconnectWait(agentId: string, now: number): string | null {
    const claimedAt = this.recentClaims.get(agentId);
    if (claimedAt === undefined || now - claimedAt >= TAKEOVER_MIN_INTERVAL_MS) return null;
    const since = Math.round(now - claimedAt);
    const existing = this.sessionOf(agentId);
    const why = existing !== null ? `took over a connection here ${since}ms ago; another takeover waits` : `connected here ${since}ms ago; a reconnect waits`;
    return `agent ${JSON.stringify(agentId)} ${why} ${TAKEOVER_MIN_INTERVAL_MS}ms`;
  }

  /** The driver could not decode a message: the stream is refused with the reason. */
  /**
   * The transport took a frame of a push in parts (paced-frames.ts). Past the first window of
   * HTTP/2 flow control it takes one only once the agent's WINDOW_UPDATE made room: word from
   * the agent, as a message is. Over a slow link the pongs wait behind up to a window of parts
   * (64 KiB: 1.6 s at 40 KB/s), so without this a live agent was timed out mid-push.
   */
  partTaken(stream: StreamId, now: number): void {
    this.streams.get(stream)?.liveness?.heard(now);
  }

  malformed(stream: StreamId, reason: string, now: number): HubEffect[] {
    const s = this.streams.get(stream);
    if (s === undefined) return [];
    return this.closeSession(s, 'invalid', reason, now, true);
  }

  /** The stream ended from the agent's side (or the network's). */
  closed(stream: StreamId, now: number): HubEffect[] {
    const s = this.streams.get(stream);
    if (s === undefined) return [];
    this.forget(s, now, 'stream closed');
    return [];
  }

  /**
   * The driver ends the stream with `code` and `reason`, the agent departing as when its stream
   * ends: its caller is refused now (`denied`: its key revoked while the stream lasts, a removed
   * member's peer certificate), or it does not read what it is sent (`exhausted`).
   */
  end(stream: StreamId, code: CloseCode, reason: string, now: number): HubEffect[] {
    const s = this.streams.get(stream);
    if (s === undefined) return [{ type: 'close', stream, code, reason }];
    return this.closeSession(s, code, reason, now, true);
  }

  /** New entries were applied to the state machine. */
  applied(now: number): HubEffect[] {
    const out: HubEffect[] = [];
    const state = this.port.state();
    this.followTransitions(state, now, out);
    this.followMeshTransitions(state, out);
    for (const stream of [...this.waiting]) {
      const s = this.streams.get(stream);
      if (s?.hello != null && state.revision >= s.hello.version) this.activate(s, state, out);
    }
    this.markChangedSelections(state);
    return out;
  }

  tick(now: number): HubEffect[] {
    const out: HubEffect[] = [];
    // After an idle spell the driver ticked slowly (IDLE_TICK_MS): that gap is neither a stall nor lateness.
    const gap = this.lastTickAt === null || this.idleAtLastTick ? 0 : now - this.lastTickAt;
    this.lastTickAt = now;
    const stalled = gap > stallThreshold(this.opts);
    if (stalled) {
      const ours = gap - stallThreshold(this.opts);
      for (const s of this.streams.values()) s.liveness?.forgive(ours, now);
      if (this.reportOutSince !== null) this.reportOutSince = Math.min(now, this.reportOutSince + ours);
      if (this.meshReportOutSince !== null) this.meshReportOutSince = Math.min(now, this.meshReportOutSince + ours);
    }
    // A late tick means a busy loop: peers' messages may wait unread behind our own work, so
    // their silence is not judged now, and fewer hellos are admitted (AIMD: halve when late,
    // grow slowly when on time) until the loop keeps time again.
    const late = this.tickMs !== null && gap > 2 * this.tickMs;
    this.admission.tick(late);
    // Judged while anything is served or a report is out (its time counts only while a quorum and a leader are heard).
    if (!stalled && !late && (this.streams.size > 0 || this.reportOutSince !== null || this.meshReportOutSince !== null)) this.checkQuorum(now, out);
    for (const s of [...this.streams.values()]) this.tickSession(s, now, out);
    for (const stream of [...this.queue]) {
      const s = this.streams.get(stream);
      if (s === undefined) continue;
      if (!this.admission.take()) break;
      this.admit(s, now, out);
    }
    this.expireDepartures(now);
    this.forgetOldClaims(now);
    if (this.barrierWanted && !this.barrierInFlight) {
      this.barrierInFlight = true;
      this.barrierWanted = false;
      out.push({ type: 'barrier' });
    }
    if (due(now, this.lastReconcileAt, this.opts.stateSyncIntervalMs)) {
      this.lastReconcileAt = now;
      this.reconcile(now, out);
    }
    if (due(now, this.lastExpiryAt, LEADER_EXPIRY_EVERY_MS)) {
      this.lastExpiryAt = now;
      this.expireUnreachable(now);
      this.reapOffline(now);
      if (this.port.leading()) this.duties.check(this.port.state(), this.port.wallClock(), this.meshReports, now, out);
      else this.duties.forget();
    }
    const ask = this.inReach(now) ? this.offline.ask() : null;
    if (ask !== null) out.push({ type: 'ask-elsewhere', agents: ask });
    this.idleAtLastTick = this.idle;
    return out;
  }

  /** Refusals this controller remembers as warned of or audited (publish-refusals.ts): for tests of its bound. */
  get refusalsRemembered(): number {
    return this.publishRefusals.size;
  }

  /**
   * No stream, no hello waiting, no departure within its grace, no barrier: nothing here needs
   * the fast tick (cut-off checks, liveness, admission, a departed agent's verdict), so the
   * driver may tick every IDLE_TICK_MS instead. The leader's duties run that often anyway.
   */
  get idle(): boolean {
    return this.streams.size === 0 && this.queue.size === 0 && this.pendingDepartures === 0 && this.offline.size === 0 && !this.barrierWanted && !this.barrierInFlight;
  }

  /**
   * Push decisions for up to `max` streams whose wanted configuration may have changed (FIFO,
   * so none is starved); call again while hasWork(). Pushes planned afresh get a bounded amount
   * of work per pump (fresh-plan-budget.ts): a stream whose plan is not done waits for a later
   * pump, after the loop served what came meanwhile; the others go on.
   */
  pump(now: number, max: number): HubEffect[] {
    const out: HubEffect[] = [];
    const state = this.port.state();
    for (const stream of this.fresh.startPump()) this.dirty.add(stream);
    let done = 0;
    for (const stream of this.dirty) {
      if (done >= max) break;
      this.dirty.delete(stream);
      done++;
      const s = this.streams.get(stream);
      if (s !== undefined && s.phase === 'active') this.evaluate(s, state, now, out);
    }
    return out;
  }

  hasWork(): boolean {
    return this.dirty.size > 0 || this.fresh.pending;
  }

  /** The read barrier asked for completed; ok false: no leader confirmed it (try again later). */
  barrierDone(ok: boolean, now: number): HubEffect[] {
    this.barrierInFlight = false;
    const out: HubEffect[] = [];
    const state = this.port.state();
    for (const stream of [...this.waiting]) {
      const s = this.streams.get(stream);
      if (s?.hello == null) continue;
      if (state.revision >= s.hello.version) this.activate(s, state, out);
      else if (ok) {
        // Linearizable and still behind the agent: its version is not from this cluster's history.
        this.counters.resyncs++;
        out.push(log('warn', 'agent holds a version beyond the cluster revision; resyncing it from scratch', { agent: s.hello.agentId, version: s.hello.version, revision: state.revision }));
        this.activateWith(s, null, state, out);
      } else this.barrierWanted = true;
    }
    void now;
    return out;
  }

  /** Whether agents' entries wait for the next report. */
  hasReport(): boolean {
    return this.report.size > 0;
  }

  /** Whether a pending entry is more than an acknowledgement of the last push sent (report-batch.ts). */
  reportUrgent(): boolean {
    return this.report.hasUrgent;
  }

  /** Whether some push of this controller awaits its ACK or NACK (O(streams): for timers, not per message). */
  awaitingReplies(): boolean {
    for (const s of this.streams.values()) if (s.tracker?.inFlightPush != null) return true;
    return false;
  }

  /** The next report to send, in flight until reportCommitted(); null when nothing is pending. */
  takeReport(now: number): AgentReportEntry[] | null {
    while (this.report.size > 0) {
      const entries = this.withoutGoneClaims(this.report.take(this.maxReportEntries));
      if (entries.length === 0) continue;
      this.reportOutSince = now;
      return entries;
    }
    return null;
  }

  /** The report in flight committed (or was given up): `entries`, what it held. */
  reportCommitted(entries: readonly AgentReportEntry[] = []): void {
    this.reportOutSince = null;
    for (const e of entries) if (e.op === 'disconnect') this.judgedOffline.delete(e.session);
  }

  /**
   * The report in flight failed and is about to be sent again, perhaps long after the offline
   * check let its disconnects through (it waited out a spell out of reach, say): the agents may
   * have moved since, so those disconnects are taken out and asked about again; and claims of
   * streams gone from here meanwhile are left out (withoutGoneClaims). What is left is sent; an
   * empty report is done.
   */
  recheckOffline(entries: readonly AgentReportEntry[]): AgentReportEntry[] {
    const keep: AgentReportEntry[] = [];
    for (const e of this.withoutGoneClaims(entries)) {
      const judged = e.op === 'disconnect' ? this.judgedOffline.get(e.session) : undefined;
      if (judged === undefined) {
        keep.push(e);
        continue;
      }
      this.judgedOffline.delete(e.session);
      this.offline.again(judged);
    }
    return keep;
  }

  /**
   * `entries` without the claims of streams this controller no longer serves (closed, or taken
   * over here), once the agent has a record: such a claim is stale news, and committed late (a
   * report held while this controller heard no leader, or was not heard) it took the agent from
   * the process that had replaced the departed one, which was then refused as a second process
   * until the stale record went offline (agents simulation --lossy --skew 1000, seeds 265 and
   * 510; --lossy seed 337 around a raise of the cluster version). Its pushes still count: a sync
   * of its stream carries them (it changes only the count unless that stream holds the record).
   * An agent without a record keeps the claim, which makes one.
   */
  private withoutGoneClaims(entries: readonly AgentReportEntry[]): AgentReportEntry[] {
    const agents = this.port.state().agents;
    const keep: AgentReportEntry[] = [];
    for (const e of entries) {
      if (e.op !== 'connect' || this.sessionOf(e.id)?.id === e.session || agents.get(e.id) === null) keep.push(e);
      else if (e.pushes > 0) keep.push({ op: 'sync', id: e.id, session: e.session, sync: e.sync, timeoutMs: e.timeoutMs, pushes: e.pushes });
    }
    return keep;
  }

  /** Whether a mesh report should go now (publishes, misses, leader duties; uses in batches). */
  meshReportDue(now: number): boolean {
    return this.meshReports.due(now);
  }

  /** The next mesh report, now in flight until meshReportDone(); null: nothing to send. */
  takeMeshReport(now: number): MeshReportBody | null {
    const body = this.meshReports.take(now, usageFlushMs(this.port.state().settings.get('agents.dependency_ttl')));
    if (body !== null) this.meshReportOutSince = now;
    return body;
  }

  /** The mesh report in flight committed (or was given up). */
  meshReportDone(): void {
    this.meshReports.done();
    this.meshReportOutSince = null;
  }

  /** Graceful stop: close every stream so agents move at once (no departures: we are going). */
  closeAll(reason: string): HubEffect[] {
    const out: HubEffect[] = [];
    for (const s of [...this.streams.values()]) {
      out.push({ type: 'close', stream: s.stream, code: 'unavailable', reason });
      this.drop(s);
    }
    return out;
  }

  // ---- observation ------------------------------------------------------------------------------

  /** The agents served here, live. */
  live(now: number): readonly LiveAgent[] {
    const rows: LiveAgent[] = [];
    for (const s of this.streams.values()) {
      if (s.liveness === null || s.hello === null) continue;
      rows.push({ id: s.hello.agentId, controller: this.opts.self, session: s.id, lastContactMs: Math.round(s.liveness.silentMs(now)), heartbeatTimeoutMs: s.liveness.timeoutMs(), departing: false, publish: s.publish });
    }
    rows.push(...this.departures.live(now, this.opts.self));
    return rows;
  }

  /** The state of an agent served here (from its live tracker), or null. */
  localState(agentId: string): AgentState | null {
    const stream = this.byAgent.get(agentId);
    const s = stream === undefined ? undefined : this.streams.get(stream);
    if (s?.tracker == null || s.hello === null) return null;
    return s.tracker.state(this.wantedVersion(s.hello.agentId, s.hello.info));
  }

  /**
   * The version the cluster has for an agent with this info (for `list agents` on any
   * controller): its selection's, or, while its declaration is not committed, its record's.
   */
  wantedVersion(id: string, info: Hello['info']): number {
    const state = this.port.state();
    return this.selector.select({ id, info }, state)?.version ?? state.mesh.declaration(id)?.revision ?? 0;
  }

  /** Whether this controller is cut off from a quorum or its leader now (judged afresh when it serves nobody). */
  cutOffAt(now: number): boolean {
    if (this.streams.size === 0) this.checkQuorum(now, []);
    return this.cutOff;
  }

  get streamCount(): number {
    return this.streams.size;
  }

  get activeCount(): number {
    return this.byAgent.size;
  }

  get queuedCount(): number {
    return this.queue.size;
  }

  /** Disconnects let through by the offline check whose report has not committed yet (bounded). */
  get judgedOfflineCount(): number {
    return this.judgedOffline.size;
  }

  get pendingDepartures(): number {
    return this.departures.size;
  }

  /** Agents whose endpoints this controller, as leader, holds unhealthy for flapping (endpoint-damping.ts). */
  get endpointsHeld(): number {
    return this.duties.damping.heldCount;
  }

  /** Holds of flapping agents' endpoints begun while this controller led; never reset. */
  get endpointHolds(): number {
    return this.duties.damping.holds;
  }

  // ---- hello and admission ------------------------------------------------------------------------

  private onHello(s: Session, hello: Hello, now: number): HubEffect[] {
    if (s.phase !== 'hello') return this.closeSession(s, 'invalid', 'a second hello on one stream', now, true);
    const refused = identityRefusal(s.identity, hello.agentId);
    if (refused !== null) {
      this.counters.refused++;
      return this.closeSession(s, 'denied', refused, now, false);
    }
    s.hello = hello;
    s.liveness = new AgentLiveness(this.opts.detector, now);
    const welcome: HubEffect = { type: 'send', stream: s.stream, message: { type: 'welcome', controller: this.opts.self, clusterId: this.port.clusterId(), clusterName: this.port.clusterName?.() ?? '', session: s.id, pingIntervalMs: this.opts.pingIntervalMs, timeoutMs: s.liveness.timeoutMs() } };
    const foreign = this.foreignBy(hello);
    if (foreign !== null) {
      // The welcome names this cluster, so the agent refuses it with its own words (as it would
      // have after a claim and a push); the stream ends before either: this cluster's agent
      // list never shows an agent of another cluster that strayed here.
      this.counters.refused++;
      const warn = this.foreignWarnings.take(now) ? [log('warn', foreign, { agent: hello.agentId, cluster: hello.clusterId, clusterName: hello.clusterName })] : [];
      return [welcome, ...warn, ...this.closeSession(s, 'foreign', foreign, now, false)];
    }
    s.phase = 'queued';
    // Welcomed and heartbeated at once, admitted (claimed, pushed to) when the budget allows:
    // an agent waiting in a herd is connected, not timed out, and keeps its place in line.
    this.queue.add(s.stream);
    const out: HubEffect[] = [welcome];
    if (this.admission.take()) this.admit(s, now, out);
    return out;
  }

  /**
   * Why an agent belongs to another cluster, or null. It holds a configuration of another id
   * whose cluster.name is not ours: its --controllers list spans two clusters, and the agent
   * refuses this one at the welcome (cluster-guard.ts judges alike). Another id under our name
   * is a restore of this cluster (taken, and resynced), unless the agent says it takes no other
   * id from here (heldClusterOnly: its cluster answered at other addresses of its list, never at
   * ours): then this is another cluster of its name, and the agent would refuse the welcome
   * after our claim and push. Unknown names judge nothing.
   */
  private foreignBy(hello: Hello): string | null {
    const ours = { id: this.port.clusterId(), name: this.port.clusterName?.() ?? '' };
    if (!hello.hasConfig || hello.clusterId === ours.id || hello.clusterName === '' || ours.name === '') return null;
    if (hello.clusterName === ours.name) {
      if (hello.heldClusterOnly !== true) return null;
      return (
        `agent ${hello.agentId} holds a configuration of cluster ${JSON.stringify(hello.clusterName)} id ${hello.clusterId}, which answered at other addresses of its --controllers, never here; ` +
        `this is another cluster of that name, id ${ours.id}: refused before any claim or push. Its --controllers list spans two clusters of one name: give each cluster its own cluster.name`
      );
    }
    return (
      `agent ${hello.agentId} holds a configuration of another cluster, ${JSON.stringify(hello.clusterName)} (id ${hello.clusterId}); ` +
      `this is cluster ${JSON.stringify(ours.name)} id ${ours.id}: refused before any claim or push. Its --controllers list spans two clusters`
    );
  }

  /** Claims older than the interval no longer hold a connection back; the map is in claim order. */
  private forgetOldClaims(now: number): void {
    for (const [agent, at] of this.recentClaims) {
      if (now - at < TAKEOVER_MIN_INTERVAL_MS) return;
      this.recentClaims.delete(agent);
    }
  }

  /** Closes the stream of a second live process of an agent another process holds online (`holder` its boot, on `on`). */
  private refuseDuplicate(s: Session, holder: string, on: string, now: number, out: HubEffect[]): void {
    const hello = s.hello!;
    this.counters.refused++;
    const why =
      `another process (boot ${holder}) holds agent ${JSON.stringify(hello.agentId)} online on ${on}, and another took this one's ` +
      `connection (boot ${hello.epoch.boot}) over: two processes run with one agent id; this one is refused while the other is online. Stop one, or give each its own id`;
    // Once per process: the operator reading this controller's log (ctl list agents shows the
    // one agent it holds, SYNCED) learns of the other, which retries every 5 s.
    if (this.supplanted.firstRefusal(hello.agentId, hello.epoch.boot)) out.push(log('warn', why, { code: 'AGENT_DUPLICATE', agent: hello.agentId, boot: hello.epoch.boot, holder }));
    out.push(...this.closeSession(s, 'aborted', why, now, false));
  }

  /** Claims the agent for this controller and starts serving it (one unit of the admission budget taken). */
  private admit(s: Session, now: number, out: HubEffect[]): void {
    this.queue.delete(s.stream);
    const hello = s.hello!;
    const agents = this.port.state().agents;
    const held = agents.get(hello.agentId);
    const holder = this.supplanted.holder(hello.agentId, hello.epoch.boot, held === null ? null : { boot: held.epoch.boot, online: held.online }) ?? supersededBy(agents, hello);
    if (holder !== null && held !== null) {
      this.refuseDuplicate(s, holder, held.controller, now, out);
      return;
    }
    const existing = this.sessionOf(hello.agentId);
    s.inherited = this.departures.get(hello.agentId)?.rejected ?? (existing !== null && existing !== s ? rejectionOf(existing) : null);
    if (existing !== null && existing !== s) {
      if (olderEpoch(hello.epoch, existing.hello!.epoch)) {
        out.push(...this.closeSession(s, 'aborted', `a newer connection of agent ${JSON.stringify(hello.agentId)} is open here`, now, false));
        return;
      }
    }
    const wait = this.reconnectWait(hello.agentId, now);
    if (wait !== null) {
      this.counters.refused++;
      out.push(...this.closeSession(s, 'exhausted', wait, now, false));
      return;
    }
    if (existing !== null && existing !== s) {
      this.counters.takeovers++;
      this.supplanted.note(hello.agentId, existing.hello!.epoch.boot, hello.epoch.boot);
      out.push({ type: 'audit', event: { type: 'agent.takeover', subject: hello.agentId, from: existing.id, to: s.id, reason: `a newer connection took over on ${this.opts.self}` } });
      out.push(...this.closeSession(existing, 'aborted', `taken over by a newer connection of agent ${JSON.stringify(hello.agentId)}`, now, false));
    }
    this.departures.delete(hello.agentId);
    this.offline.forget(hello.agentId);
    this.byAgent.set(hello.agentId, s.stream);
    s.claimedAt = now;
    // Never before the log's own time (the leader's clock at the last mesh command), as the
    // publish pre-check reads it: a controller whose clock is behind does not make its streams look old.
    s.admittedWall = Math.floor(Math.max(this.port.wallClock(), this.port.state().mesh.clock));
    // And what it had applied: a stream admitted after the holder's claim applied here is newer, whatever the clocks.
    s.admittedSeq = this.port.state().agents.transitionSeq;
    this.recentClaims.delete(hello.agentId);
    this.recentClaims.set(hello.agentId, now);
    const state = this.port.state();
    this.report.add({ op: 'connect', id: hello.agentId, session: s.id, epoch: hello.epoch, info: hello.info, sync: emptySync(), timeoutMs: s.liveness!.timeoutMs(), pushes: 0, ...openedOf(s, state) });
    if (hello.hasConfig && hello.clusterId === this.port.clusterId() && hello.version > state.revision) {
      // A lagging controller never pushes an older version: wait to apply it, or learn that it
      // is beyond the cluster's history (a linearizable barrier says which).
      s.phase = 'waiting';
      this.waiting.add(s.stream);
      this.barrierWanted = true;
      out.push(log('info', 'agent is ahead of this controller; waiting to apply its version', { agent: hello.agentId, version: hello.version, revision: state.revision }));
      return;
    }
    this.activate(s, state, out);
  }

  /** Start serving: take what the agent holds as acknowledged, or resync it from nothing. */
  private activate(s: Session, state: ClusterState, out: HubEffect[]): void {
    const hello = s.hello!;
    let acked: Manifest | null = null;
    if (!hello.hasConfig) acked = null;
    else if (hello.clusterId !== this.port.clusterId()) {
      this.counters.resyncs++;
      // Expected once after a `controller restore` (a new id); otherwise the agent's --controllers
      // may span two clusters, and it would swap one's configuration for the other's: say so loudly.
      const ours = { id: this.port.clusterId(), name: this.port.clusterName?.() ?? '' };
      out.push(
        log('warn', `agent ${hello.agentId} holds a configuration of another cluster (id ${hello.clusterId}; this is cluster ${JSON.stringify(ours.name)} id ${ours.id}); resyncing it from scratch. Expected once after a controller restore; otherwise check the agent's --controllers`, {
          agent: hello.agentId,
          cluster: hello.clusterId,
          ourCluster: ours.id,
          ourClusterName: ours.name,
        }),
      );
    } else {
      acked = this.adopt(s, hello, state);
      if (acked === null) {
        this.counters.resyncs++;
        out.push(log('warn', "agent's manifest does not match its version; resyncing it from scratch", { agent: hello.agentId, version: hello.version }));
      }
    }
    this.activateWith(s, acked, state, out);
  }

  private activateWith(s: Session, acked: Manifest | null, _state: ClusterState, out: HubEffect[]): void {
    s.tracker?.release();
    // A NACK recorded for the state the agent is in still stands: no re-send on a reconnect.
    // That state may be "nothing yet": an agent whose first configuration it could not run.
    const rec = _state.agents.get(s.hello!.agentId);
    const holds = acked === null ? null : acked.version;
    const committed = rec !== null && rec.ackedVersion === holds && rec.nackedVersion !== null && rec.lastError !== null ? { version: rec.nackedVersion, error: rec.lastError } : null;
    // So does one this controller took on the agent's previous stream here, before its report
    // committed (a report can wait behind a proposal left unanswered).
    const local = s.inherited !== null && s.inherited.holds === holds ? { version: s.inherited.version, error: s.inherited.error } : null;
    const known = local !== null && (committed === null || local.version > committed.version) ? local : committed;
    // It stands only if this process of the agent rejected that version (rule 2 across
    // reconnects); a restarted agent, or one that could not write the version rather than judged
    // it wrong, is offered it once more, as xDS offers a new stream what is current.
    // An agent holding another cluster's configuration is resynced from scratch (rule 5): what
    // it rejected there says nothing of this cluster's versions.
    const foreign = s.hello!.hasConfig && s.hello!.clusterId !== this.port.clusterId();
    const rejected = !foreign && known !== null && rejectedByThisProcess(s.hello!, known.version) ? known : null;
    s.tracker = new PushTracker(this.store, acked, rejected);
    s.phase = 'active';
    this.waiting.delete(s.stream);
    const key = this.selectionOf(s);
    let group = this.bySelection.get(key);
    if (group === undefined) this.bySelection.set(key, (group = new Set()));
    group.add(s.stream);
    this.dirty.add(s.stream);
    this.report.add({ op: 'sync', id: s.hello!.agentId, session: s.id, sync: s.tracker.fields(), timeoutMs: s.liveness!.timeoutMs(), pushes: 0 });
    void out;
  }

  /**
   * The agent's hello manifest as a counted Manifest. The shared one when it is the manifest we
   * hold for that version; null when it cannot be what it claims: revisions after its version,
   * keys twice, a version its configuration never had (newer than the one it has now), not the
   * content we know for that version, or keys the state shows at other revisions then.
   */
  private adopt(s: Session, hello: Hello, state: ClusterState): Manifest | null {
    if (hello.manifest.some((e) => e.revision > hello.version)) return null;
    const theirs = Manifest.fromEntries(hello.version, hello.manifest);
    if (theirs === null) return null;
    const now = this.wanted(s, state);
    if (now !== null && hello.version > now.version) return null;
    const known = now !== null && now.version === hello.version ? now : this.store.peek(this.selectionOf(s), hello.version);
    if (known !== null) return known.sameContent(theirs) ? this.store.retain(known) : null;
    if (hello.version === EMPTY_MANIFEST_VERSION && theirs.size > 0) return null;
    if (contradictsState(theirs, state.mesh)) return null;
    return this.store.retain(theirs);
  }

  // ---- replies ---------------------------------------------------------------------------------------

  private onReply(s: Session, msg: Extract<AgentMessage, { type: 'ack' | 'nack' }>, now: number): HubEffect[] {
    if (s.phase === 'hello' || s.phase === 'queued') return this.closeSession(s, 'invalid', `an ${msg.type.toUpperCase()} before the hello was answered`, now, false);
    if (s.tracker === null) {
      this.counters.ignoredReplies++;
      return [];
    }
    const outcome: ReplyOutcome = msg.type === 'ack' ? s.tracker.ack(msg.nonce, msg.version) : s.tracker.nack(msg.nonce, msg.error);
    switch (outcome.type) {
      case 'ignored':
        this.counters.ignoredReplies++;
        return [log('debug', `ignored an ${msg.type.toUpperCase()}: ${outcome.reason}`, { agent: s.hello!.agentId, nonce: msg.nonce, version: msg.version })];
      case 'acked':
        this.counters.acks++;
        s.liveness?.pushAnswered();
        break;
      case 'nacked':
        this.counters.nacks++;
        s.liveness?.pushAnswered();
        break;
      default: {
        const never: never = outcome;
        return never;
      }
    }
    this.reportSync(s);
    // The reply frees the slot: push the newest version if it moved meanwhile.
    this.dirty.add(s.stream);
    return [];
  }

  private evaluate(s: Session, state: ClusterState, now: number, out: HubEffect[]): void {
    const tracker = s.tracker!;
    const target = this.wanted(s, state);
    // A lazy agent whose declaration is not committed yet: served once its publish is.
    if (target === null) return;
    const decision = tracker.decide(target);
    if (decision === null) return;
    // Planned afresh in steps: while its job waits, nothing is sent (fresh-plan-budget.ts).
    const planned = this.fresh.plan(s.stream, decision.base, decision.target, decision.base === null, tracker.fields().nackedVersion);
    if (planned === null) return;
    // Its target may be older than the one wanted now (a plan pinned while made): the next push catches up.
    const { plan } = planned;
    const nonce = ++this.nonce;
    tracker.sent(nonce, planned.target);
    this.counters.pushes++;
    // A push that takes longer than a heartbeat timeout to arrive (a big configuration, a slow
    // link) holds up the pings written after it: the agent hears nothing and we hear no pong.
    // A ping ahead of it tells the agent how long to wait, and we excuse that long too.
    // An agent that takes parts needs none: pings and pongs cross between them (push-parts.ts),
    // and an allowance would only let a hung agent go unnoticed that long.
    const transferMs = pushTransferMs(pushBody(plan).byteLength);
    const live = s.liveness!;
    if (transferMs >= PUSH_ALLOWANCE_FROM_MS && s.hello?.pushParts !== true) {
      out.push({ type: 'send', stream: s.stream, message: { type: 'ping', seq: live.pingNow(now), timeoutMs: live.timeoutMs() + transferMs } });
      live.pushWritten(transferMs, now);
    }
    out.push({ type: 'send', stream: s.stream, message: { type: 'push', nonce, clusterId: this.port.clusterId(), plan } });
    live.pushSent(now);
    // Most replies come within milliseconds: one report then says "sent and acknowledged".
    // Only a push still unanswered after staleReportMs is reported on its own (STALE).
    s.unreportedPushes++;
    s.pushReportDue = now + this.staleReportMs;
  }

  /** The tracker's state and the pushes not yet counted, into the next report. */
  private reportSync(s: Session): void {
    if (s.tracker === null || s.hello === null || s.liveness === null) return;
    this.report.add({ op: 'sync', id: s.hello.agentId, session: s.id, sync: s.tracker.fields(), timeoutMs: s.liveness.timeoutMs(), pushes: s.unreportedPushes });
    s.unreportedPushes = 0;
    s.pushReportDue = null;
  }

  private wanted(s: Session, state: ClusterState): Manifest | null {
    const hello = s.hello!;
    return this.planner.target({ id: hello.agentId, info: hello.info }, state);
  }

  private selectionOf(s: Session): string {
    const hello = s.hello!;
    s.selection = this.selector.key({ id: hello.agentId, info: hello.info });
    return s.selection;
  }

  /** One version check per selection key; only the streams of a key whose version moved are re-evaluated. */
  private markChangedSelections(state: ClusterState): void {
    for (const [key, group] of this.bySelection) {
      const first = this.streams.get(group.values().next().value!);
      if (first?.hello == null) continue;
      const v = this.selector.select({ id: first.hello.agentId, info: first.hello.info }, state)?.version;
      if (v === undefined || this.seenVersions.get(key) === v) continue;
      this.seenVersions.set(key, v);
      for (const stream of group) this.dirty.add(stream);
    }
  }

  // ---- ticks: liveness, quorum, departures --------------------------------------------------------

  /**
   * Cut off: no quorum heard for 85% of an election timeout, or no leader heard for
   * LEADERLESS_ELECTIONS election timeouts while a quorum is (a leader only this controller
   * cannot reach: its log stands still, so its agents would keep an old configuration and its
   * claims could not commit). etcd closes a member's watches on the second condition
   * likewise. An election after a leader died takes far less, and keeps the agents.
   *
   * Third, the same for a leader that is heard but does not hear us: a report unanswered for
   * LEADERLESS_ELECTIONS election timeouts while both are heard. Reports go on our own
   * connection to the leader, Raft's answers and the membership pongs on the leader's, so
   * `list controllers` may show us online while nothing we report commits; where Raft's
   * answers are lost too, our commit index (and our agents' configuration) stands still. Only
   * time spent hearing a quorum and a leader (within an election timeout) counts: a report sent
   * out of reach is retried once both are heard again (hub-driver.ts), and gets its full time
   * from then.
   */
  private checkQuorum(now: number, out: HubEffect[]): void {
    const contact = this.port.quorumContactAt();
    const leader = this.port.leaderContactAt();
    let why: string | null = null;
    if (contact === null || now - contact > this.cutoffMs) {
      why = `cut off from a quorum (${contact === null ? 'never heard from one' : `nothing for ${Math.round(now - contact)}ms`})`;
    } else if (leader === null || now - leader > this.leaderlessMs) {
      why = `cut off from the leader (${leader === null ? 'never heard from one' : `nothing for ${Math.round(now - leader)}ms`}, though a quorum is heard)`;
    }
    // Out of reach (an election, or worse): the driver retries a report once a leader is heard
    // again, and its time starts again then.
    const reachable = why === null && leader !== null && now - leader <= this.opts.electionTimeoutMs;
    if (!reachable) {
      if (this.reportOutSince !== null) this.reportOutSince = now;
      if (this.meshReportOutSince !== null) this.meshReportOutSince = now;
    } else {
      const oldest = Math.min(this.reportOutSince ?? now, this.meshReportOutSince ?? now);
      if (now - oldest > this.leaderlessMs) why = `not heard by the leader (a report of its agents unanswered for ${Math.round(now - oldest)}ms, though the leader is heard)`;
    }
    const refused = why === null ? '' : (this.port.refusals?.() ?? '');
    if (why !== null && refused !== '') why = `${why}; ${refused}`;
    if (why !== null) this.cutReason = why;
    if (why !== null && !this.cutOff) {
      this.cutOff = true;
      out.push(log('warn', `${why}; closing every agent stream so agents fail over`, { streams: this.streams.size }));
      for (const s of [...this.streams.values()]) out.push(...this.closeSession(s, 'unavailable', `${this.opts.self} is ${why}; try another controller`, now, true));
    } else if (why === null && this.cutOff) {
      this.cutOff = false;
      out.push(log('info', 'hears from a quorum and a leader, and is heard; serving agents', {}));
    }
  }

  /**
   * A quorum and a leader heard lately: what the other controllers answer is what they serve
   * now, and a report made now commits soon. Offline checks are decided only then (offline-check.ts).
   */
  private inReach(now: number): boolean {
    const contact = this.port.quorumContactAt();
    const leader = this.port.leaderContactAt();
    return contact !== null && now - contact <= this.cutoffMs && leader !== null && now - leader <= this.opts.electionTimeoutMs;
  }

  private tickSession(s: Session, now: number, out: HubEffect[]): void {
    if (s.phase === 'hello') {
      if (now - s.openedAt > this.helloTimeoutMs) out.push(...this.closeSession(s, 'invalid', `no hello within ${this.helloTimeoutMs}ms`, now, false));
      return;
    }
    const live = s.liveness!;
    if (live.timedOut(now)) {
      this.counters.heartbeatTimeouts++;
      out.push(...this.closeSession(s, 'unavailable', `heartbeat timeout ${live.timeoutMs()}ms`, now, true));
      return;
    }
    if (s.pushReportDue !== null && now >= s.pushReportDue) this.reportSync(s);
    const seq = live.pingDue(now, this.opts.pingIntervalMs);
    if (seq !== null) out.push({ type: 'send', stream: s.stream, message: { type: 'ping', seq, timeoutMs: live.timeoutMs() } });
  }

  private expireDepartures(now: number): void {
    if (this.departures.size === 0 && this.departures.awaitingClaims === 0) return;
    const agents = this.port.state().agents;
    let inLine: Map<string, Session> | null = null;
    for (const [id, d] of this.departures.due(now)) {
      const rec = agents.get(id);
      // Gone from this controller and not claimed elsewhere within its grace: offline, unless
      // another controller serves it on a stream whose claim has not committed (offline-check.ts).
      if (rec !== null && rec.session === d.session) {
        // Back here, waiting in line for admission behind a herd: not gone. Its grace runs again
        // from its last contact on the stream in line; admitted, the departure ends (admit).
        inLine ??= this.queuedByAgent();
        const waiting = inLine.get(id)?.liveness ?? null;
        if (waiting !== null) this.departures.depart(id, d.session, waiting.lastHeardAt(), waiting.timeoutMs(), now, d.reason, d.rejected);
        else if (rec.online) this.reportGone(id, d);
        continue;
      }
      // The record names an older stream of this controller, gone too (its claim committed late,
      // while the agent was back here on the stream that just came due): the agent left here past
      // its grace, so that one goes, not a reconcile round and another grace later.
      if (rec !== null && rec.online && this.goneFromHere(id, rec.controller)) this.reportGone(id, { ...d, session: rec.session });
      // This controller's claim of that stream may still commit late (held in a report), naming
      // a stream gone: an agent with no record is claimed anyway (withoutGoneClaims), and a claim
      // already sent is not taken back. It then waited for the next reconcile round and another
      // grace (up to state_sync_interval plus a timeout and a half); the departure waits for it.
      this.departures.awaitClaim(id, d, now);
    }
    this.departures.forgetUnclaimed(now);
  }

  /** The sessions waiting for admission, by agent (a later hello of one agent wins). */
  private queuedByAgent(): Map<string, Session> {
    const out = new Map<string, Session>();
    for (const stream of this.queue) {
      const s = this.streams.get(stream);
      if (s?.hello != null) out.set(s.hello.agentId, s);
    }
    return out;
  }

  /** A record naming `controller` for agent `id` names a stream gone from here: this controller's, and no stream of the agent open here. */
  private goneFromHere(id: string, controller: string): boolean {
    return controller === this.opts.self && !this.byAgent.has(id);
  }

  private reportGone(id: string, d: Departure): void {
    this.offline.add({ entry: { op: 'disconnect', id, session: d.session, reason: d.reason, pushes: 0 }, departure: d });
  }

  /**
   * The other controllers' live rows for the agents asked about (ask-elsewhere): an agent live
   * or departing on another stream elsewhere is held (a departure's grace runs again from its
   * last contact there; the leader's expiry asks again later), any other is reported offline if
   * its record still names that stream. A forget is held by any row, ours too (the reaper
   * watches the agent), and proposed only while its record is still offline on that stream.
   */
  elsewhereAnswered(rows: readonly LiveAgent[], now: number): HubEffect[] {
    const out: HubEffect[] = [];
    if (!this.inReach(now)) {
      // Those that did not answer may only have been out of our reach: ask again once in reach.
      this.offline.unanswered();
      return out;
    }
    const agents = this.port.state().agents;
    const stillNamed = (c: OfflineCandidate): boolean => {
      const rec = agents.get(c.entry.id);
      return rec !== null && rec.online && rec.session === c.entry.session;
    };
    const verdict = this.offline.answered([...rows, ...this.live(now)]);
    // A verdict whose disconnect a later entry replaced in the batch never reaches a report:
    // forget those once their record has moved on, so the map stays as small as what is pending.
    if (this.judgedOffline.size > this.maxReportEntries) for (const [session, c] of this.judgedOffline) if (!stillNamed(c)) this.judgedOffline.delete(session);
    for (const c of verdict.report) {
      if (c.entry.op === 'forget') this.forgetIfGone(c.entry, now);
      else if (stillNamed(c)) {
        this.report.add(c.entry);
        this.judgedOffline.set(c.entry.session, c);
      }
    }
    const held: string[] = [];
    const forgetsHeld: string[] = [];
    for (const [c, row] of verdict.held) {
      if (c.entry.op === 'forget') {
        this.reaper.foundLive(c.entry, now);
        forgetsHeld.push(`${c.entry.id} on ${row.controller}`);
        continue;
      }
      if (!stillNamed(c)) continue;
      this.counters.offlineHeld++;
      held.push(`${c.entry.id} on ${row.controller}`);
      const d = c.departure;
      if (d !== null && !this.byAgent.has(c.entry.id)) this.departures.depart(c.entry.id, d.session, now - row.lastContactMs, row.heartbeatTimeoutMs, now, d.reason, d.rejected);
    }
    // One line per answer, not per agent: a partition can hold many at once, every grace.
    if (held.length > 0) out.push(log('info', `${held.length} agents are live on another controller whose claim has not committed; not reporting them offline yet`, { agents: held.slice(0, 10) }));
    if (forgetsHeld.length > 0) out.push(log('info', `${forgetsHeld.length} agents offline beyond controller.agent_reconnect_timeout are live on a controller whose claim has not committed; not forgetting them`, { agents: forgetsHeld.slice(0, 10) }));
    const ask = this.offline.ask();
    if (ask !== null) out.push({ type: 'ask-elsewhere', agents: ask });
    return out;
  }

  /** Leader: the agents of a controller nobody hears from cannot be reported by it (leader-expiry.ts). */
  private expireUnreachable(now: number): void {
    if (!this.port.leading()) {
      this.expiry.forget(now);
      return;
    }
    const entries = this.expiry.due({
      self: this.opts.self,
      records: this.port.state().agents.list(),
      controller: (id) => this.port.controller(id),
      pingIntervalMs: this.opts.pingIntervalMs,
      electionTimeoutMs: this.opts.electionTimeoutMs,
      maxTimeoutMs: this.opts.detector.maxTimeoutMs,
      now,
    });
    for (const e of entries) this.offline.add({ entry: e, departure: null });
  }

  /**
   * Every controller times its offline records; the leader forgets those gone too long
   * (offline-reaper.ts), once no controller serves them (elsewhereAnswered).
   */
  private reapOffline(now: number): void {
    const state = this.port.state();
    const entries = this.reaper.scan(state.agents.list(), now, this.port.leading(), state.cluster.supports(FORGET_AGENTS_VERSION));
    for (const e of entries) this.offline.add({ entry: e, departure: null });
  }

  /** A forget whose agent no controller serves: proposed while we lead and its record is still offline on that stream. */
  private forgetIfGone(entry: ForgetEntry, now: number): void {
    const rec = this.port.state().agents.get(entry.id);
    if (rec === null || rec.online || rec.session !== entry.session) return;
    if (!this.reaper.foundGone(entry, now) || !this.port.leading()) return;
    this.report.add(entry);
    this.counters.reapsProposed++;
  }

  /**
   * Every state_sync_interval: records that say an agent is online here without a stream here
   * get a departure (after a restart, say); streams whose claim never committed claim again.
   */
  private reconcile(now: number, out: HubEffect[]): void {
    // Judged afresh: a controller serving nobody skips the check in its ticks, and a cut-off
    // remembered from before it was heard again left records naming it online for good.
    if (this.cutOffAt(now)) return;
    const agents = this.port.state().agents;
    const sessionsHere = new Set<string>();
    for (const s of this.streams.values()) sessionsHere.add(s.id);
    for (const rec of agents.list()) {
      if (!rec.online || rec.controller !== this.opts.self || sessionsHere.has(rec.session) || this.departures.has(rec.id) || this.byAgent.has(rec.id)) continue;
      this.departures.depart(rec.id, rec.session, now, rec.timeoutMs, now, `not connected to ${this.opts.self}`);
    }
    for (const s of this.streams.values()) {
      if (s.phase !== 'active' && s.phase !== 'waiting') continue;
      if (s.confirmed && s.publishWaiting) this.publishGate.consider(s, now, out);
      if (s.confirmed || now - s.claimedAt < this.opts.stateSyncIntervalMs) continue;
      const hello = s.hello!;
      const rec = agents.get(hello.agentId);
      if (rec?.session === s.id) {
        s.confirmed = true;
        this.publishGate.consider(s, now, out);
        continue;
      }
      if (rec !== null && olderEpoch(hello.epoch, rec.epoch)) {
        out.push(...this.closeSession(s, 'aborted', `a newer connection of agent ${JSON.stringify(hello.agentId)} holds it on ${rec.controller}`, now, false));
        continue;
      }
      // Its claim lost to the process that replaced it (superseded-boots.ts): claiming again would lose again.
      // Or it lost to a stream of another process admitted after it (claim-openings.ts): likewise.
      const holder = rec === null ? null : (supersededBy(agents, hello) ?? admittedBefore(agents, hello, s.admittedWall, s.admittedSeq));
      if (holder !== null && rec !== null) {
        this.refuseDuplicate(s, holder, rec.controller, now, out);
        continue;
      }
      s.claimedAt = now;
      const recorded = rec === null ? 'no record' : rec.online ? `online on ${rec.controller}` : 'offline';
      out.push({ type: 'audit', event: { type: 'state.divergence', subject: hello.agentId, from: recorded, to: `online on ${this.opts.self}`, reason: 'agent connected here but its claim is not committed; claiming again' } });
      this.report.add({ op: 'connect', id: hello.agentId, session: s.id, epoch: hello.epoch, info: hello.info, sync: s.tracker?.fields() ?? emptySync(), timeoutMs: s.liveness!.timeoutMs(), pushes: 0, ...openedOf(s, this.port.state()) });
    }
  }

  // ---- committed transitions ------------------------------------------------------------------------

  private followTransitions(state: ClusterState, now: number, out: HubEffect[]): void {
    const { items, missed } = state.agents.transitionsSince(this.transitionCursor);
    this.transitionCursor = state.agents.transitionSeq;
    if (missed) {
      out.push(log('warn', 'agent transitions were compacted away before this controller read them; they are not audited here', { after: this.transitionCursor }));
      for (const s of [...this.streams.values()]) if (s.hello !== null) this.checkClaim(s.hello.agentId, state, now, out);
      for (const id of this.departures.agents()) this.checkClaim(id, state, now, out);
    }
    const audit = !this.port.replaying();
    for (const t of items) {
      if (t.type !== 'claim' && !audit) continue;
      switch (t.type) {
        case 'claim': {
          // Claims are judged in commit order, not against the record alone: a controller that
          // applies ours and a later one in one go (it lagged) must still yield to the later.
          const ours = this.sessionOf(t.id);
          if (ours !== null && ours.id === t.session && state.agents.get(t.id)?.session !== t.session) ours.confirmed = true;
          this.checkClaim(t.id, state, now, out);
          // Our claim of a stream gone from here, committed after a departure of its agent from here
          // came due (that stream's, or a later one's whose claim was left out): that agent is gone.
          const rec = state.agents.get(t.id);
          if (rec !== null && rec.online && rec.session === t.session && this.goneFromHere(t.id, rec.controller)) {
            const late = this.departures.lateClaim(t.id, t.session);
            if (late !== null) this.reportGone(t.id, late.session === t.session ? late : { ...late, session: t.session });
          }
          break;
        }
        case 'status':
          out.push({ type: 'audit', event: { type: 'agent.status', subject: t.id, from: t.from, to: t.to, reason: t.reason } });
          break;
        case 'nack': {
          const s = this.sessionOf(t.id);
          // A rejection by an earlier stream of this agent: it stands on this one as at activation.
          if (s?.tracker != null && s.hello !== null && rejectedByThisProcess(s.hello, t.nackedVersion) && (s.tracker.ackedManifest?.version ?? null) === t.ackedVersion) s.tracker.adoptRejection({ version: t.nackedVersion, error: t.error });
          out.push({ type: 'audit', event: { type: 'agent.nack', subject: t.id, from: t.ackedVersion === null ? null : String(t.ackedVersion), to: String(t.nackedVersion), reason: t.error } });
          break;
        }
        case 'forgotten':
          // Its declaration and endpoints go next (the leader's; a new leader's sweep catches a loss).
          if (this.port.leading() && state.agents.get(t.id) === null) this.meshReports.forget(t.id);
          out.push({ type: 'audit', event: { type: 'agent.forgotten', subject: t.id, from: 'offline', to: null, reason: t.reason } });
          break;
        default: {
          const never: never = t;
          return never;
        }
      }
    }
  }

  /** A claim committed for `id`: confirm ours, or yield to a newer connection elsewhere. */
  private checkClaim(id: string, state: ClusterState, now: number, out: HubEffect[]): void {
    const rec = state.agents.get(id);
    if (rec === null) return;
    const d = this.departures.get(id);
    // A claim elsewhere ends the departure; one of this controller's own, of a stream gone from
    // here (committed late, after the agent came back here and left again), only renames it.
    if (d !== undefined && d.session !== rec.session) {
      if (!this.goneFromHere(id, rec.controller)) this.departures.delete(id);
      else if (rec.online) this.departures.rename(id, rec.session);
    }
    const s = this.sessionOf(id);
    if (s === null || s.hello === null) return;
    if (rec.session === s.id) {
      if (!s.confirmed) {
        s.confirmed = true;
        this.publishGate.consider(s, now, out);
      }
      return;
    }
    // Newer wins: a claim committed after ours, or any claim by a newer connection of the process.
    if (s.confirmed || olderEpoch(s.hello.epoch, rec.epoch)) {
      this.counters.takeovers++;
      this.supplanted.note(id, s.hello.epoch.boot, rec.epoch.boot);
      out.push({ type: 'audit', event: { type: 'agent.takeover', subject: id, from: s.id, to: rec.session, reason: `a newer connection took over on ${rec.controller}` } });
      out.push(...this.closeSession(s, 'aborted', `taken over by a newer connection of agent ${JSON.stringify(id)} on ${rec.controller}`, now, false));
    }
  }

  // ---- what agents publish and resolve -------------------------------------------------------------

  /** /resolve misses become observed dependencies (at once); hits on observed ones count as use (in batches). */
  private onUsage(s: Session, msg: Usage): void {
    const hello = s.hello!;
    const id = hello.agentId;
    const declared = (name: string): boolean => hello.info.dependencies.includes(name) || hello.info.hosts.includes(name);
    const observed = this.port.state().mesh.declaration(id)?.observed;
    // An agent that holds MAX_OBSERVED names gets no more (the mesh kind drops them at apply):
    // dropped here, so a stream of made-up misses writes nothing to the log.
    const full = (observed?.size ?? 0) >= MAX_OBSERVED;
    for (const name of msg.missed) {
      if (declared(name)) continue;
      if (observed?.has(name) === true) this.meshReports.used(id, name);
      else if (full) this.meshReports.dropped++;
      else this.meshReports.missed(id, name);
    }
    for (const name of msg.used) if (observed?.has(name) === true) this.meshReports.used(id, name);
  }

  private followMeshTransitions(state: ClusterState, out: HubEffect[]): void {
    const { items, missed } = state.mesh.transitionsSince(this.meshCursor);
    this.meshCursor = state.mesh.transitionSeq;
    if (missed) {
      out.push(log('warn', 'mesh transitions were compacted away before this controller read them; they are not audited here', { after: this.meshCursor }));
      // The refusals and creations below may be among those lost: every agent served here that
      // hosts services is looked at again (one pre-check each at the next round; its publish goes
      // only if it changes something). Both concern hosts only, so agents hosting none are not.
      for (const s of this.streams.values()) if (s.confirmed && (s.hello?.hosts.length ?? 0) > 0) s.publishWaiting = true;
    }
    // A host refused at apply, or taken off by an operator's write, is looked at again at the
    // next reconcile round, as a refusal this controller foresaw is: a later write may allow it.
    // Likewise an agent listing a service created anew (after an operator's delete, by another
    // agent's publish or an apply): its publish went through before, so nothing else would look
    // again, and it would stay off the service until it reconnected; from cluster version 0.9,
    // where only endpoints keep an agents' service, the service then expired once the agent that
    // created it again left it, while this one was connected and listed it.
    // Under services.agent_publish declared, so is an agent listing a service an operator
    // deleted: its publish of it is refused now, and that refusal is warned of and audited
    // (publish-refusals.ts), not left silent until it reconnects.
    const declared = declaredOnly(state.cluster, state.settings);
    const refusedAgents = new Set<string>();
    for (const t of items) {
      if (t.type === 'publish.refused') {
        this.publishRefusals.auditedByLog(t.agent, t.service);
        refusedAgents.add(t.agent);
        this.lookAgain(t.agent);
      } else if (t.type === 'declaration.forgotten') this.publishRefusals.forget(t.agent);
      else if (t.type === 'vip.released' && t.cause === 'deleted' && declared) {
        for (const agent of state.mesh.hostersOf(t.service)) this.lookAgain(agent);
      } else if (t.type === 'vip.assigned') {
        for (const agent of state.mesh.hostersOf(t.service)) if (!state.mesh.endpointsOf(agent).has(t.service)) this.lookAgain(agent);
      }
    }
    // What is remembered of an agent served elsewhere is what its declaration lists, every
    // refusal its record marks told (the log audited it, if only in a transition that counts it).
    for (const agent of refusedAgents) {
      if (this.sessionOf(agent)?.confirmed === true) continue;
      const declaration = state.mesh.declaration(agent);
      this.publishRefusals.keepListed(agent, new Set(declaration?.hosts ?? []), declaration?.refused);
    }
    if (this.port.replaying()) return;
    for (const t of items) out.push({ type: 'audit', event: meshAudit(t) });
  }

  /** The agent's publish is looked at again at the next reconcile round, if it is served here. */
  private lookAgain(agent: string): void {
    const s = this.sessionOf(agent);
    if (s?.confirmed === true) s.publishWaiting = true;
  }

  // ---- ending streams ----------------------------------------------------------------------------------

  private refuse(stream: StreamId, code: CloseCode, reason: string): HubEffect[] {
    this.counters.refused++;
    return [{ type: 'close', stream, code, reason }];
  }

  /** Close a stream; `depart`: the agent may still be online elsewhere, so give it its grace. */
  private closeSession(s: Session, code: CloseCode, reason: string, now: number, depart: boolean): HubEffect[] {
    if (depart) this.forget(s, now, reason);
    else this.drop(s);
    return [{ type: 'close', stream: s.stream, code, reason }];
  }

  private forget(s: Session, now: number, reason: string): void {
    const claimed = s.liveness !== null && s.hello !== null && this.byAgent.get(s.hello.agentId) === s.stream;
    if (claimed) this.departures.depart(s.hello!.agentId, s.id, s.liveness!.lastHeardAt(), s.liveness!.timeoutMs(), now, reason, rejectionOf(s));
    this.drop(s);
  }

  private drop(s: Session): void {
    // Every push is counted, also those of a stream that ends before its report.
    if (s.unreportedPushes > 0) this.reportSync(s);
    this.streams.delete(s.stream);
    const holder = certificateKey(s.identity);
    if (holder !== null) {
      const held = (this.byCertificate.get(holder) ?? 1) - 1;
      if (held > 0) this.byCertificate.set(holder, held);
      else this.byCertificate.delete(holder);
    }
    this.queue.delete(s.stream);
    this.dirty.delete(s.stream);
    this.fresh.forget(s.stream);
    this.waiting.delete(s.stream);
    if (s.selection !== null) {
      const group = this.bySelection.get(s.selection);
      group?.delete(s.stream);
      if (group?.size === 0) {
        this.bySelection.delete(s.selection);
        this.seenVersions.delete(s.selection);
        this.planner.forget(s.selection);
      }
    }
    if (s.hello !== null && this.byAgent.get(s.hello.agentId) === s.stream) this.byAgent.delete(s.hello.agentId);
    s.tracker?.release();
    s.tracker = null;
  }

  private sessionOf(agentId: string): Session | null {
    const stream = this.byAgent.get(agentId);
    return stream === undefined ? null : (this.streams.get(stream) ?? null);
  }
}

export { agentState, departureGraceMs, olderEpoch };

/** A claim's `opened` and `seen` (claim-openings.ts), once every member reads them (CLAIM_ORDER_VERSION): older members refuse the fields. */
function openedOf(s: Session, state: ClusterState): { readonly opened?: number; readonly seen?: number } {
  if (s.admittedWall === null || !state.cluster.supports(CLAIM_ORDER_VERSION)) return {};
  return { opened: Math.max(0, Math.min(s.admittedWall, MAX_OPENED_MS)), ...(s.admittedSeq === null ? {} : { seen: s.admittedSeq }) };
}
