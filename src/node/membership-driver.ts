/**
 * Runs the deterministic MembershipEngine on a Scheduler: pings every peer each heartbeat
 * interval with this node's view, answers pings, observes the detector every few tens of ms,
 * proposes the leader's decisions, runs the reconciler every state_sync_interval, and records
 * committed status changes in the audit trail. The engine decides; this file only schedules.
 * Production runs it on real timers and gRPC pings (controller-node.ts); the membership
 * simulation (test/membership/membership-sim.ts) runs this same driver on simulated time.
 */
import type { HeartbeatConfig } from '../config/index.js';
import { MembershipEngine, type MembershipContext, type MembershipView } from '../membership/membership-engine.js';
import { auditEvent } from '../membership/audit.js';
import { decodeHeartbeat } from '../membership/view-codec.js';
import type { StatusDecision } from '../membership/status-aggregator.js';
import type { MemberStatus } from '../membership/types.js';
import { UnheardWatch, type UnheardNews } from '../membership/unheard-watch.js';
import type { MemberRecord } from '../statemachine/index.js';
import type { Scheduler, Timer } from '../util/clock.js';
import type { MembershipNode, MembershipPort } from './membership-port.js';
import { AnsweredByOtherError, isUnreachableAtAddress, TransportError, type UnreachableAtAddress } from '../transport/errors.js';

export interface MembershipDriverOptions {
  readonly heartbeat: HeartbeatConfig;
  readonly stateSyncIntervalMs: number;
  readonly scheduler: Scheduler;
  /** Random per process start (peers tell our restarts apart by it). */
  readonly incarnation: number;
  /** This controller's version, carried on its pings. */
  readonly version?: string;
  /** Where it listens (config `listen`), named when its peers do not hear it. */
  readonly listen?: string;
}

/** How often the detector is observed; the convergence budget wants <= 50 ms. */
const OBSERVE_EVERY_MS = 50;

/**
 * How long a peer's own messages still count while our dials to it fail (at least its timeout):
 * the transport redials a lost connection within 1 s (peerChannelOptions' max reconnect
 * backoff), so a member that restarts is heard before it is redialled, and must not flap.
 */
export const DIAL_GRACE_MS = 2_000;

export function createMembershipNode(port: MembershipPort, options: MembershipDriverOptions): MembershipNode {
  return new MembershipDriver(port, options);
}

/** The suspects an undialable member's warning names for what answers at its address. */
function whatAnswers(peer: string, failure: AnsweredByOtherError): string {
  const refused = failure.notAddressee;
  if (refused === null) return `a copy of ${peer}'s data dir, another member, another cluster's controller`;
  // The refuser said who it is: the address is taken by it, not by a process of this member.
  if (refused.cause === 'MISDIRECTED') return `member ${refused.answeredAs} does, by its own word: compare the addresses the cluster has for ${peer} and ${refused.answeredAs}`;
  // Symmetric: when every peer says so, the odd one out is this node (a typo in its cluster.name, another cluster's data dir).
  return `another cluster's controller does: it refuses this cluster's ${refused.cause === 'CLUSTER_ID' ? 'id' : 'name'} (${refused.cause}); if every peer is refused so, this node's cluster.name or data dir is the odd one`;
}

/**
 * For the unheard warning: peers whose views show every other member offline. Each member they
 * name gets the warning, so the odd one out is more likely the peer (its own dials fail).
 */
function oddOneOut(peers: readonly string[]): string {
  if (peers.length === 0) return '';
  const who = peers.join(', ');
  const [one, its] = peers.length === 1 ? ['hears', 'its'] : ['hear', 'their'];
  return `; ${who} ${one} no other member either: then ${peers.length === 1 ? `${who}'s own dials fail` : `${its} own dials fail`} (a firewall or route on ${its} side), as ${its} log says`;
}

class MembershipDriver implements MembershipNode {
  private readonly engine: MembershipEngine;
  private readonly clock: Scheduler;
  private readonly timers: Timer[] = [];
  private stopped = true;
  private leaderTerm: number | null = null;
  /** The committed status we last saw per member, to audit each committed change once. */
  private readonly committedSeen = new Map<string, SeenStatus>();
  /** The members kind's transition seq audited up to (auditCommittedChanges); null: none kept. */
  private statusCursor: number | null = null;
  /** The members list the last audit read: an apply that left it as it was changed no member. */
  private auditedMembers: readonly MemberRecord[] | null = null;
  /** Each peer's last dial failure (no connection, or another process answered), to name the address and the error when it is found undialable. */
  private readonly lastDialFailure = new Map<string, UnreachableAtAddress>();
  /** Peers warned about as undialable, until a dial succeeds: one warning per episode. */
  private readonly warnedUndialable = new Set<string>();
  /** Peers this node hears that do not hear it: the undialable member's own clue (unheard-watch.ts). */
  private readonly unheard: UnheardWatch;

  constructor(
    private readonly port: MembershipPort,
    private readonly options: MembershipDriverOptions,
  ) {
    const hb = options.heartbeat;
    this.clock = options.scheduler;
    // Two base timeouts: past a start's first pongs, which may carry views from before we were heard.
    this.unheard = new UnheardWatch(2 * hb.baseTimeoutMs);
    this.engine = new MembershipEngine(
      {
        self: port.self,
        incarnation: options.incarnation,
        ...(options.version === undefined ? {} : { version: options.version }),
        pingIntervalMs: hb.intervalMs,
        detector: {
          baseTimeoutMs: hb.baseTimeoutMs,
          dynamicAdjustment: hb.dynamicAdjustment,
          rttWindow: hb.rttWindow,
          minTimeoutMs: hb.minTimeoutMs,
          maxTimeoutMs: hb.maxTimeoutMs,
          dialGraceMs: DIAL_GRACE_MS,
        },
      },
      port.members().map((m) => m.id),
      this.clock.now(),
    );
    const members = port.members();
    for (const m of members) this.committedSeen.set(m.id, seenOf(m));
    this.statusCursor = this.currentTransitionSeq();
    this.auditedMembers = members;
  }

  /** The members kind's last transition seq; null when the port keeps no transitions. */
  private currentTransitionSeq(): number | null {
    return this.port.statusTransitions?.(Number.MAX_SAFE_INTEGER).seq ?? null;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const every = (ms: number, fn: () => void): void => {
      this.timers.push(
        this.clock.every(ms, () => {
          try {
            fn();
          } catch (err) {
            this.port.logger.error({ err }, 'membership driver step failed');
          }
        }),
      );
    };
    every(this.options.heartbeat.intervalMs, () => this.pingRound());
    every(Math.min(OBSERVE_EVERY_MS, this.options.heartbeat.intervalMs), () => this.tick());
    every(this.options.stateSyncIntervalMs, () => this.sync());
    this.pingRound();
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.splice(0)) t.cancel();
  }

  onHeartbeat(from: string, payload: Uint8Array): Uint8Array {
    const ctx = this.context();
    this.engine.setMembers(ctx.members.map((m) => m.id), ctx.now);
    // A peer the transport admitted that our applied membership does not hold yet: this node
    // joined and is still replaying the log, or has not applied the peer's add. Answered with
    // our view, its own not recorded: the pinger hears this node as soon as it runs, not once it
    // has caught up (a re-added member read offline for a second after it started). Its payload is
    // still decoded: a malformed one gets an error (ViewDecodeError), not our view.
    if (!this.engine.isMember(from)) {
      this.engine.noteOutsiderView(from, decodeHeartbeat(payload).view, ctx);
      return this.engine.viewPayload(ctx);
    }
    this.engine.receiveView(from, payload, ctx.now);
    return this.engine.viewPayload(ctx, from);
  }

  noteContact(from: string): void {
    this.engine.noteContact(from, this.clock.now());
  }

  onLeaderChange(leader: string | null, term: number): void {
    this.leaderTerm = leader === this.port.self ? term : null;
    // A new leader re-evaluates every member at once rather than at its next tick.
    if (this.leaderTerm !== null && !this.stopped) this.lead(this.context());
  }

  async reportStatus(member: string, status: MemberStatus, reason: string, reporter: string): Promise<boolean> {
    const ctx = this.context();
    const decision: StatusDecision = { id: member, status, reason: `${reason} (reported by ${reporter})` };
    if (ctx.leaderTerm === null || !this.engine.acceptCorrection(decision, ctx)) return false;
    const committed = ctx.members.find((m) => m.id === member)?.committed;
    if (committed === status) return false;
    const term = ctx.leaderTerm;
    await new Promise<void>((settled) => this.propose(decision, term, settled));
    return true;
  }

  onApplied(): void {
    this.auditCommittedChanges();
  }

  staleReason(): string {
    return this.engine.staleReason(this.context());
  }

  listControllers(): MembershipView {
    return this.engine.view(this.context());
  }

  /** When this node last heard from `peer` (MembershipEngine.lastContactAt), on this driver's clock. */
  lastContactAt(peer: string): number | null {
    return this.engine.lastContactAt(peer, this.clock.now());
  }

  // ---- the schedule --------------------------------------------------------------------------

  private context(): MembershipContext {
    const st = this.port.raftStatus();
    const voters = new Set(st.conf.voters);
    return {
      now: this.clock.now(),
      wallClockMs: this.clock.wallClockMs(),
      // A record no leader has decided yet (bootstrapped or just added) has no committed status.
      members: this.port.members().map((m) => ({ id: m.id, voter: voters.has(m.id), committed: m.statusTerm === 0 ? null : m.status })),
      lastLeaderContactAt: this.port.lastLeaderContactAt(),
      electionTimeoutMs: this.port.electionTimeoutMs,
      appliedIndex: st.applied,
      leaderTerm: this.leaderTerm !== null && st.role === 'leader' && st.term === this.leaderTerm ? this.leaderTerm : null,
      leader: st.leader,
    };
  }

  private pingRound(): void {
    if (this.stopped) return;
    const ctx = this.context();
    this.engine.setMembers(ctx.members.map((m) => m.id), ctx.now);
    this.reportUnheard(this.unheard.update(this.engine.unheardBy(ctx.now), ctx.now));
    const deadline = this.options.heartbeat.baseTimeoutMs;
    // One encoding for the whole round rather than one per peer.
    const payloadFor = this.engine.roundPayload(ctx);
    for (const peer of this.engine.peers()) {
      const sentAt = this.clock.now();
      this.port.ping(peer, payloadFor(peer), deadline).then(
        (pong) => {
          if (this.stopped) return;
          const now = this.clock.now();
          this.dialed(peer, sentAt);
          try {
            this.engine.receiveView(peer, pong.payload, now);
            this.engine.recordRtt(peer, now - sentAt, now);
            this.port.onRtt(peer, now - sentAt);
          } catch (err) {
            this.port.logger.warn({ err, peer }, 'ignored a malformed heartbeat answer');
          }
        },
        (err: unknown) => {
          // Unreachable or slow: the detector's timeout is the judge, not one failed ping. A
          // failure to reach the peer at its address at all is noted: no connection opens, or
          // another process answers there (a pong refused for its identity: a copy of the
          // member's data dir, another data dir, another cluster; or a refusal of the ping marked
          // as another member's or cluster's). The peer's own messages may arrive all the same,
          // on connections it opened.
          if (this.stopped) return;
          if (isUnreachableAtAddress(err)) {
            this.lastDialFailure.set(peer, err);
            this.engine.noteDialFailure(peer, sentAt);
          } else if (err instanceof TransportError && err.code === 'RPC_FAILED') {
            // Failed on an open connection (peer-link.ts pingError): our dials work, though this
            // ping was lost or the peer refused it. Only an answered ping ended a dial failure's
            // streak, so a member dialable again whose pings were lost stayed uncounted for good.
            // A pong refused for its identity is no such answer, nor a ping refused with the mark
            // of another member or cluster (not-addressee.ts): they fail as ANSWERED_BY_OTHER.
            this.dialed(peer, sentAt);
            this.engine.notePingUnanswered(peer, sentAt, this.clock.now());
          }
        },
      );
    }
  }

  private tick(): void {
    if (this.stopped) return;
    const ctx = this.context();
    this.engine.noteCommitted(ctx);
    for (const tr of this.engine.observe(ctx.now)) {
      this.port.logger.info({ peer: tr.peer, from: tr.from, to: tr.to, reason: tr.reason }, `local view: ${tr.peer} ${tr.to}`);
      if (tr.undialable === true) this.warnUndialable(tr.peer, ctx.now);
      this.port.onLocalTransition?.(tr);
    }
    // Push the news now instead of at the next round; the engine rate-limits pushes.
    if (this.engine.takePushRound(ctx.now)) this.pingRound();
    if (ctx.leaderTerm !== null) this.lead(ctx);
  }

  /** A ping to `peer` was answered: our dials work (again). */
  private dialed(peer: string, sentAt: number): void {
    this.engine.noteDialSuccess(peer, sentAt);
    this.lastDialFailure.delete(peer);
    if (this.warnedUndialable.delete(peer)) this.port.logger.info({ peer }, `${peer} can be dialled again: its messages count as contact again`);
  }

  /** Once per episode: the operator's clue to a member that reaches everyone and is reached by nobody. */
  private warnUndialable(peer: string, now: number): void {
    if (this.warnedUndialable.has(peer)) return;
    this.warnedUndialable.add(peer);
    const failure = this.lastDialFailure.get(peer);
    const address = failure?.address ?? 'its address';
    const failingForMs = Math.round(this.engine.undialable(peer, now)?.failingForMs ?? 0);
    const self = this.port.self;
    const running = `although its own messages arrive, so it is running: ${self} no longer counts it as heard`;
    if (failure instanceof AnsweredByOtherError) {
      this.port.logger.warn(
        { peer, address, error: failure.detail, refusal: failure.refusal, refusedAs: failure.notAddressee?.cause ?? null, failingForMs },
        `cannot dial ${peer} at ${address} for ${failingForMs}ms: another process answers there (${failure.detail}), ${running}. ` +
          `Check what listens at ${address} (${whatAnswers(peer, failure)}): ${peer} itself must accept connections there`,
      );
      return;
    }
    this.port.logger.warn(
      { peer, address, error: failure?.detail ?? null, failingForMs },
      `cannot dial ${peer} at ${address} for ${failingForMs}ms (${failure?.detail ?? 'no connection'}), ${running}. ` +
        `Check ${peer}'s listen address (it must accept connections at ${address}) and firewalls between ${self} and ${peer}`,
    );
  }

  /** The undialable member's side: once per episode, the peers it hears that do not hear it. */
  private reportUnheard(news: UnheardNews | null): void {
    if (news === null) return;
    const self = this.port.self;
    const who = news.peers.join(', ');
    if (news.type === 'heard-again') {
      this.port.logger.info({ peers: news.peers }, `${who} ${news.peers.length === 1 ? 'hears' : 'hear'} ${self} again`);
      return;
    }
    const address = this.port.members().find((m) => m.id === self)?.address || 'its address';
    const forMs = Math.round(news.forMs);
    const [does, their, they, them] = news.peers.length === 1 ? ['does', 'its', 'it', 'it'] : ['do', 'their', 'they', 'them'];
    this.port.logger.warn(
      { peers: news.peers, newly: news.newly, address, forMs },
      `${who} ${does} not hear ${self} (this node) for ${forMs}ms, though ${their} views reach ${self} on connections it opened: ` +
        `${they} cannot dial ${self} at ${address}, or what ${self} sends ${them} is lost. ` +
        `Check ${self}'s listen address (${this.options.listen === undefined ? 'it' : `it listens at ${this.options.listen}; it`} must accept connections at ${address}) and firewalls toward ${self}` +
        oddOneOut(news.peers.filter((p) => this.engine.hearsNoOtherMember(p, this.clock.now()))),
    );
  }

  private lead(ctx: MembershipContext): void {
    if (ctx.leaderTerm === null) return;
    for (const d of this.engine.lead(ctx)) this.propose(d, ctx.leaderTerm);
  }

  /** Proposes `d`; `settled` runs once the outcome is known, whatever it is. */
  private propose(d: StatusDecision, term: number, settled: () => void = () => undefined): void {
    const failed = (err: unknown): void => {
      // Lost leadership or timed out: the next leader decides again (level-triggered).
      this.port.logger.debug({ err, decision: d }, 'status proposal not committed');
      settled();
    };
    try {
      this.port.propose(d, this.clock.wallClockMs(), term).then((r) => {
        if (!r.ok && r.code !== 'IGNORED') this.port.logger.warn({ decision: d, result: r }, 'status proposal refused');
        settled();
      }, failed);
    } catch (err) {
      failed(err);
    }
  }

  private sync(): void {
    if (this.stopped) return;
    const ctx = this.context();
    const outcome = this.engine.sync(ctx);
    for (const e of outcome.events) this.port.audit(e);
    for (const d of outcome.corrections) {
      this.port.forwardCorrection(d).then(
        (accepted) => this.port.logger.info({ decision: d, accepted }, 'reconciler forwarded a correction to the leader'),
        (err: unknown) => this.port.logger.warn({ err, decision: d }, 'reconciler could not reach the leader'),
      );
    }
  }

  /**
   * Every node records each committed status change in its own audit trail, once, with the
   * time the deciding leader observed it. What was recorded is marked in the audit store
   * (`status/<member>` = the change's revision), so replaying the log after a restart records
   * nothing twice, and a node that joins records no history from before it was a member.
   */
  private auditCommittedChanges(): void {
    const members = this.port.members();
    // Most applies change no member (a put): the port gives the same list object until one
    // changes (MembershipPort.members), and a status change always changes its record.
    if (members === this.auditedMembers) return;
    this.auditedMembers = members;
    const isMember = members.some((m) => m.id === this.port.self);
    // Each transition in commit order, when the members kind keeps them: a node that applies a
    // member's offline and online in one batch (it was stalled) records both. Records are
    // compared instead at the start, after a snapshot install (the log starts again) and when
    // more transitions came than the log keeps.
    const cursor = this.statusCursor;
    const log = cursor === null ? null : (this.port.statusTransitions?.(cursor) ?? null);
    this.statusCursor = this.currentTransitionSeq();
    // A snapshot install starts the log again, below our cursor.
    if (log !== null && cursor !== null && !log.missed && log.seq >= cursor) {
      for (const t of log.items) {
        if (isMember && t.from !== t.to) this.auditStatus(t.id, t.from, t.to, t.reason, t.observedAt, t.mark);
      }
      for (const m of members) this.committedSeen.set(m.id, seenOf(m));
      return;
    }
    for (const m of members) {
      const seen = this.committedSeen.get(m.id);
      const now = seenOf(m);
      if (seen !== undefined && seen.mark === now.mark) continue;
      this.committedSeen.set(m.id, now);
      if (seen === undefined || !isMember) continue;
      const from = seen.decided ? seen.status : 'unknown';
      if (from === m.status) continue;
      this.auditStatus(m.id, from, m.status, m.statusReason, m.statusObservedAt, now.mark);
    }
  }

  /** Records one committed change, unless the audit trail already holds it (a replay after a restart). */
  private auditStatus(id: string, from: MemberStatus | 'unknown', to: MemberStatus, reason: string, observedAt: number, mark: string): void {
    const key = `status/${id}`;
    const recorded = this.port.auditMark?.(key);
    if (recorded !== undefined && compareMarks(mark, recorded) <= 0) return;
    const at = observedAt > 0 ? observedAt : this.clock.wallClockMs();
    this.port.audit(auditEvent(at, this.port.self, 'member.status', { subject: id, from, to, reason }), { [key]: mark });
  }
}

interface SeenStatus {
  readonly status: MemberStatus;
  /** A leader has decided it (a record starts undecided: term 0). */
  readonly decided: boolean;
  /** Orders the record's changes: the Raft index of its last change, and whether it was decided. */
  readonly mark: string;
}

function seenOf(m: MemberRecord): SeenStatus {
  const decided = m.statusTerm > 0;
  return { status: m.status, decided, mark: `${m.statusSince}.${decided ? 1 : 0}` };
}

/** Orders two marks of seenOf: negative when `a` came first. */
export function compareMarks(a: string, b: string): number {
  const [ar = 0, ad = 0] = a.split('.').map(Number);
  const [br = 0, bd = 0] = b.split('.').map(Number);
  return ar !== br ? ar - br : ad - bd;
}
