/**
 * One controller's membership layer as a deterministic state machine: the failure detector,
 * the table of views received from peers, the reconciler, and the rules that turn them into
 * proposals, audit events and the rows of `ctl list controllers`. Time, the committed member
 * records and Raft's view come in as a `MembershipContext` on every call; nothing here owns a
 * timer or a socket. `src/node/membership-driver.ts` runs it on real timers and gRPC pings; the
 * simulation tests run it on simulated time.
 */
import type { MemberStatus, NodeId, PeerSnapshot, ShownStatus, StatusTransition } from './types.js';
import { FailureDetector, type DetectorConfig, type UndialablePeer } from './failure-detector.js';
import { ViewTable, type ReceivedView } from './view-table.js';
import { decodeHeartbeat, encodeHeartbeat, type MemberView, type RelayedView } from './view-codec.js';
import { defaultAgingHorizonMs, defaultViewTtlMs, ownView } from './own-view.js';
import { assess, quorumOf, slowLinkReporters, type Assessment, type StatusDecision, type ViewAging } from './status-aggregator.js';
import { PushBudget } from './push-budget.js';
import { reconcileRows, type OnlineBasis } from './reconciled-status.js';
import { Reconciler, acceptForwarded, judgeRepair, type ActivityReport, type LocalObservation, type Repair } from './reconciler.js';
import type { AuditEvent } from './audit.js';
import { MembershipError } from './errors.js';
import { CommittedChanges } from './committed-changes.js';
import { leaderlessReason } from './leader-contact.js';

export interface ContextMember {
  readonly id: NodeId;
  readonly voter: boolean;
  /** The status committed through Raft; null before a leader's first decision about it. */
  readonly committed: MemberStatus | null;
}

/** What the engine needs to know of the rest of the node, read fresh for every call. */
export interface MembershipContext {
  /** Monotonic ms. */
  readonly now: number;
  /** ms since the epoch, for audit event times. */
  readonly wallClockMs: number;
  readonly members: readonly ContextMember[];
  /** The last message from a leader; for a leader, its last quorum contact through Raft (then stale past an election timeout). */
  readonly lastLeaderContactAt: number | null;
  readonly electionTimeoutMs: number;
  /** The term this node leads in; null when it is not the leader. */
  readonly leaderTerm: number | null;
  /** The leader Raft follows (this node when it leads); null: none known. */
  readonly leader: NodeId | null;
  /** This node's applied Raft index, carried in its views. */
  readonly appliedIndex: number;
}

export interface MembershipEngineOptions {
  readonly self: NodeId;
  /** Random per process start, so peers tell our restarts apart. */
  readonly incarnation: number;
  /** This node's software version, carried in its views so every node shows every member's own. */
  readonly version?: string;
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
  readonly localState: ShownStatus;
  readonly clusterState: MemberStatus | null;
  readonly basis: OnlineBasis;
  /** The member's own version as its views say (ours for this node); null: not heard from yet. */
  readonly version: string | null;
  /** null for this node itself. */
  readonly peer: PeerSnapshot | null;
  /** The member's applied index as its latest view reported it (ours for this node); null: no view yet. */
  readonly appliedIndex: number | null;
}

/**
 * The membership layer's answer to `list controllers` (and the standing of `list agents` and
 * `status`): a row per member, and whether it may be out of date.
 */
export interface MembershipView {
  readonly rows: readonly MemberRow[];
  /** This node cannot vouch for what it answers (`MembershipEngine.view`): no quorum heard, or no leader beyond an ordinary election. */
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
  private readonly table: ViewTable;
  private readonly reconciler: Reconciler;
  private readonly pushes: PushBudget;
  /** A local transition happened that no ping round has carried yet. */
  private pushWanted = false;
  private seq = 0;
  private memberIds: readonly NodeId[] = [];
  /** A gap between observe calls longer than this is our own stall (as the detector judges it). */
  private readonly stallThresholdMs: number;
  private lastObserveAt: number | null = null;
  /** When we last resumed from a stall, until a quorum has answered pings sent after it. */
  private resumedAt: number | null = null;
  private stalledForMs = 0;
  /** When the ping that each peer's latest pong answered was sent. */
  private readonly pongFor = new Map<NodeId, number>();
  /** The round trip of each peer's latest pong (the aggregator's slow links). */
  private readonly lastRtt = new Map<NodeId, number>();
  /**
   * The first ping of each peer's latest streak of unanswered ones: when it was sent, when the
   * streak's second ping failed (Infinity before), when a view of the peer's received since said
   * it heard us (Infinity before: noteLateAnswers), and whether a ping sent after that view failed
   * too (notePingUnanswered).
   */
  private readonly unanswered = new Map<NodeId, { readonly sentAt: number; armedAt: number; heardAt: number; late: boolean }>();
  private readonly committedChanges = new CommittedChanges();
  /**
   * The last view this node received from its leader while it knew no voter (replaying the log):
   * whether the leader itself said it was connected, and when it came.
   */
  private leaderView: { readonly from: NodeId; readonly connected: boolean; readonly hearsUs: boolean; readonly at: number } | null = null;
  /** When this engine began: no leader can have been heard before. */
  private readonly startedAt: number;

  constructor(
    private readonly options: MembershipEngineOptions,
    members: readonly NodeId[],
    now: number,
  ) {
    this.startedAt = now;
    this.viewTtlMs = options.viewTtlMs ?? defaultViewTtlMs(options.detector.baseTimeoutMs, options.pingIntervalMs);
    this.agingHorizonMs = options.agingHorizonMs ?? defaultAgingHorizonMs(options.pingIntervalMs, options.detector.minTimeoutMs);
    this.pushes = new PushBudget(options.pingIntervalMs, now);
    // A peer relays a reporter's view once our latest view (up to a ping interval old) shows
    // that reporter silent for a ping interval: two intervals without its own view, then.
    this.table = new ViewTable(2 * options.pingIntervalMs);
    this.detector = new FailureDetector(options.detector, [], now);
    this.stallThresholdMs = options.detector.stallThresholdMs ?? Math.min(1_000, options.detector.baseTimeoutMs / 2);
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

  /**
   * A relayed view's age counts from when the relaying node received it, without the hop to
   * us (up to the jitter of a message, more on a loaded machine): it may vote for two ping
   * intervals longer than a first-hand one, so that relays every interval never leave a gap.
   */
  private get relayGraceMs(): number {
    return 2 * this.options.pingIntervalMs;
  }

  /** Peers to ping. */
  peers(): readonly NodeId[] {
    return this.detector.peers();
  }

  /** Follow a membership change: watch new peers (with a full timeout of grace), forget removed ones. */
  setMembers(ids: readonly NodeId[], now: number): void {
    const next = [...new Set(ids)].sort();
    if (next.length === this.memberIds.length && next.every((id, i) => id === this.memberIds[i])) return;
    for (const id of this.memberIds) {
      if (next.includes(id)) continue;
      this.table.forget(id);
      this.lastRtt.delete(id);
      this.unanswered.delete(id);
    }
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
   * The payloads of a ping round, by peer. The round carries every transition observed so far,
   * so a push that was waiting for one is no longer needed. Peers that need the same relayed
   * views share one encoding (in a healthy cluster: all of them, nothing relayed).
   */
  roundPayload(ctx: MembershipContext): (peer: NodeId) => Uint8Array {
    this.pushWanted = false;
    this.seq = (this.seq + 1) >>> 0;
    const own = this.ownView(ctx);
    const byRelays = new Map<string, Uint8Array>();
    return (peer) => {
      const relayed = this.relaysFor(peer, ctx.now);
      const key = relayed.map((r) => r.view.reporter).join(',');
      let payload = byRelays.get(key);
      if (payload === undefined) {
        payload = encodeHeartbeat({ view: own, relayed });
        byRelays.set(key, payload);
      }
      return payload;
    };
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

  /**
   * The payload of our next pong (or ping) to `peer`: our view of every member, and the fresh
   * views we received first-hand from reporters `peer` has not heard lately (relaysFor).
   */
  viewPayload(ctx: MembershipContext, peer?: NodeId): Uint8Array {
    this.seq = (this.seq + 1) >>> 0;
    return encodeHeartbeat({ view: this.ownView(ctx), relayed: peer === undefined ? [] : this.relaysFor(peer, ctx.now) });
  }

  /**
   * The views to relay to `peer`: those we hold first-hand and fresh from reporters that
   * `peer`'s own latest view says it has not heard for more than a ping interval (or does
   * not mention, or whose view we do not hold fresh). In a healthy cluster that is nothing; under
   * a partial partition it is exactly what the far side needs, within a few ping intervals of
   * the cut, well inside the view TTL.
   */
  private relaysFor(peer: NodeId, now: number): RelayedView[] {
    const theirs = this.table.get(peer);
    const theirsFresh = theirs !== undefined && now - theirs.receivedAt <= this.viewTtlMs ? theirs : undefined;
    const silentAfter = this.options.pingIntervalMs;
    const out: RelayedView[] = [];
    for (const [reporter, rv] of this.table.fresh(now, this.viewTtlMs)) {
      if (!rv.direct || reporter === this.self || reporter === peer) continue;
      if (theirsFresh !== undefined) {
        const entry = theirsFresh.view.entries.find((e) => e.id === reporter);
        const silence = entry?.lastContactAgoMs ?? null;
        if (silence !== null && silence + (now - theirsFresh.receivedAt) <= silentAfter) continue;
      }
      out.push({ ageMs: now - rv.receivedAt, view: rv.view });
    }
    return out;
  }

  private ownView(ctx: MembershipContext): MemberView {
    return ownView({
      self: this.self,
      incarnation: this.options.incarnation,
      seq: this.seq,
      connected: this.connected(ctx),
      appliedIndex: ctx.appliedIndex,
      version: this.options.version ?? null,
      members: this.memberIds,
      detector: this.detector,
      now: ctx.now,
    });
  }

  /**
   * A ping or pong from `from` arrived carrying its view and the views it relays. Throws
   * (MembershipError, ViewDecodeError) for an unknown peer or a malformed payload, and then
   * records nothing. Relayed views of non-members, of ourselves or claiming to be the sender's
   * own are skipped; they count as received when the sender received them.
   */
  receiveView(from: NodeId, payload: Uint8Array, now: number): void {
    if (!this.detector.has(from)) {
      throw new MembershipError('UNKNOWN_PEER', `view from "${from}": not a member (members: ${this.memberIds.join(', ')})`);
    }
    const { view, relayed } = decodeHeartbeat(payload);
    this.table.ingest(from, view, now);
    this.noteLateAnswers(from, view, now);
    this.detector.recordContact(from, now);
    for (const r of relayed) {
      const reporter = r.view.reporter;
      if (reporter === this.self || reporter === from || !this.isMember(reporter)) continue;
      this.table.ingestRelayed(from, r.view, now - Math.min(r.ageMs, this.viewTtlMs + 1), now);
    }
  }

  /**
   * Members this node hears whose latest first-hand view, still fresh, shows this node offline:
   * their views reach it (answers on its own connections), and what it sends them does not (they
   * cannot dial it, or it is lost on the way). In id order; unheard-watch.ts makes news of it.
   */
  unheardBy(now: number): NodeId[] {
    const out: NodeId[] = [];
    for (const [reporter, rv] of this.table.fresh(now, this.viewTtlMs)) {
      if (!rv.direct || !this.detector.has(reporter) || this.detector.status(reporter) !== 'online') continue;
      if (rv.view.entries.some((e) => e.id === this.self && e.status === 'offline')) out.push(reporter);
    }
    return out.sort();
  }

  /**
   * Whether `reporter`'s latest first-hand view, still fresh, shows every other member offline
   * (two at least, this node among them): a peer that hears nobody is more likely the one whose
   * dials fail (an egress firewall, a bad route on its side) than each member it names.
   */
  hearsNoOtherMember(reporter: NodeId, now: number): boolean {
    const rv = this.table.fresh(now, this.viewTtlMs).get(reporter);
    if (rv === undefined || !rv.direct) return false;
    const others = rv.view.entries.filter((e) => e.id !== reporter);
    return others.length >= 2 && others.every((e) => e.status === 'offline');
  }

  /** Any other message from a watched peer (a Raft message) also proves it is alive. */
  noteContact(from: NodeId, now: number): void {
    if (this.detector.has(from)) this.detector.recordContact(from, now);
  }

  /**
   * Our ping to `peer`, sent at `sentAt`, failed because no connection to it could be opened.
   * While that lasts, its own messages stop counting as contact after a grace (failure-detector.ts).
   */
  noteDialFailure(peer: NodeId, sentAt: number): void {
    if (this.detector.has(peer)) this.detector.recordDialFailure(peer, sentAt);
  }

  /** Our ping to `peer`, sent at `sentAt`, was answered; call it before `receiveView` for the answer. */
  noteDialSuccess(peer: NodeId, sentAt: number): void {
    if (this.detector.has(peer)) this.detector.recordDialSuccess(peer, sentAt);
  }

  /** Whether `peer`'s messages arrive while this node cannot dial it (for health and logs). */
  undialable(peer: NodeId, now: number): UndialablePeer | null {
    return this.detector.has(peer) ? this.detector.undialable(peer, now) : null;
  }

  recordRtt(from: NodeId, rttMs: number, now: number): void {
    if (!this.detector.has(from)) return;
    this.detector.recordRtt(from, rttMs, now);
    const sentAt = now - rttMs;
    if (sentAt >= (this.pongFor.get(from) ?? -Infinity)) this.lastRtt.set(from, rttMs);
    this.pongFor.set(from, Math.max(this.pongFor.get(from) ?? -Infinity, sentAt));
  }

  /**
   * Our ping to `peer`, sent at `sentAt`, went unanswered on an open connection: lost, refused,
   * or answered later than its deadline (the base timeout). Until a ping sent after it is
   * answered, the peer's views may be reaching us late, if they say it hears us: at base 500 ms a
   * link slow enough to matter answers no ping in time, so its round trip is never measured
   * (slowLinkReporters).
   */
  notePingUnanswered(peer: NodeId, sentAt: number, now: number): void {
    if (!this.detector.has(peer)) return;
    // The first of a streak is kept (no ping sent since it has been answered); the streak's views
    // count from its second failure: the first ping may have been on its way when a cut began.
    // Its answers come late only if a ping sent after such a view said the peer heard us failed
    // as well: our messages reached it then, and the answer to the next did not come in time. A
    // view saying so right after pings were lost (this node cut off for a moment: a flapping link
    // or node) is no such evidence: the pings sent after it are answered.
    const held = this.unanswered.get(peer);
    if (held !== undefined && held.sentAt > (this.pongFor.get(peer) ?? -Infinity) && held.sentAt <= sentAt) {
      if (held.armedAt === Infinity && sentAt > held.sentAt) held.armedAt = now;
      if (sentAt > held.heardAt) held.late = true;
      return;
    }
    this.unanswered.set(peer, { sentAt, armedAt: Infinity, heardAt: Infinity, late: false });
  }

  /**
   * A first-hand view of `peer` received at `now` during a streak of our pings it left
   * unanswered, from the second failure on: if it says the peer heard us within half the ping
   * deadline (the base timeout), our messages reach it, and a ping sent from now on that fails as
   * well marks the streak late until it ends (notePingUnanswered). Where what we send it is lost
   * (a one-way cut), its views sent after the first failure show us silent for about the deadline
   * less one delay, and never count.
   */
  private noteLateAnswers(peer: NodeId, view: MemberView, now: number): void {
    const u = this.unanswered.get(peer);
    if (u === undefined || u.heardAt !== Infinity || now < u.armedAt || u.sentAt <= (this.pongFor.get(peer) ?? -Infinity)) return;
    const e = view.entries.find((x) => x.id === this.self);
    if (e !== undefined && e.status === 'online' && e.lastContactAgoMs !== null && e.lastContactAgoMs <= this.options.detector.baseTimeoutMs / 2) u.heardAt = now;
  }

  /** Local transitions since the last call (log them; then see `takePushRound`). */
  observe(now: number): readonly StatusTransition[] {
    // Messages that waited in our sockets while we were stopped say nothing about now: after a
    // stall only answers to pings sent since count as contact (quorumContact).
    if (this.lastObserveAt !== null && now - this.lastObserveAt > this.stallThresholdMs) {
      this.resumedAt = now;
      this.stalledForMs = now - this.lastObserveAt;
    }
    this.lastObserveAt = Math.max(now, this.lastObserveAt ?? now);
    const transitions = this.detector.observe(now);
    if (transitions.length > 0) this.pushWanted = true;
    return transitions;
  }

  /**
   * The contract's `stale`: this node heard from no quorum of voters (itself included when it
   * votes) within an election timeout. Raw contact times, our own stalls included: a node
   * resumed from a pause is stale until its peers' messages arrive.
   */
  stale(ctx: MembershipContext): boolean {
    if (this.leaderOutOfTouch(ctx)) return true;
    const q = this.quorumContact(ctx);
    return q.heard < q.needed;
  }

  /**
   * What this node's views say of it: connected unless `stale`, or, knowing no voter yet (started
   * empty with --join, replaying the log), while a leader's messages reach it within an election
   * timeout: a leader replicating to it is its contact with the cluster. A member cut off from a
   * quorum shows each member whose view reaches it by this word (reconciled-status.ts); from a
   * node that knows no voter it was always "not connected", so such a member showed one back
   * empty offline for as long as its replay took. Its own answers still say stale meanwhile.
   */
  private connected(ctx: MembershipContext): boolean {
    if (!this.stale(ctx)) return true;
    if (ctx.leaderTerm !== null || ctx.members.some((m) => m.voter)) return false;
    if (ctx.lastLeaderContactAt === null || ctx.now - ctx.lastLeaderContactAt > ctx.electionTimeoutMs) return false;
    // A leader cut off from its quorum still replicates to the members on its side until it steps
    // down (check-quorum, one to two election timeouts): its contact says nothing then. And its
    // messages reaching us say nothing of ours reaching anyone. Only while its own fresh view says
    // it is connected, and hears us, is it this node's contact with the cluster.
    const lv = this.leaderView;
    return lv !== null && lv.from === ctx.leader && ctx.now - lv.at <= this.viewTtlMs && lv.connected && lv.hearsUs;
  }

  /**
   * A view from a peer this node does not count as a member yet (it knows no member while it
   * replays the log): kept only when it is from the leader, whose own word `connected` reads.
   */
  noteOutsiderView(from: NodeId, view: MemberView, ctx: MembershipContext): void {
    if (from !== ctx.leader || view.reporter !== from) return;
    const hearsUs = view.entries.some((e) => e.id === this.self && e.status === 'online');
    this.leaderView = { from, connected: view.connected, hearsUs, at: ctx.now };
  }

  /**
   * A leader is current only while a quorum acknowledges it through Raft itself: pings alone
   * reach a resumed old leader before the messages of the new term do, and it must not answer
   * as the leader of its old term meanwhile.
   */
  private leaderOutOfTouch(ctx: MembershipContext): boolean {
    if (ctx.leaderTerm === null) return false;
    return ctx.lastLeaderContactAt === null || ctx.now - ctx.lastLeaderContactAt > ctx.electionTimeoutMs;
  }

  /**
   * Our last resume from a stall, if a quorum has not answered since: as `observe` found it, or
   * (before the observe tick runs again) as the time since it shows now. A status request read
   * in the same turn as the messages that waited must not count them either.
   */
  private resume(now: number): { readonly at: number; readonly stalledForMs: number } | null {
    if (this.resumedAt !== null) return { at: this.resumedAt, stalledForMs: this.stalledForMs };
    if (this.lastObserveAt === null || now - this.lastObserveAt <= this.stallThresholdMs) return null;
    return { at: now, stalledForMs: now - this.lastObserveAt };
  }

  private quorumContact(ctx: MembershipContext): { readonly heard: number; readonly needed: number; readonly voters: number } {
    const voters = ctx.members.filter((m) => m.voter).map((m) => m.id);
    const resumedAt = this.resume(ctx.now)?.at ?? null;
    let heard = 0;
    for (const v of voters) {
      if (v === this.self) heard++;
      else if (resumedAt !== null) {
        if ((this.pongFor.get(v) ?? -Infinity) >= resumedAt) heard++;
      } else if (this.detector.has(v)) {
        const ago = this.detector.observation(v, ctx.now).lastContactMs;
        if (ago !== null && ago <= ctx.electionTimeoutMs) heard++;
      }
    }
    const needed = voters.length === 0 ? 1 : quorumOf(voters.length);
    if (this.resumedAt !== null && heard >= needed) this.resumedAt = null;
    return { heard, needed, voters: voters.length };
  }

  /**
   * When this node last heard from `peer`, by any message the detector counts; null for itself,
   * a peer it never heard or one that is not a member. What `rows` shows as the peer's
   * lastContactMs, without building the rows.
   */
  lastContactAt(peer: NodeId, now: number): number | null {
    if (peer === this.self || !this.detector.has(peer)) return null;
    const ago = this.detector.observation(peer, now).lastContactMs;
    return ago === null ? null : now - ago;
  }

  /** Why `stale` is true, for operators; '' when it is not. */
  staleReason(ctx: MembershipContext): string {
    if (this.leaderOutOfTouch(ctx)) {
      const ago = ctx.lastLeaderContactAt === null ? 'never' : `${Math.round(ctx.now - ctx.lastLeaderContactAt)}ms ago`;
      return `${this.self} leads term ${ctx.leaderTerm} but a quorum last acknowledged it ${ago} (election timeout ${ctx.electionTimeoutMs}ms)`;
    }
    const resumed = this.resume(ctx.now);
    const q = this.quorumContact(ctx);
    if (q.heard >= q.needed) return '';
    if (resumed !== null) {
      return `${this.self} resumed ${Math.round(ctx.now - resumed.at)}ms ago from a stall of ${Math.round(resumed.stalledForMs)}ms and has heard back from ${q.heard} of ${q.voters} voters since, a quorum is ${q.needed}`;
    }
    const leader = ctx.lastLeaderContactAt === null ? 'no leader contact yet' : `last leader contact ${Math.round(ctx.now - ctx.lastLeaderContactAt)}ms ago`;
    // No voter at all: a node started empty (--join) that no leader has reached. "Heard from 0
    // of 0 voters" named no cause; what it waits for is its addition and a leader.
    if (q.voters === 0) {
      return (
        `${this.self} knows no cluster configuration yet: it started empty (--join) and no leader has replicated the cluster's log to it; ` +
        `it waits until it is added (ctl member add ${this.self} ADDRESS, on the running cluster) and that cluster's leader reaches it (${leader})`
      );
    }
    return `${this.self} has heard from ${q.heard} of ${q.voters} voters within the election timeout (${ctx.electionTimeoutMs}ms), a quorum is ${q.needed}; ${leader}`;
  }

  /**
   * What this node answers to `list controllers`, `list agents` and `status`. Stale when it is
   * `stale`, and also when it hears a quorum but no leader beyond an ordinary election
   * (leader-contact.ts): on the far side of a partial partition the others elect and commit
   * without it, so its records (agents' versions and controllers, the leader) are the past, and
   * it must not present them as current. Only the answer says so: such a node is still
   * connected (its views, its own row), as the contract's `online` counts quorum contact.
   * A leader is judged by its quorum's acknowledgements (`stale`), not here.
   */
  view(ctx: MembershipContext): MembershipView {
    const rows = this.rows(ctx);
    let reason = this.staleReason(ctx);
    if (reason === '' && ctx.leaderTerm === null) {
      reason = leaderlessReason({ self: this.self, now: ctx.now, since: this.startedAt, lastLeaderContactAt: ctx.lastLeaderContactAt, electionTimeoutMs: ctx.electionTimeoutMs }) ?? '';
    }
    return { rows, stale: reason !== '', staleReason: reason };
  }

  /** Notes when each member's committed status changed; the driver calls it every tick. */
  noteCommitted(ctx: MembershipContext): void {
    this.committedChanges.note(ctx.members, ctx.now);
  }

  /** Fresh views (ours included) and the quorum assessment over them. */
  assessment(ctx: MembershipContext): { readonly assessment: Assessment; readonly fresh: ReadonlyMap<NodeId, ReceivedView> } {
    this.noteCommitted(ctx);
    const fresh = new Map(this.table.fresh(ctx.now, this.viewTtlMs, this.relayGraceMs));
    fresh.set(this.self, { view: this.ownView(ctx), receivedAt: ctx.now, direct: true, via: this.self });
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
    const local = new Map<NodeId, ShownStatus>();
    for (const p of this.detector.peers()) {
      const o = this.detector.observation(p, ctx.now);
      local.set(p, o.lastContactMs === null ? 'unknown' : o.status);
    }
    const reconciled = reconcileRows({
      self: this.self,
      members: ids,
      stale: this.stale(ctx),
      local,
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
      version: r.id === this.self ? (this.options.version ?? null) : (this.table.get(r.id)?.view.version ?? null),
    }));
  }

  /** Rule 4 of the aggregator: a reporter's views reach us in about half its RTT, unless its link is slow. */
  private aging(): ViewAging {
    const transitMs = new Map<NodeId, number>();
    const averages: number[] = [];
    const last = new Map<NodeId, number>();
    for (const p of this.detector.peers()) {
      const avg = this.detector.movingAverageRttMs(p);
      transitMs.set(p, (avg ?? 0) / 2);
      if (avg !== null) averages.push(avg);
      const u = this.unanswered.get(p);
      const unanswered = u !== undefined && u.late && u.sentAt > (this.pongFor.get(p) ?? -Infinity);
      const rtt = unanswered ? Infinity : this.lastRtt.get(p);
      if (rtt !== undefined) last.set(p, rtt);
    }
    return { horizonMs: this.agingHorizonMs, transitMs, slow: slowLinkReporters(last, averages, this.agingHorizonMs) };
  }

  private activityReports(repair: Repair, fresh: ReadonlyMap<NodeId, ReceivedView>, now: number): ActivityReport[] {
    const reports: ActivityReport[] = [];
    const own = this.detector.observation(repair.member, now);
    reports.push({ from: this.self, lastContactAgoMs: own.lastContactMs, timeoutMs: own.timeoutMs });
    // A view that arrived before the committed status did may predate what the leader decided it
    // from (a member that resumed a moment ago): it cannot overturn that decision.
    const committedSince = this.committedChanges.since(repair.member) ?? Number.NEGATIVE_INFINITY;
    for (const reporter of repair.ask) {
      const rv = fresh.get(reporter);
      const entry = rv?.view.entries.find((e) => e.id === repair.member);
      if (rv === undefined || entry === undefined || rv.receivedAt < committedSince) continue;
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
