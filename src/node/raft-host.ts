/**
 * The driver around the deterministic core, and the only Ready loop: production runs it on
 * real timers, LevelDB and the gRPC transport; the simulations (test/sim/) run this same class
 * on simulated time, an in-memory disk that loses unsynced writes on a crash, and a simulated
 * network. Everything it needs from outside comes through the ports of raft-ports.ts and a
 * Scheduler.
 *
 * One loop carries out Readys strictly in the order ready.ts documents. While a Ready's write
 * is in flight, new messages and proposals keep stepping into the core, and the next Ready
 * picks them all up: that is the group commit, one fsync for every proposal that arrived
 * meanwhile. The loop continues from the write's completion callback (never `await`), so in
 * the simulation a write completes at an instant the seeded schedule chooses, and a crash can
 * land between a leader's send and its write.
 */
import type { Logger } from 'pino';
import { type ConfEntry, type LogPosition, type Message, RawNode, RaftError, type Ready, type NodeStatus } from '../raft/index.js';
import { MemoryStorage } from '../raft/storage.js';
import type { ConfState, Entry, HardState, NodeId, SnapshotMeta, SoftState } from '../raft/types.js';
import type { ApplyResult } from '../statemachine/index.js';
import type { PersistedState } from '../storage/level-raft-storage.js';
import type { Scheduler, Timer } from '../util/clock.js';
import type { Completion } from '../util/completion.js';
import type { Rng } from '../util/rng.js';
import { trace, traceMilestone, tracing } from '../util/trace.js';
import { HostError, type ConsensusPort } from '../api/consensus-port.js';
import { WaitMap, type Waiter } from './pending.js';
import { LocalSnapshots } from './local-snapshots.js';
import { QuorumAcks } from './quorum-acks.js';
import type { RaftStorage, ReplicatedStateMachine, SendMessages, SendUrgency } from './raft-ports.js';

export interface RaftTiming {
  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMs: number;
  readonly snapshotThreshold: number;
  /** A snapshot is also taken once this many bytes of entries were applied since the last one. */
  readonly snapshotThresholdBytes: number;
  readonly trailingLogs: number;
  readonly maxInflight: number;
  readonly maxMessageBytes: number;
  /** Bytes of entries the leader holds uncommitted before it refuses proposals (raft.max_uncommitted_bytes); absent: no bound. */
  readonly maxUncommittedBytes?: number;
}

/** Election timeouts of its own write during which a leader still sends heartbeats (sendHeartbeatsWhileWriting). */
export const HEARTBEATS_WHILE_WRITING_ELECTIONS = 2;

/** How long a read waits for its read index before asking the leader again. */
const READ_INDEX_RETRY_MS = 500;
export interface RaftHostOptions {
  readonly id: NodeId;
  readonly timing: RaftTiming;
  readonly storage: RaftStorage;
  /** What `storage` held at start. */
  readonly persisted: PersistedState;
  readonly stateMachine: ReplicatedStateMachine;
  /** The state-machine command a membership change carries; null: none (the entry is advanced over). */
  readonly confCommand: (change: ConfEntry) => Uint8Array | null;
  readonly scheduler: Scheduler;
  readonly rng: Rng;
  /**
   * Names this run of the process, different after every restart: a read's context carries
   * it, so an answer to a read asked before a restart (still in flight, or a duplicate) never
   * serves a read asked after it, which counts from 1 again (found by the simulation, seed
   * 403864).
   */
  readonly run: string;
  readonly logger: Logger;
  readonly send: SendMessages;
  readonly onSoftState?: (s: SoftState, term: number) => void;
  /** Called once per change of leader (including to "no leader"), for the audit trail. */
  readonly onLeaderChanged?: (from: NodeId | null, to: NodeId | null, term: number) => void;
  /** A conf entry was applied: the change, and the configuration the core now has. */
  readonly onConfApplied?: (change: ConfEntry, conf: ConfState) => void;
  /** The state machine was replaced by a snapshot from the leader. */
  readonly onSnapshotRestored?: (meta: SnapshotMeta) => void;
  /** The state machine could not be serialized for a snapshot (the log is kept; see LocalSnapshots). */
  readonly onSnapshotFailed?: (err: Error) => void;
  /** After a batch of committed entries (or a snapshot) is applied, before any waiter resumes. */
  readonly onApplied?: () => void;
  /** Every proposal's outcome, for metrics. */
  readonly onProposalDone?: (committed: boolean) => void;
  /** The loop has taken every Ready there was and waits for no write: nothing more will be
   * sent until new input arrives (the transport then releases the acks it held for answers). */
  readonly onSettled?: () => void;
  /** Called when durability is lost (a failed fsync): the process must stop, as etcd does. */
  readonly onFatal: (err: Error) => void;
  /** Whether this node's own vote may count now (RaftConfig.mayCampaign: the identity layer's vote rules); absent: always. */
  readonly mayCampaign?: () => boolean;
  /** Bytes of committed entries applied per Ready (default 16 MiB). */
  readonly maxApplyBytes?: number;
  /**
   * etcd's initial election tick advance (default true): a node that has never known a leader
   * counts most of its first election timeout as already passed once it hears from enough
   * peers to form a quorum (a single voter at once), so a fresh cluster or a restarted single
   * node elects in a fraction of a timeout instead of one to two. Two ticks are left for a
   * leader's heartbeat to arrive first; pre-vote keeps an early campaign from disrupting one.
   */
  readonly initialElectionAdvance?: boolean;
}

interface ProposalMeta {
  readonly term: number;
}

/**
 * One Raft tick per heartbeat interval, as etcd does (100 ms by default): a heartbeat is due
 * every tick, and a randomized election timeout of [E, 2E) still has ten steps at the
 * defaults. Half-interval ticks woke an idle controller ten more times a second for nothing.
 */
export function raftTickMs(heartbeatIntervalMs: number): number {
  return Math.max(5, Math.floor(heartbeatIntervalMs));
}

export class RaftHost implements ConsensusPort {
  readonly id: NodeId;
  readonly tickMs: number;
  private readonly raw: RawNode;
  private readonly mem: MemoryStorage;
  private readonly clock: Scheduler;
  private readonly proposals: WaitMap<number, ApplyResult, ProposalMeta>;
  /** Proposals refused since start because the leader held its bound of uncommitted bytes. */
  proposalsDropped = 0;
  /**
   * Reads by context: `index` is the read index once the leader confirmed it (+Infinity until
   * then), `askedAt` when this node last asked for it.
   */
  private readonly reads: WaitMap<string, number, { index: number; askedAt: number }>;
  private readSeq = 0;
  /** A write the loop waits for is in flight: no further Ready is taken until it completes. */
  private busy = false;
  /** Ticks since the write the loop waits for was issued. */
  private busyTicks = 0;
  private scheduled = false;
  private scheduledAsap = false;
  /** stop() was called: finish the Ready in progress, take no new one. */
  private stopping = false;
  private stopped = false;
  private readonly idleWaiters: Array<() => void> = [];
  private ticker: Timer | null = null;
  private soft: SoftState = { leader: null, role: 'follower' };
  private readonly snapshots: LocalSnapshots;
  private readonly leaderWaiters = new Set<() => void>();
  private lastLeaderContact: number | null = null;
  /** The term this node leads in, while it does (lastLeaderContact on stepping down). */
  private ledTerm: number | null = null;
  private commitSeen = 0;
  private stallSince: number | null = null;
  /** A leader's quorum contact, reckoned at the send times of what its peers acknowledge. */
  private readonly acks: QuorumAcks;
  private readonly electionTicks: number;
  /** Peers heard from before any leader was known, while the initial advance may still happen. */
  private earlyPeers: Set<NodeId> | null;
  /** The hard state of the last Ready written. */
  private hard: HardState;
  /** Its storage held nothing at this start (a new data dir): ENTRIES_LOST then says so. */
  private readonly startedEmpty: boolean;

  constructor(private readonly opts: RaftHostOptions) {
    this.id = opts.id;
    this.clock = opts.scheduler;
    this.proposals = new WaitMap(opts.scheduler, 'its outcome is unknown');
    this.reads = new WaitMap(opts.scheduler, 'nothing was read or changed: ask again');
    const { persisted, timing } = opts;
    this.tickMs = raftTickMs(timing.heartbeatIntervalMs);
    const heartbeatTicks = Math.max(1, Math.round(timing.heartbeatIntervalMs / this.tickMs));
    const electionTicks = Math.max(heartbeatTicks + 1, Math.round(timing.electionTimeoutMs / this.tickMs));
    this.electionTicks = electionTicks;
    this.earlyPeers = opts.initialElectionAdvance === false ? null : new Set();
    this.mem = new MemoryStorage(persisted.snapshot?.meta.conf ?? { voters: [], learners: [] });
    if (persisted.snapshot) {
      this.mem.applySnapshot(persisted.snapshot);
      opts.stateMachine.restore(persisted.snapshot.data);
    }
    this.startedEmpty = persisted.snapshot === null && persisted.entries.length === 0 && persisted.hardState.term === 0;
    this.mem.append(persisted.entries);
    this.mem.setHardState(persisted.hardState);
    this.hard = persisted.hardState;
    this.acks = new QuorumAcks(2 * timing.electionTimeoutMs);
    this.raw = new RawNode({
      id: opts.id,
      storage: this.mem,
      rng: opts.rng,
      electionTicks,
      heartbeatTicks,
      applied: persisted.snapshot?.meta.index ?? 0,
      maxMessageBytes: Math.floor(timing.maxMessageBytes / 2),
      maxInflight: timing.maxInflight,
      maxApplyBytes: opts.maxApplyBytes ?? 16 * 1024 * 1024,
      maxUncommittedBytes: timing.maxUncommittedBytes ?? 0,
      ...(opts.mayCampaign === undefined ? {} : { mayCampaign: opts.mayCampaign }),
    });
    this.snapshots = new LocalSnapshots({
      thresholds: timing,
      stateMachine: opts.stateMachine,
      storage: opts.storage,
      mem: this.mem,
      clock: this.clock,
      logger: opts.logger,
      conf: () => this.raw.status().conf,
      halted: () => this.stopped || this.stopping,
      writing: () => this.busy,
      ...(opts.onSnapshotFailed === undefined ? {} : { onFailed: opts.onSnapshotFailed }),
      fail: (err) => this.fail(err),
    });
  }

  start(): void {
    if (this.ticker !== null || this.stopped) return;
    this.ticker = this.clock.every(this.tickMs, () => {
      if (this.stopped) return;
      // A lone voter (its configuration applied by now) has no one to wait for.
      if (this.earlyPeers !== null && this.aloneVoter()) this.advanceFirstElection(this.electionTicks - 1);
      this.raw.tick();
      this.sendHeartbeatsWhileWriting();
      this.askAgainForReadIndexes();
      this.schedule();
    });
    this.schedule();
  }

  /**
   * A peer's membership heartbeat arrived: it is up. Before any leader is known, once this
   * node and the peers it heard from are a quorum, its first election timeout is mostly spent
   * (initialElectionAdvance).
   */
  notePeerAlive(from: NodeId): void {
    if (this.earlyPeers === null || this.stopped || this.ticker === null) return;
    const voters = this.raw.conf().voters;
    if (from === this.id || !voters.includes(from) || !voters.includes(this.id)) return;
    this.earlyPeers.add(from);
    const heard = [...this.earlyPeers].filter((p) => voters.includes(p)).length;
    if (heard + 1 >= Math.floor(voters.length / 2) + 1) this.advanceFirstElection(this.electionTicks - 2);
  }

  private aloneVoter(): boolean {
    const voters = this.raw.conf().voters;
    return voters.length === 1 && voters[0] === this.id;
  }

  private advanceFirstElection(ticks: number): void {
    if (this.earlyPeers === null) return;
    this.earlyPeers = null;
    this.opts.logger.debug({ ticks }, 'first election timeout advanced');
    if (tracing) trace('raft.advance', ticks);
    for (let i = 0; i < ticks; i++) this.raw.tick();
    this.schedule();
  }

  // ---- inputs ----------------------------------------------------------------------------

  step(m: Message): void {
    if (this.stopped) return;
    try {
      this.raw.step(this.acks.incoming(m));
    } catch (err) {
      if (err instanceof RaftError && err.code === 'DIVERGED') {
        this.stopDiverged(m.from, err);
        return;
      }
      if (err instanceof RaftError && err.code === 'ENTRIES_LOST') {
        this.stopEntriesLost(m.from, err);
        return;
      }
      throw err;
    }
    // A peer's message: at once. An AppendResp commits and answers clients; an Append starts
    // the follower's write; either way what the Ready writes is flushed this turn.
    this.schedule(true);
  }

  /**
   * The leader's log lacks entries this node committed. Going on would leave this node wedged
   * behind a leader it cannot follow, answering reads from a state the cluster no longer has;
   * stopping keeps the writes the cluster lost in this data dir and makes the fault loud.
   */
  private stopDiverged(leader: NodeId, err: RaftError): void {
    const message =
      `${err.message}. Writes the cluster acknowledged are in this node's data dir and missing from ${leader}'s log: ` +
      'a quorum lost them (a member restored from an older copy of its data dir, or one that lost its disk, while this node was away). ' +
      "This node stops so that they are kept: copy its data dir before anything else, then rebuild it as a member (operate.md, 'Rebuilding a lost member')";
    this.opts.logger.fatal({ code: 'DIVERGED', leader }, message);
    this.shutdownNow(new HostError('SHUTTING_DOWN', `${this.id} stopped: its committed log differs from the leader's`));
    this.opts.onFatal(new RaftError('DIVERGED', message));
  }

  /**
   * This data dir lacks entries it acknowledged (restored from an older copy of itself, or a
   * disk that lost synced writes). Its vote could elect a leader without them, and nothing in
   * its identity tells it from the data dir that acknowledged them: it stops, as etcd does.
   */
  private stopEntriesLost(leader: NodeId, err: RaftError): void {
    const whose = this.startedEmpty
      ? 'this data dir was empty at this start: the member lost the data dir that acknowledged them (most often a disk lost moments after it first joined, before the cluster recorded its data dir)'
      : 'this data dir is older than the one that acknowledged them (restored from an older copy, or its disk lost synced writes)';
    const message =
      `${err.message}: ${whose}. ` +
      'Were it to vote, it could elect a leader without writes the cluster acknowledged. It stops; rebuild it as a member ' +
      "(operate.md, 'Rebuilding a lost member'); never restore a member's data dir from a copy";
    this.opts.logger.fatal({ code: 'ENTRIES_LOST', leader }, message);
    this.shutdownNow(new HostError('SHUTTING_DOWN', `${this.id} stopped: its log lacks entries it acknowledged`));
    this.opts.onFatal(new RaftError('ENTRIES_LOST', message));
  }

  /** The transport delivered a message from `from`: a follower's contact with its leader. */
  noteMessageFrom(from: NodeId): void {
    if (from === this.soft.leader) this.lastLeaderContact = this.clock.now();
  }

  /**
   * Monotonic ms of this node's last proof of being connected to the cluster: for a follower,
   * the last message from its leader; for a leader, the latest instant at which a quorum of
   * voters (itself included) had acknowledged it, counted at the send time of what they
   * acknowledged (quorum-acks.ts), so that answers read late after a stall count as old.
   * null: never.
   */
  lastLeaderContactAt(): number | null {
    const { role, term } = this.raw.position();
    if (role !== 'leader') return this.lastLeaderContact;
    return this.acks.quorumAt(this.id, this.raw.conf().voters, term, this.clock.now());
  }

  reportUnreachable(id: NodeId): void {
    if (this.stopped) return;
    this.raw.reportUnreachable(id);
    this.schedule();
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    if (this.stopped) return;
    this.raw.reportSnapshot(id, ok);
    this.schedule();
  }

  /** Proposes a state-machine command on this node (which must be the leader) and waits for it to apply. */
  propose(data: Uint8Array, timeoutMs: number): Promise<ApplyResult> {
    return new Promise((resolve, reject) => {
      this.startProposal(data, timeoutMs, { resolve, reject });
    });
  }

  /**
   * propose() without the Promise: `done` hears the outcome. Throws at once when the node
   * refuses (not the leader, a transfer in progress); returns where the entry landed.
   */
  startProposal(data: Uint8Array, timeoutMs: number, done: Waiter<ApplyResult>): { index: number; term: number } {
    const at = this.callCore(() => this.raw.propose(data));
    if (tracing) trace('propose', at.index);
    this.schedule();
    const report = this.opts.onProposalDone;
    this.proposals.add(at.index, { term: at.term }, timeoutMs, `proposal at index ${at.index}`, {
      resolve: (r) => {
        report?.(true);
        done.resolve(r);
      },
      reject: (err) => {
        report?.(false);
        done.reject(err);
      },
    });
    return at;
  }

  proposeConfChange(change: ConfEntry, timeoutMs: number): Promise<ApplyResult> {
    return new Promise((resolve, reject) => {
      this.startConfChange(change, timeoutMs, { resolve, reject });
    });
  }

  /** proposeConfChange() without the Promise, as startProposal. */
  startConfChange(change: ConfEntry, timeoutMs: number, done: Waiter<ApplyResult>): { index: number; term: number } {
    const at = this.callCore(() => this.raw.proposeConfChange(change));
    this.schedule();
    this.proposals.add(at.index, { term: at.term }, timeoutMs, `membership change at index ${at.index}`, done);
    return at;
  }

  /** Resolves once this node's state machine reflects every write committed before the call. */
  readBarrier(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.startRead(timeoutMs, { resolve: () => resolve(), reject });
    });
  }

  /** readBarrier() without the Promise: `done` hears the read index, once it is applied here. */
  startRead(timeoutMs: number, done: Waiter<number>): void {
    const context = `${this.id}:${this.opts.run}:${++this.readSeq}`;
    this.callCore(() => this.raw.readIndex(context));
    this.schedule();
    this.reads.add(context, { index: Number.POSITIVE_INFINITY, askedAt: this.clock.now() }, timeoutMs, 'linearizable read', done);
  }

  /**
   * A ReadIndex request or its answer may be lost like any Raft message (a link that is still
   * reconnecting to a restarted leader drops its batch). Without another ask the read would
   * wait out its whole deadline while the cluster is healthy, so a read still without its index
   * asks again every READ_INDEX_RETRY_MS, with the same context (etcd retries every 500 ms).
   * The leader takes its commit index when the ask arrives, never older than at the first ask,
   * so the read stays linearizable; a duplicate answer only sets the same read's index again.
   */
  private askAgainForReadIndexes(): void {
    const now = this.clock.now();
    for (const [context, meta] of this.reads.entries()) {
      if (meta.index !== Number.POSITIVE_INFINITY || now - meta.askedAt < READ_INDEX_RETRY_MS) continue;
      meta.askedAt = now;
      try {
        this.callCore(() => this.raw.readIndex(context));
      } catch (err) {
        // No leader now: the read fails as a leader change fails it, and the caller retries.
        if (!(err instanceof HostError)) throw err;
        this.reads.reject(context, err);
      }
    }
  }

  transferLeadership(to: NodeId): void {
    this.callCore(() => this.raw.transferLeadership(to));
    this.schedule();
  }

  campaign(): void {
    if (this.stopped) return;
    this.raw.campaign();
    this.schedule();
  }

  private callCore<T>(f: () => T): T {
    if (this.stopped || this.stopping) throw new HostError('SHUTTING_DOWN', `${this.id} is shutting down`);
    try {
      return f();
    } catch (err) {
      if (err instanceof RaftError && err.code === 'NOT_LEADER') {
        throw new HostError(err.leaderHint ? 'NOT_LEADER' : 'NO_LEADER', err.message, err.leaderHint);
      }
      if (err instanceof RaftError && err.code === 'PROPOSAL_DROPPED') this.proposalsDropped++;
      throw err;
    }
  }

  // ---- observation -----------------------------------------------------------------------

  /** The configuration in force (status().conf), for what runs per tick or per message: status() copies progress. */
  conf(): ConfState {
    return this.raw.conf();
  }

  status(): NodeStatus {
    return this.raw.status();
  }

  /** The commit index if the leader of this node's term vouched for it (Raft.vouchedCommit); else null. */
  vouchedCommit(): number | null {
    return this.raw.vouchedCommit();
  }

  /** Whether every entry beyond the bootstrap is of one term, no later one heard from another node (Raft.onlyTermBeyondBootstrap). */
  onlyTermBeyondBootstrap(): boolean {
    return this.raw.onlyTermBeyondBootstrap();
  }

  /** Term, role, commit and last index: for what runs per message (status() copies progress). */
  position(): LogPosition {
    return this.raw.position();
  }

  softState(): SoftState {
    return this.soft;
  }

  snapshotIndex(): number {
    return this.mem.snapshot().meta.index;
  }

  /** Bytes of entries this node, as leader, appended in its term and has not committed. */
  uncommittedBytes(): number {
    return this.raw.uncommittedBytes();
  }

  /** Bytes of log entries held in memory: those since the latest snapshot and those it kept. */
  logMemoryBytes(): number {
    return this.mem.heldBytes();
  }

  /** Ms a leader has held entries it has not committed, its commit index not moving; 0 if none. */
  commitStallMs(): number {
    return this.stallSince === null ? 0 : this.clock.now() - this.stallSince;
  }

  /** A leader with uncommitted entries starts the stall clock; any commit progress restarts it. */
  private trackCommit(): void {
    const { role, commit, lastIndex } = this.raw.position();
    const moved = commit !== this.commitSeen;
    this.commitSeen = commit;
    if (role !== 'leader' || commit >= lastIndex) this.stallSince = null;
    else if (moved || this.stallSince === null) this.stallSince = this.clock.now();
  }

  /** Waits until some node is known as leader (or the deadline passes). */
  async waitForLeader(timeoutMs: number): Promise<NodeId | null> {
    const deadline = this.clock.now() + timeoutMs;
    while (this.soft.leader === null && this.clock.now() < deadline && !this.stopped) {
      await this.waitForSoftChange(deadline - this.clock.now());
    }
    return this.soft.leader;
  }

  // ---- the Ready loop --------------------------------------------------------------------

  /**
   * Takes the next Readys after the current event (`urgent`: a peer's message), or after
   * whatever else is waiting (proposals, ticks): the proposals of many clients that arrive
   * together then share one Ready and one fsync.
   */
  private schedule(urgent = false): void {
    if (this.busy || this.stopped) return;
    if (urgent && this.clock.asap !== undefined) {
      if (this.scheduledAsap) return;
      this.scheduledAsap = true;
      this.clock.asap(() => {
        this.scheduledAsap = false;
        this.drain();
      });
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    this.clock.soon(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  /** Takes Readys until there is none, or one waits for its write. */
  private drain(): void {
    try {
      while (!this.busy && !this.stopped && !this.stopping && this.raw.hasReady()) this.takeReady();
      if (!this.busy) this.snapshots.storeIfSerialized();
    } catch (err) {
      this.fail(err);
    }
    if (!this.busy) {
      this.settleIdle();
      this.opts.onSettled?.();
    }
  }

  private takeReady(): void {
    const rd = this.raw.ready();
    if (tracing) trace('ready', `entries=${rd.entries.length} committed=${rd.committedEntries.length} messages=${rd.messages.length} sync=${rd.mustSync}`);
    // Thesis §10.2.1: a leader may send its entries while it writes them (etcd does too).
    // Its term and vote are already durable: a leader never changes them. The core counts the
    // leader's own entries towards commit at once, but nothing acts on a commit (applying,
    // answering clients, telling followers) before a later Ready, and this loop takes the
    // next Ready only once this one's write has completed (ready.ts, rule 2). The seeded
    // simulation checks this: its writes complete at instants of the schedule, crashes land
    // between the send and the completion, and test/sim/sim.test.ts plants the bug.
    // Only a leader whose term and vote are already on disk: a node that wins an election in
    // the same Ready as its new term (a single voter) must persist the term before it speaks.
    const leading = (rd.softState?.role ?? this.soft.role) === 'leader' && !this.changesTermOrVote(rd);
    if (rd.hardState !== null) this.hard = rd.hardState;
    // A Ready that only commits answers clients once applied; its messages (the commit notices)
    // are needed by no one waiting, and may go after those answers.
    if (leading) this.send(rd.messages, rd.entries.length === 0 && rd.snapshot === null && rd.committedEntries.length > 0 ? 'after-answers' : 'now');
    if (rd.mustSync || rd.snapshot !== null) {
      this.waitFor(this.persist(rd, true), () => this.carryOut(rd, leading));
      return;
    }
    // Only the commit index moved: nothing anyone waits for, and storage may hold it back until
    // its next write. A crash may lose it; the commit index is then learned again from the
    // leader. Except when it commits a membership change: a node that restarts without it does
    // not know its configuration, which it may need to elect the leader that would tell it.
    // The commit index that covers the change may have come in an earlier Ready (the core hands
    // out committed entries a batch at a time) and be held by storage still: a synced write of
    // nothing writes it (identity seed 104822: two survivors restarted without the change that
    // made them a quorum, and neither could be elected). And the change is applied only once
    // that write is durable: applied at once, a power cut within the fsync put the node back in
    // the old configuration after it had acted in the new one (counted votes, answered as a
    // member). A leader has sent this Ready's commit notices already; they need nothing of its
    // disk (the commit is a quorum's), and while it waits its ticks still send heartbeats, in the
    // old configuration, as while any write of its own (sendHeartbeatsWhileWriting).
    if (rd.committedEntries.some((e) => e.kind === 'conf')) {
      this.waitFor(this.persist(rd, true), () => this.carryOut(rd, leading));
      return;
    }
    if (rd.hardState !== null || rd.entries.length > 0) this.persist(rd, false).then(() => undefined, (err) => this.fail(err));
    this.carryOut(rd, leading);
  }

  /** Hands messages to the transport; heartbeats and votes are stamped with their send time first. */
  private send(msgs: readonly Message[], urgency: SendUrgency): void {
    this.opts.send(this.acks.outgoing(msgs, this.clock.now()), urgency);
  }

  private changesTermOrVote(rd: Ready): boolean {
    return rd.hardState !== null && (rd.hardState.term !== this.hard.term || rd.hardState.vote !== this.hard.vote);
  }

  /** The rest of a Ready once its write is done (or, for a commit-only one that applies no membership change, issued). */
  private carryOut(rd: Ready, leading: boolean): void {
    if (tracing) trace('carry-out');
    if (!leading) this.send(rd.messages, 'now');
    this.apply(rd);
    this.raw.advance(rd);
    this.serveReads();
    if (rd.softState) this.onSoftState(rd.softState);
    this.trackCommit();
    this.snapshots.maybeStart();
  }

  /**
   * A leader waiting for its own write takes no Ready, so the heartbeats its ticks queue would
   * wait for the write too: a write held up by a burst of large entries (0.7-1 s on a loaded
   * host, attack round 11) left the followers without a word for their whole election timeout,
   * and they elected another leader. The heartbeats go now instead (RawNode.takeHeartbeats caps
   * their commit at what the leader has written). Only for the write's first
   * HEARTBEATS_WHILE_WRITING_ELECTIONS election timeouts (a burst's writes took up to 1.6 s on a
   * loaded host): a disk that hangs must still cost the leader its term, so that another leader
   * takes over, after three to four election timeouts instead of one to two.
   */
  private sendHeartbeatsWhileWriting(): void {
    if (!this.busy || this.stopping) return;
    // Counted in ticks, as the followers count their timeouts.
    if (++this.busyTicks > HEARTBEATS_WHILE_WRITING_ELECTIONS * this.electionTicks) return;
    const heartbeats = this.raw.takeHeartbeats();
    if (heartbeats.length > 0) this.send(heartbeats, 'now');
  }

  /** Holds the loop until `c` completes, then runs `next` and carries on. */
  private waitFor(c: Completion<void>, next: () => void): void {
    this.busy = true;
    this.busyTicks = 0;
    c.then(
      () => {
        this.busy = false;
        if (this.stopped) return this.settleIdle();
        try {
          next();
        } catch (err) {
          this.fail(err);
          return;
        }
        this.drain();
      },
      (err) => {
        this.busy = false;
        this.fail(err);
      },
    );
  }

  /**
   * Issues the Ready's write, and mirrors it into `mem` at once: the core reads its log from
   * `mem` once advance() has moved the entries out of its unstable part. What the loop waits
   * for before acting is the returned completion (durable when `sync`), not the mirror.
   */
  private persist(rd: Ready, sync: boolean): Completion<void> {
    const written = this.opts.storage.save({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot }, sync);
    if (rd.snapshot) this.mem.applySnapshot(rd.snapshot);
    this.mem.append(rd.entries);
    if (rd.hardState) this.mem.setHardState(rd.hardState);
    return written;
  }

  private apply(rd: Ready): void {
    const sm = this.opts.stateMachine;
    if (rd.snapshot) {
      this.snapshots.restored();
      sm.restore(rd.snapshot.data);
      this.opts.onSnapshotRestored?.(rd.snapshot.meta);
    }
    const results: [Entry, ApplyResult][] = [];
    for (const e of rd.committedEntries) {
      if (e.index <= sm.appliedIndex) continue;
      this.snapshots.applied(e.data.length);
      results.push([e, this.applyEntry(e)]);
    }
    if (rd.snapshot || results.length > 0) this.opts.onApplied?.();
    for (const [e, result] of results) {
      const waiting = this.proposals.get(e.index);
      if (waiting === undefined) continue;
      if (waiting.term === e.term) this.proposals.resolve(e.index, result);
      else this.proposals.reject(e.index, new HostError('NOT_LEADER', `entry ${e.index} was replaced by a newer leader; retry`));
    }
    for (const rs of rd.readStates) {
      const read = this.reads.get(rs.context);
      if (read !== undefined) read.index = rs.index;
    }
  }

  private applyEntry(e: Entry): ApplyResult {
    const sm = this.opts.stateMachine;
    switch (e.kind) {
      case 'normal':
        return sm.apply(e.index, e.data, e);
      case 'noop':
        sm.advance(e.index, e);
        return { ok: true, revision: sm.revision() };
      case 'conf': {
        // The core switches configuration as the entry is applied and reports the result.
        const { change, conf } = this.raw.applyConfChange(e);
        const command = change === null ? null : this.opts.confCommand(change);
        let result: ApplyResult;
        if (command === null) {
          sm.advance(e.index, e);
          result = { ok: true, revision: sm.revision() };
        } else {
          result = sm.apply(e.index, command, e);
        }
        if (change !== null) this.opts.onConfApplied?.(change, conf);
        return result;
      }
    }
  }

  private serveReads(): void {
    const applied = this.opts.stateMachine.appliedIndex;
    for (const [ctx, meta] of this.reads.entries()) {
      if (meta.index <= applied) this.reads.resolve(ctx, meta.index);
    }
  }

  private onSoftState(s: SoftState): void {
    const prev = this.soft;
    // Stepping down: the time this node led was time with a leader. Its last contact is when a
    // quorum last acknowledged it, not the last message it had from another leader before it
    // led, which made a leader that stepped down after a minute say it had had no leader for one.
    if (prev.role === 'leader' && s.role !== 'leader' && this.ledTerm !== null) {
      this.lastLeaderContact = this.acks.quorumAt(this.id, this.raw.conf().voters, this.ledTerm, this.clock.now()) ?? this.lastLeaderContact;
    }
    if (prev.role === 'leader' && s.role !== 'leader') this.failProposalsOfLostTerm(this.ledTerm, s.leader);
    this.ledTerm = s.role === 'leader' ? this.raw.status().term : null;
    this.soft = s;
    if (tracing) traceMilestone('raft.soft', `${s.role} ${s.leader ?? '-'} ${this.raw.status().term}`);
    if (s.leader !== null) this.earlyPeers = null;
    if (prev.leader !== s.leader) {
      if (s.leader !== null && s.leader !== this.id) this.lastLeaderContact = this.clock.now();
      this.opts.onLeaderChanged?.(prev.leader, s.leader, this.raw.status().term);
      // Reads in flight through the old leader will never be answered: fail them now so
      // clients retry against the new one instead of waiting out their deadline.
      this.reads.rejectAll(new HostError(s.leader ? 'NOT_LEADER' : 'NO_LEADER', 'leader changed during the read; retry', s.leader));
    }
    for (const w of [...this.leaderWaiters]) w();
    this.leaderWaiters.clear();
    this.opts.onSoftState?.(s, this.raw.status().term);
  }

  /**
   * This node stopped leading: its proposals still waiting will not be answered by it. Their
   * entries may yet commit under the new leader, or be overwritten by it; waiting for the entry
   * at their index kept them waiting until the client's deadline when no entry came (an idle
   * cluster), up to minutes. They fail now with their outcome unknown, and the client retries
   * with its exactly-once id, as etcd fails them with "leader changed".
   */
  private failProposalsOfLostTerm(term: number | null, leader: NodeId | null): void {
    for (const [index] of this.proposals.entries()) {
      const message =
        `outcome unknown: leadership changed (${this.id} stopped leading term ${term ?? '?'} with the proposal at index ${index} waiting to commit; ` +
        `it may yet commit under ${leader === null ? 'the next leader' : `leader ${leader}`}); retry with the same client ref`;
      this.proposals.reject(index, new HostError('LEADERSHIP_LOST', message, leader));
    }
  }

  private fail(cause: unknown): void {
    const err = cause instanceof Error ? cause : new Error(String(cause));
    if (this.stopped) return;
    this.opts.logger.fatal({ err }, 'raft loop failed; stopping this node to keep its promises');
    this.shutdownNow(new HostError('STORAGE_FAILED', `storage failed: ${err.message}`));
    this.opts.onFatal(err);
  }

  // ---- shutdown --------------------------------------------------------------------------

  /** Hands leadership to the most up-to-date voter, waiting at most one election timeout. */
  async handOffLeadership(): Promise<NodeId | null> {
    const st = this.raw.status();
    if (st.role !== 'leader') return null;
    let best: NodeId | null = null;
    let bestMatch = -1;
    for (const [id, pr] of st.progress) {
      if (id === this.id || pr.learner || !st.conf.voters.includes(id)) continue;
      if (pr.match > bestMatch) {
        best = id;
        bestMatch = pr.match;
      }
    }
    if (best === null) return null;
    this.transferLeadership(best);
    const deadline = this.clock.now() + this.opts.timing.electionTimeoutMs;
    while (this.clock.now() < deadline && (this.soft.leader === this.id || this.soft.leader === null)) {
      await this.waitForSoftChange(deadline - this.clock.now());
    }
    return this.soft.leader !== this.id ? this.soft.leader : null;
  }

  /** Resolves at the next change of leader or role, or after `timeoutMs`. */
  private waitForSoftChange(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.leaderWaiters;
      const timer = this.clock.after(Math.max(1, timeoutMs), done);
      function done(): void {
        timer.cancel();
        waiters.delete(done);
        resolve();
      }
      waiters.add(done);
    });
  }

  /** Stops ticking, lets the write in progress finish, takes no further Ready. */
  async stop(): Promise<void> {
    this.ticker?.cancel();
    this.ticker = null;
    this.stopping = true;
    if (this.busy) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.shutdownNow(new HostError('SHUTTING_DOWN', `${this.id} is shutting down`));
  }

  private settleIdle(): void {
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private shutdownNow(err: HostError): void {
    this.stopped = true;
    this.ticker?.cancel();
    this.ticker = null;
    this.proposals.rejectAll(err);
    this.reads.rejectAll(err);
    this.settleIdle();
  }
}
