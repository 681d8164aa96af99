/**
 * RawNode: the driver's handle on the core (etcd's rawnode.go). The driver feeds it ticks,
 * messages and proposals, and repeatedly takes a Ready, carries it out in the order ready.ts
 * documents, and calls advance().
 */
import type { RaftConfig } from './config.js';
import type { ConfEntry } from './conf-change.js';
import type { Message } from './messages.js';
import type { ProgressState } from './progress.js';
import { Raft } from './raft.js';
import type { Ready } from './ready.js';
import type { ConfState, Entry, HardState, NodeId, Role, SoftState } from './types.js';

export interface PeerStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly recentActive: boolean;
  readonly learner: boolean;
}

export interface NodeStatus {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId | null;
  readonly leader: NodeId | null;
  readonly role: Role;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly firstIndex: number;
  readonly conf: ConfState;
  /** Only on the leader: its view of every member's replication. */
  readonly progress: ReadonlyMap<NodeId, PeerStatus>;
  readonly leadTransferee: NodeId | null;
}

/** Where the log stands: what the hot paths read per message, without status()'s copies. */
export interface LogPosition {
  readonly term: number;
  readonly role: Role;
  readonly commit: number;
  readonly lastIndex: number;
}

export class RawNode {
  private readonly raft: Raft;
  private prevSoft: SoftState;
  private prevHard: HardState;
  /** Proposals since the last Ready: their entries go out in one Append per follower. */
  private appendPending = false;
  /** Index of the last conf entry the driver applied through applyConfChange. */
  private confApplied: number;

  constructor(cfg: RaftConfig) {
    this.raft = new Raft(cfg);
    this.prevSoft = this.raft.softState();
    this.prevHard = this.raft.hardState();
    this.confApplied = this.raft.log.applied;
  }

  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (pre-vote first). */
  campaign(): void {
    if (this.raft.role !== 'leader') this.raft.campaign('pre-vote');
  }

  step(m: Message): void {
    this.raft.step(m);
  }

  /** Appends a command; throws NOT_LEADER / TRANSFER_IN_PROGRESS / PROPOSAL_DROPPED. */
  propose(data: Uint8Array): { index: number; term: number } {
    const r = this.raft.propose(data);
    this.appendPending = true;
    return r;
  }

  /** Bytes of entries this node, as leader, appended in its term and has not committed. */
  uncommittedBytes(): number {
    return this.raft.uncommitted.total;
  }

  proposeConfChange(c: ConfEntry): { index: number; term: number } {
    return this.raft.proposeConfChange(c);
  }

  readIndex(context: string): void {
    this.raft.readIndex(context);
  }

  transferLeadership(to: NodeId): void {
    this.raft.transferLeadership(to);
  }

  reportUnreachable(id: NodeId): void {
    this.raft.reportUnreachable(id);
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.reportSnapshot(id, ok);
  }

  /**
   * The heartbeats this leader queued since its last Ready, taken out to go now, while the
   * driver waits for the leader's own write and takes no Ready (hashicorp raft sends heartbeats
   * apart from the log for the same reason: a leader whose disk is slow for a moment is still
   * alive). Each one's commit is capped at the leader's stable log, the entries the driver has
   * reported written: a commit index leaves the leader only once its own copy of what it covers
   * is durable (ready.ts, rule 2). Empty unless leading; every other message waits for the Ready.
   */
  takeHeartbeats(): Message[] {
    const r = this.raft;
    if (r.role !== 'leader' || !r.msgs.some((m) => m.type === 'Heartbeat')) return [];
    const out: Message[] = [];
    const rest: Message[] = [];
    for (const m of r.msgs) (m.type === 'Heartbeat' ? out : rest).push(m);
    r.msgs = rest;
    return capCommits(out, r.log.unstable.offset - 1);
  }

  hasReady(): boolean {
    const r = this.raft;
    const soft = r.softState();
    const hard = r.hardState();
    return (
      soft.leader !== this.prevSoft.leader ||
      soft.role !== this.prevSoft.role ||
      !sameHardState(hard, this.prevHard) ||
      r.log.unstable.snapshot !== null ||
      r.log.unstable.entries.length > 0 ||
      r.msgs.length > 0 ||
      r.readStates.length > 0 ||
      r.log.hasNextCommittedEnts()
    );
  }

  /** Takes the pending work. Messages and read states are handed over exactly once. */
  ready(): Ready {
    const r = this.raft;
    if (this.appendPending) {
      this.appendPending = false;
      if (r.role === 'leader') r.bcastAppend();
    }
    const soft = r.softState();
    const hard = r.hardState();
    const entries = r.log.unstableEntries();
    const hardChanged = !sameHardState(hard, this.prevHard);
    const rd: Ready = {
      softState: soft.leader !== this.prevSoft.leader || soft.role !== this.prevSoft.role ? soft : null,
      hardState: hardChanged ? hard : null,
      entries,
      snapshot: r.log.unstable.snapshot,
      committedEntries: r.log.nextCommittedEnts(),
      // A leader sends these while it writes `entries` (rule 2): none may call them committed.
      messages: r.role === 'leader' ? capCommits(r.msgs, r.log.unstable.offset - 1) : r.msgs,
      readStates: r.readStates,
      // A snapshot must be synced too: the same Ready acknowledges its index to the leader, which
      // counts that towards commit (found by the simulation, test/raft/durability.test.ts).
      mustSync:
        entries.length > 0 ||
        r.log.unstable.snapshot !== null ||
        hard.term !== this.prevHard.term ||
        hard.vote !== this.prevHard.vote,
    };
    r.msgs = [];
    r.readStates = [];
    if (rd.softState) this.prevSoft = rd.softState;
    if (rd.hardState) this.prevHard = rd.hardState;
    return rd;
  }

  /**
   * The driver applies committed conf entry `e` (in log order, as it applies the entries
   * around it): the core switches to the new configuration and hands it back, with the
   * decoded change (null for an entry that does not decode, which changes nothing). This is
   * the one place the configuration after a change comes from (etcd's ApplyConfChange).
   *
   * An entry that a snapshot from the leader covers, installed after the entry was handed out
   * and before the driver applied it, changes nothing either (change null): the snapshot's
   * configuration, in force since, is the newer one. Applying it set the older one back: a new
   * learner handed its bootstrap entry (the first voters) took a snapshot that made it a
   * learner, applied the bootstrap entry after it, and left itself out of its own
   * configuration for good; promoted later, it never campaigned (simulation seed 10433: the
   * other voter lacked the leader's last entry, and no leader was elected for 20 election
   * timeouts).
   */
  applyConfChange(e: Entry): { change: ConfEntry | null; conf: ConfState } {
    const r = this.raft;
    if (e.kind !== 'conf') throw new Error(`invariant: entry ${e.index} is ${e.kind}, not a conf entry`);
    const after = Math.max(r.log.applied, this.confApplied);
    if (e.index <= after || e.index > r.log.committed) {
      throw new Error(`invariant: conf entry ${e.index} applied out of order (applied ${after}, committed ${r.log.committed})`);
    }
    this.confApplied = e.index;
    if (e.index < r.log.firstIndex()) return { change: null, conf: r.conf };
    return r.applyConfEntry(e.data);
  }

  /**
   * The driver has carried out `rd`: its entries are durable, its committed entries applied
   * (each conf entry through applyConfChange).
   */
  advance(rd: Ready): void {
    const r = this.raft;
    const last = rd.entries[rd.entries.length - 1];
    if (last) r.log.stableTo(last.index, last.term);
    if (rd.snapshot) {
      r.log.stableSnapTo(rd.snapshot.meta.index);
      if (rd.snapshot.meta.index > r.log.applied) r.log.applied = rd.snapshot.meta.index;
    }
    for (const e of rd.committedEntries) {
      if (e.index <= r.log.applied) continue; // covered by a snapshot installed meanwhile
      if (e.kind === 'conf' && e.index > this.confApplied) {
        throw new Error(`invariant: conf entry ${e.index} was handed out but not applied with applyConfChange`);
      }
      r.log.appliedTo(e.index);
    }
    r.releasePendingReads();
  }

  /** The commit index if the leader of this node's term vouched for it (Raft.vouchedCommit); else null. */
  vouchedCommit(): number | null {
    return this.raft.vouchedCommit();
  }

  /** Whether every entry beyond the bootstrap is of one term, no later one heard from another node (Raft.onlyTermBeyondBootstrap). */
  onlyTermBeyondBootstrap(): boolean {
    return this.raft.onlyTermBeyondBootstrap();
  }

  position(): LogPosition {
    const r = this.raft;
    return { term: r.term, role: r.role, commit: r.log.committed, lastIndex: r.log.lastIndex() };
  }

  /** The configuration in force: status().conf without the copy of every peer's progress. */
  conf(): ConfState {
    return this.raft.conf;
  }

  status(): NodeStatus {
    const r = this.raft;
    const progress = new Map<NodeId, PeerStatus>();
    if (r.role === 'leader') {
      for (const [id, pr] of r.prs) {
        progress.set(id, { match: pr.match, next: pr.next, state: pr.state, recentActive: pr.recentActive, learner: pr.isLearner });
      }
    }
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      leader: r.lead,
      role: r.role,
      commit: r.log.committed,
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      firstIndex: r.log.firstIndex(),
      conf: r.conf,
      progress,
      leadTransferee: r.leadTransferee,
    };
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/**
 * Caps the commit index a leader's Appends and Heartbeats carry at `stable`, the last entry of its
 * own log on disk (its messages leave while it writes the rest: ready.ts, rule 2). The core counts
 * the leader's own copy towards commit at once; with other voters that commit never reaches an
 * entry still unwritten here (their acknowledgements of it cannot have come back yet), but a lone
 * voter's does, at the moment it appends: its learners applied an entry the voter could still
 * lose in a crash and replace (test/raft/lone-voter-learner-commit.test.ts). The messages are the
 * core's own fresh literals: changed in place.
 */
function capCommits(msgs: Message[], stable: number): Message[] {
  for (const m of msgs) {
    if ((m.type === 'Append' || m.type === 'Heartbeat') && m.commit > stable) (m as { commit: number }).commit = stable;
  }
  return msgs;
}
