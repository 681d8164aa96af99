/**
 * The driver around the deterministic core: real timers, LevelDB and the transport.
 *
 * One loop carries out Readys strictly in the order ready.ts documents. While a Ready is being
 * fsynced, new messages and proposals keep stepping into the core, and the next Ready picks
 * them all up: that is the group commit, one fsync for every proposal that arrived meanwhile.
 */
import type { Logger } from 'pino';
import { decodeConfEntry, type ConfEntry, type Message, RawNode, RaftError, type Ready, type NodeStatus } from '../raft/index.js';
import { MemoryStorage } from '../raft/storage.js';
import type { ConfState, Entry, NodeId, SoftState } from '../raft/types.js';
import type { StateMachine, ApplyResult } from '../statemachine/index.js';
import type { LevelRaftStorage, PersistedState } from '../storage/level-raft-storage.js';
import type { Rng } from '../util/rng.js';
import { HostError, type ConsensusPort } from '../api/consensus-port.js';
import { confEntryToMembersCommand } from './conf-members.js';
import { WaitMap } from './pending.js';

export interface RaftTiming {
  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMs: number;
  readonly snapshotThreshold: number;
  readonly trailingLogs: number;
  readonly maxInflight: number;
  readonly maxMessageBytes: number;
}

export interface RaftHostOptions {
  readonly id: NodeId;
  readonly timing: RaftTiming;
  readonly storage: LevelRaftStorage;
  readonly persisted: PersistedState;
  readonly stateMachine: StateMachine;
  readonly rng: Rng;
  readonly logger: Logger;
  readonly send: (msgs: readonly Message[]) => void;
  readonly onSoftState?: (s: SoftState, term: number) => void;
  /** Called once per change of leader (including to "no leader"), for the audit trail. */
  readonly onLeaderChanged?: (from: NodeId | null, to: NodeId | null, term: number) => void;
  readonly onConfApplied?: (change: ConfEntry, conf: ConfState) => void;
  readonly onSnapshotRestored?: () => void;
  /** After a batch of committed entries (or a snapshot) is applied, before any waiter resumes. */
  readonly onApplied?: () => void;
  /** Every proposal's outcome, for metrics. */
  readonly onProposalDone?: (committed: boolean) => void;
  /** Called when durability is lost (a failed fsync): the process must stop, as etcd does. */
  readonly onFatal: (err: Error) => void;
}

interface ProposalMeta {
  readonly term: number;
}

export class RaftHost implements ConsensusPort {
  readonly id: NodeId;
  readonly tickMs: number;
  private readonly raw: RawNode;
  private readonly mem: MemoryStorage;
  private readonly proposals = new WaitMap<number, ApplyResult, ProposalMeta>();
  private readonly reads = new WaitMap<string, void, { index: number }>();
  private readSeq = 0;
  private running = false;
  private scheduled = false;
  private stopped = false;
  private ticker: NodeJS.Timeout | null = null;
  private soft: SoftState = { leader: null, role: 'follower' };
  private snapshotting = false;
  private readonly leaderWaiters = new Set<() => void>();
  private lastLeaderContact: number | null = null;
  private commitSeen = 0;
  private stallSince: number | null = null;
  private readonly lastHeard = new Map<NodeId, number>();

  constructor(private readonly opts: RaftHostOptions) {
    this.id = opts.id;
    const { persisted, timing } = opts;
    // Ticks: half a heartbeat interval, so randomized election timeouts have some resolution.
    this.tickMs = Math.max(5, Math.floor(timing.heartbeatIntervalMs / 2));
    const heartbeatTicks = Math.max(1, Math.round(timing.heartbeatIntervalMs / this.tickMs));
    const electionTicks = Math.max(heartbeatTicks + 1, Math.round(timing.electionTimeoutMs / this.tickMs));
    this.mem = new MemoryStorage(persisted.snapshot?.meta.conf ?? { voters: [], learners: [] });
    if (persisted.snapshot) {
      this.mem.applySnapshot(persisted.snapshot);
      opts.stateMachine.restore(persisted.snapshot.data);
    }
    this.mem.append(persisted.entries);
    this.mem.setHardState(persisted.hardState);
    this.raw = new RawNode({
      id: opts.id,
      storage: this.mem,
      rng: opts.rng,
      electionTicks,
      heartbeatTicks,
      applied: persisted.snapshot?.meta.index ?? 0,
      maxMessageBytes: Math.floor(timing.maxMessageBytes / 2),
      maxInflight: timing.maxInflight,
      maxApplyBytes: 16 * 1024 * 1024,
    });
  }

  start(): void {
    this.ticker = setInterval(() => {
      this.raw.tick();
      this.schedule();
    }, this.tickMs);
    this.schedule();
  }

  // ---- inputs ----------------------------------------------------------------------------

  step(m: Message): void {
    if (this.stopped) return;
    this.raw.step(m);
    this.schedule();
  }

  /** The transport delivered a message from `from`: remember when each peer last spoke. */
  noteMessageFrom(from: NodeId): void {
    const now = performance.now();
    this.lastHeard.set(from, now);
    if (from === this.soft.leader) this.lastLeaderContact = now;
  }

  /**
   * Monotonic ms of this node's last proof of being connected to the cluster: for a follower,
   * the last message from its leader; for a leader, the latest instant at which a quorum of
   * voters (itself included) had been heard from. null: never.
   */
  lastLeaderContactAt(): number | null {
    if (this.soft.role !== 'leader') return this.lastLeaderContact;
    const now = performance.now();
    const voters = this.raw.status().conf.voters;
    const heard = voters.map((v) => (v === this.id ? now : (this.lastHeard.get(v) ?? Number.NEGATIVE_INFINITY))).sort((a, b) => b - a);
    const quorumth = heard[Math.floor(voters.length / 2)];
    return quorumth === undefined || quorumth === Number.NEGATIVE_INFINITY ? null : quorumth;
  }

  reportUnreachable(id: NodeId): void {
    this.raw.reportUnreachable(id);
    this.schedule();
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raw.reportSnapshot(id, ok);
    this.schedule();
  }

  /** Proposes a state-machine command on this node (which must be the leader) and waits for it to apply. */
  async propose(data: Uint8Array, timeoutMs: number): Promise<ApplyResult> {
    const { index, term } = this.callCore(() => this.raw.propose(data));
    this.schedule();
    const done = this.proposals.wait(index, { term }, timeoutMs, `proposal at index ${index}`);
    done.then(
      () => this.opts.onProposalDone?.(true),
      () => this.opts.onProposalDone?.(false),
    );
    return done;
  }

  async proposeConfChange(change: ConfEntry, timeoutMs: number): Promise<ApplyResult> {
    const { index, term } = this.callCore(() => this.raw.proposeConfChange(change));
    this.schedule();
    return this.proposals.wait(index, { term }, timeoutMs, `membership change at index ${index}`);
  }

  /** Resolves once this node's state machine reflects every write committed before the call. */
  async readBarrier(timeoutMs: number): Promise<void> {
    const context = `${this.id}:${++this.readSeq}`;
    this.callCore(() => this.raw.readIndex(context));
    this.schedule();
    return this.reads.wait(context, { index: Number.POSITIVE_INFINITY }, timeoutMs, 'linearizable read');
  }

  transferLeadership(to: NodeId): void {
    this.callCore(() => this.raw.transferLeadership(to));
    this.schedule();
  }

  campaign(): void {
    this.raw.campaign();
    this.schedule();
  }

  private callCore<T>(f: () => T): T {
    if (this.stopped) throw new HostError('SHUTTING_DOWN', `${this.id} is shutting down`);
    try {
      return f();
    } catch (err) {
      if (err instanceof RaftError && err.code === 'NOT_LEADER') {
        throw new HostError(err.leaderHint ? 'NOT_LEADER' : 'NO_LEADER', err.message, err.leaderHint);
      }
      throw err;
    }
  }

  // ---- observation -----------------------------------------------------------------------

  status(): NodeStatus {
    return this.raw.status();
  }

  softState(): SoftState {
    return this.soft;
  }

  snapshotIndex(): number {
    return this.mem.snapshot().meta.index;
  }

  /** Ms a leader has held entries it has not committed, its commit index not moving; 0 if none. */
  commitStallMs(): number {
    return this.stallSince === null ? 0 : performance.now() - this.stallSince;
  }

  /** A leader with uncommitted entries starts the stall clock; any commit progress restarts it. */
  private trackCommit(): void {
    const { role, commit, lastIndex } = this.raw.status();
    const moved = commit !== this.commitSeen;
    this.commitSeen = commit;
    if (role !== 'leader' || commit >= lastIndex) this.stallSince = null;
    else if (moved || this.stallSince === null) this.stallSince = performance.now();
  }

  /** Waits until some node is known as leader (or the deadline passes). */
  async waitForLeader(timeoutMs: number): Promise<NodeId | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.soft.leader === null && Date.now() < deadline && !this.stopped) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, Math.max(1, deadline - Date.now()));
        function done(): void {
          clearTimeout(t);
          resolve();
        }
        this.leaderWaiters.add(done);
      });
    }
    return this.soft.leader;
  }

  // ---- the Ready loop --------------------------------------------------------------------

  private schedule(): void {
    if (this.scheduled || this.running || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      while (!this.stopped && this.raw.hasReady()) {
        const rd = this.raw.ready();
        // Thesis §10.2.1: a leader may send its entries while it writes them (etcd does too).
        // Its term and vote are already durable: a leader never changes them. The core counts
        // the leader's own entries towards commit at once, but nothing acts on a commit
        // (applying, answering clients, telling followers) before a later Ready, and this loop
        // takes the next Ready only once this one's entries are durable (ready.ts, rule 2).
        const leading = (rd.softState?.role ?? this.soft.role) === 'leader';
        if (leading) this.opts.send(rd.messages);
        if (rd.mustSync || rd.snapshot !== null) {
          await this.persist(rd);
        } else {
          // Only the commit index moved: nothing to fsync and nothing anyone waits for.
          this.persist(rd).catch((err: unknown) => this.fail(err instanceof Error ? err : new Error(String(err))));
        }
        if (this.stopped) return;
        if (!leading) this.opts.send(rd.messages);
        this.apply(rd);
        this.raw.advance(rd);
        this.serveReads();
        if (rd.softState) this.onSoftState(rd.softState);
        this.trackCommit();
        await this.maybeSnapshot();
      }
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.running = false;
    }
  }

  private async persist(rd: Ready): Promise<void> {
    if (rd.snapshot === null && rd.entries.length === 0 && rd.hardState === null) return;
    await this.opts.storage.save({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot }, rd.mustSync);
    if (rd.snapshot) this.mem.applySnapshot(rd.snapshot);
    this.mem.append(rd.entries);
    if (rd.hardState) this.mem.setHardState(rd.hardState);
  }

  private apply(rd: Ready): void {
    const sm = this.opts.stateMachine;
    if (rd.snapshot) {
      sm.restore(rd.snapshot.data);
      this.opts.onSnapshotRestored?.();
    }
    const results: [Entry, ApplyResult][] = [];
    for (const e of rd.committedEntries) {
      if (e.index <= sm.appliedIndex) continue;
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
      if (this.reads.get(rs.context) !== undefined) this.reads.get(rs.context)!.index = rs.index;
    }
  }

  private applyEntry(e: Entry): ApplyResult {
    const sm = this.opts.stateMachine;
    switch (e.kind) {
      case 'normal':
        return sm.apply(e.index, e.data);
      case 'noop':
        sm.advance(e.index);
        return { ok: true, revision: sm.revision() };
      case 'conf': {
        let change: ConfEntry;
        try {
          change = decodeConfEntry(e.data);
        } catch {
          sm.advance(e.index);
          return { ok: true, revision: sm.revision() };
        }
        const result = sm.apply(e.index, confEntryToMembersCommand(change));
        this.opts.onConfApplied?.(change, this.confAfter(change));
        return result;
      }
    }
  }

  /** The core applies the change in advance(); report the configuration it will have. */
  private confAfter(change: ConfEntry): ConfState {
    const conf = this.raw.status().conf;
    const without = (xs: readonly string[], id: string) => xs.filter((x) => x !== id);
    switch (change.type) {
      case 'bootstrap':
        return { voters: [...change.voters].sort(), learners: [] };
      case 'add-learner':
        return { voters: conf.voters, learners: [...conf.learners, change.node].sort() };
      case 'promote':
        return { voters: [...conf.voters, change.node].sort(), learners: without(conf.learners, change.node) };
      case 'remove':
        return { voters: without(conf.voters, change.node), learners: without(conf.learners, change.node) };
    }
  }

  private serveReads(): void {
    const applied = this.opts.stateMachine.appliedIndex;
    for (const [ctx, meta] of this.reads.entries()) {
      if (meta.index <= applied) this.reads.resolve(ctx, undefined);
    }
  }

  private onSoftState(s: SoftState): void {
    const prev = this.soft;
    this.soft = s;
    if (prev.leader !== s.leader) {
      if (s.leader !== null && s.leader !== this.id) this.lastLeaderContact = performance.now();
      this.opts.onLeaderChanged?.(prev.leader, s.leader, this.raw.status().term);
      // Reads in flight through the old leader will never be answered: fail them now so
      // clients retry against the new one instead of waiting out their deadline.
      this.reads.rejectAll(new HostError(s.leader ? 'NOT_LEADER' : 'NO_LEADER', 'leader changed during the read; retry', s.leader));
    }
    for (const w of this.leaderWaiters) w();
    this.leaderWaiters.clear();
    this.opts.onSoftState?.(s, this.raw.status().term);
  }

  private async maybeSnapshot(): Promise<void> {
    const { snapshotThreshold, trailingLogs } = this.opts.timing;
    const applied = this.opts.stateMachine.appliedIndex;
    if (this.snapshotting || applied - this.mem.snapshot().meta.index < snapshotThreshold) return;
    this.snapshotting = true;
    try {
      const conf = this.raw.status().conf;
      const snap = this.mem.createSnapshot(applied, conf, this.opts.stateMachine.snapshot(), trailingLogs);
      await this.opts.storage.saveLocalSnapshot(snap, this.mem.firstIndex() - 1);
      this.opts.logger.info({ index: snap.meta.index, bytes: snap.data.length }, 'snapshot taken; log compacted');
    } finally {
      this.snapshotting = false;
    }
  }

  private fail(err: Error): void {
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
    const deadline = Date.now() + this.opts.timing.electionTimeoutMs;
    while (Date.now() < deadline && (this.soft.leader === this.id || this.soft.leader === null)) {
      await this.waitForLeaderChange(deadline - Date.now());
    }
    return this.soft.leader !== this.id ? this.soft.leader : null;
  }

  private waitForLeaderChange(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, Math.max(1, timeoutMs));
      const waiters = this.leaderWaiters;
      function done(): void {
        clearTimeout(t);
        waiters.delete(done);
        resolve();
      }
      waiters.add(done);
    });
  }

  /** Stops ticking and waits for the Ready in progress to finish its write. */
  async stop(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    while (this.running) await new Promise((r) => setTimeout(r, 5));
    this.shutdownNow(new HostError('SHUTTING_DOWN', `${this.id} is shutting down`));
  }

  private shutdownNow(err: HostError): void {
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    this.proposals.rejectAll(err);
    this.reads.rejectAll(err);
  }
}
