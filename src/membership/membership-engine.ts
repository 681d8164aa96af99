/**
 * One controller's membership layer as a deterministic state machine: the failure detector,
 * the table of views received from peers, the reconciler, and the rules that turn them into
 * proposals, audit events and the rows of `ctl list controllers`. Time, the committed member
 * records and Raft's view come in as a `MembershipContext` on every call; nothing here owns a
 * timer or a socket. `src/node/membership-driver.ts` runs it on real timers and gRPC pings; the
 * simulation tests run it on simulated time.
 */
import type { MemberStatus, NodeId, PeerSnapshot, StatusTransition } from './types.js';
import { FailureDetector, type DetectorConfig } from './failure-detector.js';
import { ViewTable, type ReceivedView } from './view-table.js';
import { decodeView, encodeView } from './view-codec.js';
import { defaultAgingHorizonMs, defaultViewTtlMs, isStale, ownView } from './own-view.js';
import { assess, type Assessment, type StatusDecision, type ViewAging } from './status-aggregator.js';
import { PushBudget } from './push-budget.js';
import { reconcileRows, type OnlineBasis } from './reconciled-status.js';
import { Reconciler, acceptForwarded, judgeRepair, type ActivityReport, type LocalObservation, type Repair } from './reconciler.js';
import type { AuditEvent } from './audit.js';
import { MembershipError } from './errors.js';

export interface ContextMember {
  readonly id: NodeId;
  readonly voter: boolean;
  /** The status committed through Raft; null before the first decision. */
  readonly committed: MemberStatus | null;
}

/** What the engine needs to know of the rest of the node, read fresh for every call. */
export interface MembershipContext {
  /** Monotonic ms. */
  readonly now: number;
  /** ms since the epoch, for audit event times. */
  readonly wallClockMs: number;
  readonly members: readonly ContextMember[];
  /** Last proof of connection to the quorum (a follower: its leader's last message). */
  readonly lastLeaderContactAt: number | null;
  readonly electionTimeoutMs: number;
  /** The term this node leads in; null when it is not the leader. */
  readonly leaderTerm: number | null;
  /** This node's applied Raft index, carried in its views. */
  readonly appliedIndex: number;
}

export interface MembershipEngineOptions {
  readonly self: NodeId;
  /** Random per process start, so peers tell our restarts apart. */
  readonly incarnation: number;
  readonly detector: DetectorConfig;
  readonly pingIntervalMs: number;
  /** Default: defaultViewTtlMs(base, pingInterval). */
  readonly viewTtlMs?: number;
  /** How far views are read forward (status-aggregator rule 4); 0: not at all. Default: defaultAgingHorizonMs. */
  readonly agingHorizonMs?: number;
  readonly graceMs?: number;
  readonly proposalRetryMs?: number;
}

/**
 * One row of `ctl list controllers` as the engine knows it: the one row type from here to the
 * JSON (src/api/controller-rows.ts adds what Raft and the records know: address, leader, voter).
 */
export interface MemberRow {
  readonly id: NodeId;
  readonly online: boolean;
  readonly localState: MemberStatus;
  readonly clusterState: MemberStatus | null;
  readonly basis: OnlineBasis;
  /** null for this node itself. */
  readonly peer: PeerSnapshot | null;
  /** The member's applied index as its latest view reported it (ours for this node); null: no view yet. */
  readonly appliedIndex: number | null;
}

/** The membership layer's answer to `list controllers`: a row per member, and whether it may be out of date. */
export interface MembershipView {
  readonly rows: readonly MemberRow[];
  /** This node cannot reach a quorum. */
  readonly stale: boolean;
  readonly staleReason: string;
}

export interface SyncOutcome {
  readonly events: readonly AuditEvent[];
  /** Corrections a quorum of activity reports supports: forward them to the leader. */
  readonly corrections: readonly StatusDecision[];
  /** Repairs that found no quorum of reports: retried at the next sync. */
  readonly unresolved: readonly Repair[];
}

export class MembershipEngine {
  readonly viewTtlMs: number;
  readonly agingHorizonMs: number;
  private readonly detector: FailureDetector;
  private readonly table = new ViewTable();
  private readonly reconciler: Reconciler;
  private readonly pushes: PushBudget;
  /** A local transition happened that no ping round has carried yet. */
  private pushWanted = false;
  private seq = 0;
  private memberIds: readonly NodeId[] = [];

  constructor(
    private readonly options: MembershipEngineOptions,
    members: readonly NodeId[],
    now: number,
  ) {
    this.viewTtlMs = options.viewTtlMs ?? defaultViewTtlMs(options.detector.baseTimeoutMs, options.pingIntervalMs);
    this.agingHorizonMs = options.agingHorizonMs ?? defaultAgingHorizonMs(options.pingIntervalMs, options.detector.minTimeoutMs);
    this.pushes = new PushBudget(options.pingIntervalMs, now);
    this.detector = new FailureDetector(options.detector, [], now);
    this.reconciler = new Reconciler({
      self: options.self,
      ...(options.graceMs === undefined ? {} : { graceMs: options.graceMs }),
      ...(options.proposalRetryMs === undefined ? {} : { proposalRetryMs: options.proposalRetryMs }),
    });
    this.setMembers(members, now);
  }

  get self(): NodeId {
    return this.options.self;
  }

  /** Peers to ping. */
  peers(): readonly NodeId[] {
    return this.detector.peers();
  }

  /** Follow a membership change: watch new peers (with a full timeout of grace), forget removed ones. */
  setMembers(ids: readonly NodeId[], now: number): void {
    const next = [...new Set(ids)].sort();
    if (next.length === this.memberIds.length && next.every((id, i) => id === this.memberIds[i])) return;
    for (const id of this.memberIds) if (!next.includes(id)) this.table.forget(id);
    this.memberIds = next;
    this.detector.setPeers(
      next.filter((id) => id !== this.self),
      now,
    );
  }

  isMember(id: NodeId): boolean {
    return this.memberIds.includes(id);
  }

  /**
   * The payload of a ping round (one encoding for every peer). The round carries every
   * transition observed so far, so a push that was waiting for one is no longer needed.
   */
  roundPayload(ctx: MembershipContext): Uint8Array {
    this.pushWanted = false;
    return this.viewPayload(ctx);
  }

  /**
   * Whether to send an extra ping round now, ahead of the regular one: true when a local
   * transition has not been carried by a round yet and the push budget allows it (a burst of
   * two, then one per ping interval), so that a flapping link cannot flood the peers. The
   * caller sends the round with `roundPayload`.
   */
  takePushRound(now: number): boolean {
    return this.pushWanted && this.pushes.take(now);
  }

  /** The payload of our next pong (or ping): our view of every member. */
  viewPayload(ctx: MembershipContext): Uint8Array {
    this.seq = (this.seq + 1) >>> 0;
    return encodeView(
      ownView({
        self: this.self,
        incarnation: this.options.incarnation,
        seq: this.seq,
        connected: !this.stale(ctx),
        appliedIndex: ctx.appliedIndex,
        members: this.memberIds,
        detector: this.detector,
        now: ctx.now,
      }),
    );
  }

  /**
   * A ping or pong from `from` arrived carrying its view. Throws (MembershipError,
   * ViewDecodeError) for an unknown peer or a malformed view, and then records nothing.
   */
  receiveView(from: NodeId, payload: Uint8Array, now: number): void {
    if (!this.detector.has(from)) {
      throw new MembershipError('UNKNOWN_PEER', `view from "${from}": not a member (members: ${this.memberIds.join(', ')})`);
    }
    const view = decodeView(payload);
    this.table.ingest(from, view, now);
    this.detector.recordContact(from, now);
  }

  /** Any other message from a watched peer (a Raft message) also proves it is alive. */
  noteContact(from: NodeId, now: number): void {
    if (this.detector.has(from)) this.detector.recordContact(from, now);
  }

  recordRtt(from: NodeId, rttMs: number, now: number): void {
    if (this.detector.has(from)) this.detector.recordRtt(from, rttMs, now);
  }

  /** Local transitions since the last call (log them; then see `takePushRound`). */
  observe(now: number): readonly StatusTransition[] {
    const transitions = this.detector.observe(now);
    if (transitions.length > 0) this.pushWanted = true;
    return transitions;
  }

  stale(ctx: MembershipContext): boolean {
    return isStale({
      now: ctx.now,
      // A leader's "leader contact" is its last quorum contact, so both roles test the same way.
      isLeader: false,
      leaderQuorumActive: false,
      lastLeaderContactAt: ctx.lastLeaderContactAt,
      electionTimeoutMs: ctx.electionTimeoutMs,
    });
  }

  /** Why `stale` is true, for operators; '' when it is not. */
  staleReason(ctx: MembershipContext): string {
    if (!this.stale(ctx)) return '';
    if (ctx.lastLeaderContactAt === null) return `${this.self} has not been in contact with a leader`;
    const ago = Math.round(ctx.now - ctx.lastLeaderContactAt);
    return `${this.self} has had no contact with a quorum for ${ago}ms (election timeout ${ctx.electionTimeoutMs}ms)`;
  }

  /** Fresh views (ours included) and the quorum assessment over them. */
  assessment(ctx: MembershipContext): { readonly assessment: Assessment; readonly fresh: ReadonlyMap<NodeId, ReceivedView> } {
    const fresh = new Map(this.table.fresh(ctx.now, this.viewTtlMs));
    const own = ownView({
      self: this.self,
      incarnation: this.options.incarnation,
      seq: this.seq,
      connected: !this.stale(ctx),
      appliedIndex: ctx.appliedIndex,
      members: this.memberIds,
      detector: this.detector,
      now: ctx.now,
    });
    fresh.set(this.self, { view: own, receivedAt: ctx.now });
    const assessment = assess({
      voters: ctx.members.filter((m) => m.voter).map((m) => m.id),
      members: ctx.members.map((m) => m.id),
      views: fresh,
      now: ctx.now,
      viewTtlMs: this.viewTtlMs,
      ...(this.agingHorizonMs > 0 ? { aging: this.aging() } : {}),
    });
    return { assessment, fresh };
  }

  /** Leader only: the setStatus proposals to make now (level-triggered, paced). */
  lead(ctx: MembershipContext): readonly StatusDecision[] {
    if (ctx.leaderTerm === null) return [];
    return this.reconciler.lead({ now: ctx.now, term: ctx.leaderTerm, assessment: this.assessment(ctx).assessment, committed: committedOf(ctx) });
  }

  /**
   * Every state_sync_interval: compare local and cluster state; for each repair, gather the
   * latest activity with the member from the views of the members we hear (their answers, as
   * fresh as one ping interval) and turn them into a correction for the leader.
   */
  sync(ctx: MembershipContext): SyncOutcome {
    const { assessment, fresh } = this.assessment(ctx);
    const local = new Map<NodeId, LocalObservation>();
    for (const p of this.detector.peers()) {
      const o = this.detector.observation(p, ctx.now);
      local.set(p, { status: o.status, changedAt: o.changedAt });
    }
    const result = this.reconciler.sync({
      now: ctx.now,
      wallClockMs: ctx.wallClockMs,
      members: ctx.members.map((m) => m.id),
      local,
      committed: committedOf(ctx),
      assessment,
      stale: this.stale(ctx),
    });
    const voters = ctx.members.filter((m) => m.voter).map((m) => m.id);
    const corrections: StatusDecision[] = [];
    const unresolved: Repair[] = [];
    for (const repair of result.repairs) {
      const decision = judgeRepair(repair, this.activityReports(repair, fresh, ctx.now), voters);
      if (decision === null) unresolved.push(repair);
      else corrections.push(decision);
    }
    return { events: result.events, corrections, unresolved };
  }

  /** Leader: whether to propose a correction a follower's repair forwarded. */
  acceptCorrection(decision: StatusDecision, ctx: MembershipContext): boolean {
    return ctx.leaderTerm !== null && this.isMember(decision.id) && acceptForwarded(decision, this.assessment(ctx).assessment);
  }

  rows(ctx: MembershipContext): readonly MemberRow[] {
    const { assessment, fresh } = this.assessment(ctx);
    const ids = ctx.members.map((m) => m.id);
    const reconciled = reconcileRows({
      self: this.self,
      members: ids,
      stale: this.stale(ctx),
      local: new Map(this.detector.peers().map((p) => [p, this.detector.status(p)])),
      committed: committedOf(ctx),
      assessment,
      freshViews: fresh,
    });
    return reconciled.map((r) => ({
      id: r.id,
      online: r.online,
      localState: r.localState,
      clusterState: r.clusterState,
      basis: r.basis,
      peer: r.id !== this.self && this.detector.has(r.id) ? this.detector.snapshot(r.id, ctx.now) : null,
      appliedIndex: r.id === this.self ? ctx.appliedIndex : (this.table.get(r.id)?.view.appliedIndex ?? null),
    }));
  }

  /** Rule 4 of the aggregator: a reporter's views reach us in about half its RTT. */
  private aging(): ViewAging {
    const transitMs = new Map<NodeId, number>();
    for (const p of this.detector.peers()) transitMs.set(p, (this.detector.movingAverageRttMs(p) ?? 0) / 2);
    return { horizonMs: this.agingHorizonMs, transitMs };
  }

  private activityReports(repair: Repair, fresh: ReadonlyMap<NodeId, ReceivedView>, now: number): ActivityReport[] {
    const reports: ActivityReport[] = [];
    const own = this.detector.observation(repair.member, now);
    reports.push({ from: this.self, lastContactAgoMs: own.lastContactMs, timeoutMs: own.timeoutMs });
    for (const reporter of repair.ask) {
      const rv = fresh.get(reporter);
      const entry = rv?.view.entries.find((e) => e.id === repair.member);
      if (rv === undefined || entry === undefined) continue;
      const age = now - rv.receivedAt;
      reports.push({
        from: reporter,
        lastContactAgoMs: entry.lastContactAgoMs === null ? null : entry.lastContactAgoMs + age,
        timeoutMs: entry.timeoutMs,
      });
    }
    return reports;
  }
}

function committedOf(ctx: MembershipContext): ReadonlyMap<NodeId, MemberStatus> {
  const m = new Map<NodeId, MemberStatus>();
  for (const member of ctx.members) if (member.committed !== null) m.set(member.id, member.committed);
  return m;
}
