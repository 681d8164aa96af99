/**
 * The Raft protocol as a deterministic state machine (etcd's raft.go). Messages come in through
 * `step`, time through `tick`; outputs accumulate in `msgs`, `readStates` and the log, and the
 * RawNode hands them to the driver as a Ready. Nothing here touches a clock, disk or socket.
 *
 * Role-specific handling lives in step-leader.ts, step-candidate.ts and step-follower.ts.
 */
import { type RaftConfig, validateRaftConfig } from './config.js';
import { BOOTSTRAP_TERM } from './bootstrap.js';
import { applyConfEntry, decodeConfEntry, type ConfEntry, encodeConfEntry, validateConfChange } from './conf-change.js';
import { RaftError } from './errors.js';
import type { Message } from './messages.js';
import { Progress } from './progress.js';
import { committedIndex, hasQuorum, voteOutcome, type VoteOutcome } from './quorum.js';
import { entryBytes, RaftLog } from './raft-log.js';
import { ReadOnly } from './read-only.js';
import { stepCandidate } from './step-candidate.js';
import { stepFollower } from './step-follower.js';
import { stepLeader } from './step-leader.js';
import { UncommittedBytes } from './uncommitted.js';
import type { ConfState, Entry, EntryKind, HardState, NodeId, ReadState, Role, SoftState } from './types.js';
import type { Rng } from '../util/rng.js';

/** What a leader sends a member because its progress says so. */
const LEADER_MESSAGES: ReadonlySet<Message['type']> = new Set(['Append', 'Heartbeat', 'InstallSnapshot', 'TimeoutNow']);

export type CampaignKind = 'pre-vote' | 'election' | 'transfer';

/**
 * Why a leader sends an append. `entries`: what the follower lacks, sent even when that is
 * nothing, because the answer is how a leader learns a match whose answer was lost. `pipeline`:
 * only entries, nothing when there are none. `commit`: the commit index moved; to a follower
 * that was sent every entry this is a commit notice, which it does not answer (its answer for
 * the entries, if not in yet, is on its way; if that is lost, the next heartbeat's answer
 * brings an `entries` append). `reprobe`: in probe state, a probe with entries is unanswered
 * and a heartbeat answer came first; send it again, its entries capped at REPROBE_MAX_BYTES
 * (onHeartbeatResp in step-leader.ts).
 */
export type AppendPurpose = 'entries' | 'pipeline' | 'commit' | 'reprobe';

/**
 * The entries a heartbeat answer's re-probe may carry. Heartbeats overtake queued appends
 * (peer-link.ts), so that answer usually precedes the probe's own, and a re-probe goes out
 * every heartbeat interval until it comes: at `max_message_bytes` (4 MiB by default) that put
 * megabytes of duplicates on the link. 64 KiB still carries small probes whole (as etcd, which
 * re-sends on a heartbeat answer up to its message size), so a lost small probe costs no round
 * trip. A first entry alone over it is not sent: the re-probe goes out empty, at the probe's
 * prev index, and its answer (an accept at the match, or a reject) moves the follower on as
 * the probe's would, one round trip later; the entry follows in the next append.
 */
export const REPROBE_MAX_BYTES = 64 * 1024;

/** Messages a node sends without knowing the receiver's term: distributed, then addressed. */
type Outgoing = Message extends infer M ? (M extends Message ? Omit<M, 'from' | 'term'> & { term?: number } : never) : never;

export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId | null = null;
  lead: NodeId | null = null;
  role: Role = 'follower';
  conf: ConfState;
  readonly log: RaftLog;
  readonly prs = new Map<NodeId, Progress>();
  /**
   * The answers to this node's election at `term` (its Vote requests), kept until the term
   * changes: a candidate whose timeout ran out pre-votes again at the same term and vote, and a
   * grant of that election arriving meanwhile still counts (see `lateVote`).
   */
  readonly votes = new Map<NodeId, boolean>();
  /** The answers to the current pre-campaign (its PreVote requests). */
  readonly preVotes = new Map<NodeId, boolean>();
  msgs: Message[] = [];
  readStates: ReadState[] = [];
  readOnly = new ReadOnly();
  /** Reads that arrived before this leader committed an entry of its term (§6.4 step 1). */
  pendingReads: Array<{ context: string; from: NodeId }> = [];

  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  leadTransferee: NodeId | null = null;
  /** Index of the last conf change in the log; a new one waits until it is applied. */
  pendingConfIndex = 0;

  /** The term at which this node last stepped back from a pre-campaign for a peer's (`maybeYield`). */
  private yieldedAt = -1;
  /**
   * The highest term this node may have learned from another node; above it, its term rose only
   * by its own campaigns (onlyTermBeyondBootstrap). After a restart, a term held with its own vote
   * is its own campaign's, and the one before it of unknown origin.
   */
  private termHeard = 0;

  private readonly rng: Rng;
  /** What this leader appended in its term and has not committed (bounded by maxUncommittedBytes). */
  readonly uncommitted: UncommittedBytes;
  readonly maxMessageBytes: number;
  readonly maxInflight: number;
  private readonly mayCampaign: () => boolean;

  constructor(cfg: RaftConfig) {
    validateRaftConfig(cfg);
    this.id = cfg.id;
    this.rng = cfg.rng;
    this.electionTicks = cfg.electionTicks;
    this.heartbeatTicks = cfg.heartbeatTicks;
    this.maxMessageBytes = cfg.maxMessageBytes;
    this.maxInflight = cfg.maxInflight;
    this.mayCampaign = cfg.mayCampaign ?? ((): boolean => true);
    this.uncommitted = new UncommittedBytes(cfg.maxUncommittedBytes ?? 0);
    this.log = new RaftLog(cfg.storage, cfg.maxApplyBytes);
    const { hardState, conf } = cfg.storage.initialState();
    this.conf = conf;
    if (hardState.commit < this.log.committed || hardState.commit > this.log.lastIndex()) {
      throw new Error(
        `invariant: stored commit ${hardState.commit} outside [${this.log.committed}, ${this.log.lastIndex()}]`,
      );
    }
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.termHeard = hardState.vote === this.id ? hardState.term - 1 : hardState.term;
    this.log.committed = hardState.commit;
    if (cfg.applied > 0) this.log.appliedTo(Math.min(cfg.applied, hardState.commit));
    this.becomeFollower(this.term, null);
  }

  // ---- observable state ----------------------------------------------------------------

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  softState(): SoftState {
    return { leader: this.lead, role: this.role };
  }

  /**
   * The commit index, when the leader of this node's term vouched for it: the entry there is of
   * this term. Only that leader makes entries of its term, and it commits one only after every
   * entry committed in earlier terms (all in its log when it was elected, at lower indexes), so
   * a log through this index holds every entry committed before this term began. A commit index
   * below the term's first entry vouches for nothing: a new leader's lags until it commits an
   * entry of its own term (Raft §5.4.2), and a follower's is the leader's or less. Term 1 has
   * no leader: its one entry is the bootstrap every initial member writes itself (bootstrap.ts).
   * Null otherwise.
   */
  vouchedCommit(): number | null {
    const c = this.log.committed;
    return this.term > BOOTSTRAP_TERM && c > 0 && this.log.term(c) === this.term ? c : null;
  }

  /**
   * Whether every entry beyond the bootstrap is of one term, and no later term was heard from
   * another node: the leader of that term made them, and was elected with nothing beyond the
   * bootstrap, so nothing beyond it was committed before that term (a new cluster's first leader,
   * or one whose predecessors' entries never reached a quorum). A term this node reached by its
   * own campaigns since says nothing of another leader: counting it made a node whose election
   * failed once (a Vote request lost) never stand again, while it refused the others (rule 6).
   * False with nothing beyond the bootstrap, or entry 2 compacted away.
   */
  onlyTermBeyondBootstrap(): boolean {
    const t = this.log.term(2);
    return t !== null && t > BOOTSTRAP_TERM && t === this.log.lastTerm() && this.termHeard <= t;
  }

  isVoter(id: NodeId): boolean {
    return this.conf.voters.includes(id);
  }

  /** Only voters campaign; a learner or a node not yet in any configuration never does. */
  promotable(): boolean {
    return this.isVoter(this.id);
  }

  // ---- role transitions ------------------------------------------------------------------

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = null;
    }
    this.lead = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.electionTicks + this.rng.int(0, this.electionTicks);
    this.leadTransferee = null;
    this.votes.clear();
    this.readOnly = new ReadOnly();
    this.pendingReads = [];
    this.uncommitted.clear();
    this.resetProgress();
  }

  private resetProgress(): void {
    this.prs.clear();
    const next = this.log.lastIndex() + 1;
    for (const id of this.conf.voters) this.prs.set(id, new Progress(next, this.maxInflight, false));
    for (const id of this.conf.learners) this.prs.set(id, new Progress(next, this.maxInflight, true));
    const self = this.prs.get(this.id);
    if (self) self.match = this.log.lastIndex();
  }

  becomeFollower(term: number, lead: NodeId | null): void {
    this.reset(term);
    this.lead = lead;
    this.role = 'follower';
  }

  becomePreCandidate(): void {
    if (this.role === 'leader') throw new Error('invariant: leader cannot become pre-candidate');
    // A pre-vote changes neither term nor vote (thesis §9.6), so a partitioned node that keeps
    // pre-voting cannot inflate its term and disrupt the cluster when it returns. The votes of
    // its election at this term, when it was the candidate, stay: see `lateVote`.
    this.preVotes.clear();
    this.lead = null;
    this.role = 'pre-candidate';
  }

  becomeCandidate(): void {
    if (this.role === 'leader') throw new Error('invariant: leader cannot become candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  becomeLeader(): void {
    if (this.role === 'follower') throw new Error('invariant: follower cannot become leader directly');
    this.reset(this.term);
    this.lead = this.id;
    this.role = 'leader';
    for (const pr of this.prs.values()) pr.recentActive = true;
    // Conservatively assume the tail of the log may hold an unapplied conf change.
    this.pendingConfIndex = this.log.lastIndex();
    // A no-op of our term: entries of earlier terms commit only through one of ours (§5.4.2),
    // and ReadIndex needs it before reads can be served (§6.4).
    this.appendEntries([{ kind: 'noop', data: new Uint8Array(0) }]);
  }

  // ---- sending ---------------------------------------------------------------------------

  /** `m` is always a fresh literal of its caller's: completed in place, because a spread of
   * the many message shapes that pass here goes through V8's slow path (3-11 µs a put). */
  send(m: Outgoing): void {
    const out = m as { from?: NodeId; term?: number };
    out.from = this.id;
    out.term ??= this.term;
    this.msgs.push(out as Message);
  }

  /** Sends entries (or a snapshot) to a follower if its flow control allows. Returns true if sent. */
  sendAppend(to: NodeId, purpose: AppendPurpose = 'entries'): boolean {
    const pr = this.prs.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const ents = prevTerm === null ? null : this.entriesToSend(pr.next, purpose);
    if (prevTerm === null || ents === null) return this.sendSnapshot(to, pr);
    if (ents.length === 0 && purpose === 'pipeline') return false;
    // The follower was sent every entry: if it has not answered for them yet, it will.
    const commitOnly = purpose === 'commit' && ents.length === 0 && pr.state === 'replicate';
    this.send({ type: 'Append', to, prevIndex, prevTerm, entries: ents, commit: this.log.committed, commitOnly });
    if (ents.length > 0) {
      const last = ents[ents.length - 1]!.index;
      if (pr.state === 'replicate') {
        pr.optimisticUpdate(last);
        pr.inflights.add(last);
      } else {
        pr.probeSent = true;
      }
    } else if (pr.state === 'probe') {
      pr.probeSent = true;
    }
    return true;
  }

  /** The entries of an append from `next`: up to max_message_bytes (at least one); a
   * re-probe's up to REPROBE_MAX_BYTES, none if the first alone is over it (under a
   * max_message_bytes no larger, a re-probe is as any append). Null when `next` is compacted. */
  private entriesToSend(next: number, purpose: AppendPurpose): Entry[] | null {
    const hi = this.log.lastIndex() + 1;
    if (purpose !== 'reprobe' || this.maxMessageBytes <= REPROBE_MAX_BYTES) return this.log.slice(next, hi, this.maxMessageBytes);
    const ents = this.log.slice(next, hi, REPROBE_MAX_BYTES);
    return ents?.length === 1 && entryBytes(ents[0]!) > REPROBE_MAX_BYTES ? [] : ents;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    // Only to a follower we heard from recently: snapshots are expensive.
    if (!pr.recentActive) return false;
    const snap = this.log.snapshot();
    if (!snap || snap.meta.index === 0) return false;
    pr.becomeSnapshot(snap.meta.index);
    this.send({ type: 'InstallSnapshot', to, snapshot: snap });
    return true;
  }

  bcastAppend(purpose: AppendPurpose = 'entries'): void {
    for (const id of this.prs.keys()) if (id !== this.id) this.sendAppend(id, purpose);
  }

  bcastHeartbeat(context = ''): void {
    for (const [id, pr] of this.prs) {
      if (id === this.id) continue;
      // Never tell a follower to commit beyond what it is known to hold.
      this.send({ type: 'Heartbeat', to: id, commit: Math.min(pr.match, this.log.committed), context });
    }
  }

  // ---- log -------------------------------------------------------------------------------

  appendEntries(items: ReadonlyArray<{ kind: EntryKind; data: Uint8Array }>): { index: number; term: number } {
    let index = this.log.lastIndex();
    const ents: Entry[] = items.map((it) => ({ term: this.term, index: ++index, kind: it.kind, data: it.data }));
    const last = this.log.append(ents);
    for (const e of ents) this.uncommitted.add(e.index, e.data.length);
    this.prs.get(this.id)?.maybeUpdate(last);
    this.maybeCommit();
    return { index: ents[0]?.index ?? last, term: this.term };
  }

  /** Advances commit to what a quorum of voters has matched. */
  maybeCommit(): boolean {
    const idx = committedIndex(this.conf.voters, (id) => this.prs.get(id)?.match ?? 0);
    if (!this.log.maybeCommit(idx, this.term)) return false;
    this.uncommitted.releaseTo(this.log.committed);
    return true;
  }

  committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  // ---- proposals and local requests ------------------------------------------------------

  propose(data: Uint8Array): { index: number; term: number } {
    this.checkCanPropose();
    if (!this.uncommitted.admits(data.length)) {
      throw new RaftError(
        'PROPOSAL_DROPPED',
        `too many bytes of writes waiting to commit on the leader (${this.uncommitted.total} of ${this.uncommitted.maxBytes}, ` +
          `this write ${data.length}); retry once earlier writes commit`,
        this.lead,
      );
    }
    return this.appendEntries([{ kind: 'normal', data }]);
  }

  proposeConfChange(c: ConfEntry): { index: number; term: number } {
    this.checkCanPropose();
    if (this.pendingConfIndex > this.log.applied) {
      throw new RaftError('CONF_CHANGE_PENDING', `a membership change at index ${this.pendingConfIndex} is not applied yet`);
    }
    validateConfChange(this.conf, c);
    if (c.type === 'promote') {
      // Promoting a lagging learner would make it a voter that cannot help commit (§4.2.1).
      const pr = this.prs.get(c.node);
      if (!pr || pr.match < this.log.committed) {
        throw new RaftError(
          'INVALID_CONF_CHANGE',
          `learner ${c.node} is not caught up: has ${pr?.match ?? 0}, commit is ${this.log.committed}`,
        );
      }
    }
    const r = this.appendEntries([{ kind: 'conf', data: encodeConfEntry(c) }]);
    this.pendingConfIndex = r.index;
    this.bcastAppend();
    return r;
  }

  private checkCanPropose(): void {
    if (this.role !== 'leader') throw new RaftError('NOT_LEADER', `${this.id} is not the leader`, this.lead);
    if (this.leadTransferee !== null) {
      throw new RaftError('TRANSFER_IN_PROGRESS', `leadership is being transferred to ${this.leadTransferee}`, this.lead);
    }
  }

  /** Requests a read index; the answer arrives as a ReadState with the same context. */
  readIndex(context: string): void {
    if (this.role === 'leader') {
      this.leaderReadIndex(context, this.id);
      return;
    }
    if (this.lead === null) throw new RaftError('NOT_LEADER', `${this.id} knows no leader`);
    this.send({ type: 'ReadIndex', to: this.lead, context });
  }

  leaderReadIndex(context: string, from: NodeId): void {
    if (!this.committedEntryInCurrentTerm()) {
      this.pendingReads.push({ context, from });
      return;
    }
    if (this.conf.voters.length === 1) {
      this.releaseRead({ context, from, index: this.log.committed });
      return;
    }
    this.readOnly.add(context, from, this.log.committed);
    this.readOnly.recvAck(this.id, context);
    this.bcastHeartbeat(context);
  }

  releaseRead(r: { context: string; from: NodeId; index: number }): void {
    if (r.from === this.id) this.readStates.push({ index: r.index, context: r.context });
    else this.send({ type: 'ReadIndexResp', to: r.from, index: r.index, reject: false, context: r.context });
  }

  /** Called once the leader commits its first entry of the term. */
  releasePendingReads(): void {
    if (this.pendingReads.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const reads = this.pendingReads;
    this.pendingReads = [];
    for (const r of reads) this.leaderReadIndex(r.context, r.from);
  }

  transferLeadership(to: NodeId): void {
    if (this.role !== 'leader') throw new RaftError('NOT_LEADER', `${this.id} is not the leader`, this.lead);
    if (to === this.id) return;
    if (!this.isVoter(to)) throw new RaftError('UNKNOWN_NODE', `${to} is not a voter`);
    if (this.leadTransferee === to) return;
    this.leadTransferee = to;
    // The transfer must finish within an election timeout or it is abandoned (§3.10).
    this.electionElapsed = 0;
    const pr = this.prs.get(to)!;
    if (pr.match === this.log.lastIndex()) this.send({ type: 'TimeoutNow', to });
    else this.sendAppend(to);
  }

  // ---- elections -------------------------------------------------------------------------

  campaign(kind: CampaignKind): void {
    if (!this.promotable() || !this.mayCampaign()) return;
    if (kind === 'pre-vote') {
      this.becomePreCandidate();
    } else {
      this.becomeCandidate();
    }
    const term = kind === 'pre-vote' ? this.term + 1 : this.term;
    if (this.recordVote(this.id, true) === 'won') {
      if (kind === 'pre-vote') this.campaign('election');
      else this.becomeLeader();
      return;
    }
    const lastLogIndex = this.log.lastIndex();
    const lastLogTerm = this.log.lastTerm();
    const commit = this.log.committed;
    for (const id of this.conf.voters) {
      if (id === this.id) continue;
      if (kind === 'pre-vote') this.send({ type: 'PreVote', to: id, term, lastLogIndex, lastLogTerm, commit });
      else this.send({ type: 'Vote', to: id, term, lastLogIndex, lastLogTerm, commit, transfer: kind === 'transfer' });
    }
  }

  recordVote(id: NodeId, granted: boolean): VoteOutcome {
    const tally = this.role === 'pre-candidate' ? this.preVotes : this.votes;
    if (!tally.has(id)) tally.set(id, granted);
    return voteOutcome(this.conf.voters, tally);
  }

  /**
   * A grant of this node's election at its current term, arriving after its election timeout
   * ran out and it began to pre-vote again (same term, same vote: a pre-vote changes neither).
   * It is still a vote for this node at this term, as good as one that came in time: a majority
   * of them elects it, exactly as Raft's election rule says (§5.2), and no other node can hold a
   * majority of this term's votes. Dropping them (etcd does) makes an election whose answers take
   * longer than the candidate's timeout (its own write, the round trip, the voter's write) start
   * over at the next term, and the next, while every voter keeps granting: a cluster with one
   * voter down, or two voters left, found no leader for 20 election timeouts so
   * (simulation seeds 71786 and 71245 with --identity).
   */
  lateVote(m: Extract<Message, { type: 'VoteResp' }>): void {
    if (this.role !== 'pre-candidate' || this.vote !== this.id || !this.votes.has(this.id)) return;
    if (!this.votes.has(m.from)) this.votes.set(m.from, !m.reject);
    if (voteOutcome(this.conf.voters, this.votes) !== 'won') return;
    this.becomeLeader();
    this.bcastAppend();
  }

  // ---- time ------------------------------------------------------------------------------

  tick(): void {
    if (this.role === 'leader') this.tickLeader();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.campaign('pre-vote');
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTicks) {
      this.electionElapsed = 0;
      // Check quorum (§6.2): a leader that has not heard from a majority within an election
      // timeout steps down, so a partitioned leader stops serving stale reads and clients
      // find the real one.
      const active = hasQuorum(this.conf.voters, (id) => id === this.id || this.prs.get(id)?.recentActive === true);
      for (const [id, pr] of this.prs) if (id !== this.id) pr.recentActive = false;
      if (!active) {
        this.becomeFollower(this.term, null);
        return;
      }
      this.leadTransferee = null; // a transfer that did not finish in time is abandoned
    }
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat(this.readOnly.lastPending() ?? '');
    }
  }

  /**
   * The transport saw the connection to `id` break. A leader stops pipelining to it; a
   * follower that loses its leader's connection gives up the leader's lease now and pre-votes
   * after a short random delay instead of waiting out a whole election timeout. Pre-vote keeps
   * this safe: if the leader is in fact alive, the others still hold its lease and refuse.
   */
  reportUnreachable(id: NodeId): void {
    if (this.role === 'leader') {
      const pr = this.prs.get(id);
      if (pr?.state === 'replicate') pr.becomeProbe();
      return;
    }
    if (this.role === 'follower' && this.lead === id && this.promotable()) {
      this.lead = null;
      const soon = this.heartbeatTicks + this.rng.int(0, this.heartbeatTicks * 2 + 1);
      this.electionElapsed = Math.max(this.electionElapsed, this.randomizedElectionTimeout - soon);
    }
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    const pr = this.prs.get(id);
    if (this.role !== 'leader' || !pr || pr.state !== 'snapshot') return;
    if (!ok) pr.pendingSnapshot = 0;
    // Either way, probe: on success the follower's next answer moves it to replicate.
    pr.becomeProbe();
    pr.probeSent = true;
  }

  // ---- configuration ---------------------------------------------------------------------

  /**
   * Applies a committed conf entry as the driver applies that entry, and hands back the
   * change and the configuration now in force (etcd's ApplyConfChange returning ConfState).
   * A conf entry that does not decode (validated when proposed, so only corruption) changes
   * nothing: `change` is null and the configuration is unchanged.
   */
  applyConfEntry(data: Uint8Array): { change: ConfEntry | null; conf: ConfState } {
    let change: ConfEntry;
    try {
      change = decodeConfEntry(data);
    } catch {
      return { change: null, conf: this.conf };
    }
    this.setConf(applyConfEntry(this.conf, change));
    return { change, conf: this.conf };
  }

  setConf(conf: ConfState): void {
    this.conf = conf;
    const members = new Set([...conf.voters, ...conf.learners]);
    for (const id of [...this.prs.keys()]) if (!members.has(id)) this.prs.delete(id);
    const next = this.log.lastIndex() + 1;
    for (const id of members) {
      const isLearner = conf.learners.includes(id);
      const pr = this.prs.get(id);
      if (!pr || pr.isLearner !== isLearner) {
        const fresh = new Progress(pr?.next ?? next, this.maxInflight, isLearner);
        fresh.match = pr?.match ?? (id === this.id ? this.log.lastIndex() : 0);
        fresh.recentActive = true;
        this.prs.set(id, fresh);
      }
    }
    if (this.role !== 'leader') return;
    // What this leader queued for a member the change removed was written for the old
    // configuration, and goes with that member's progress, as a network may drop any message.
    // The driver takes no Ready while it syncs the commit index covering a change (raft-host.ts),
    // so such messages would leave only after the change was applied: the identity layer, whose
    // record of the member went with it, could no longer mark them as meant for its old data dir,
    // and a heartbeat's commit, the old data dir's acknowledgement, stopped its replacement
    // (identity seed 131172).
    this.msgs = this.msgs.filter((m) => members.has(m.to) || !LEADER_MESSAGES.has(m.type));
    if (!this.isVoter(this.id)) {
      // A leader that removed itself steps down; the others elect a successor (§4.2.2).
      this.becomeFollower(this.term, null);
      return;
    }
    if (this.leadTransferee !== null && !this.isVoter(this.leadTransferee)) this.leadTransferee = null;
    if (this.maybeCommit()) this.bcastAppend('commit');
    else for (const id of members) if (id !== this.id && this.prs.get(id)!.match === 0) this.sendAppend(id);
  }

  // ---- the one entry point for messages --------------------------------------------------

  step(m: Message): void {
    if (m.to !== this.id) return;
    if (m.term > this.term) {
      if (m.type === 'PreVote' || m.type === 'Vote') {
        // Leader stickiness (§4.2.3): while we hear from a leader, ignore campaigns, so a
        // node returning from a partition cannot depose a healthy leader. A transfer is exempt.
        const force = m.type === 'Vote' && m.transfer;
        const inLease = this.lead !== null && this.electionElapsed < this.electionTicks;
        if (!force && inLease) return;
      }
      if (m.type === 'PreVote' || (m.type === 'PreVoteResp' && !m.reject)) {
        // Never change term for a pre-vote; a granted pre-vote carries the future term.
      } else if (m.type === 'Append' || m.type === 'Heartbeat' || m.type === 'InstallSnapshot') {
        this.termHeard = m.term;
        this.becomeFollower(m.term, m.from);
      } else {
        this.termHeard = m.term;
        this.becomeFollower(m.term, null);
      }
    } else if (m.term < this.term) {
      if (m.type === 'Append' || m.type === 'Heartbeat') {
        // A stale leader: tell it our term so it steps down (needed with check-quorum and
        // pre-vote, where it would otherwise never learn of the newer term).
        this.send({ type: 'AppendResp', to: m.from, reject: false, index: 0, rejectHint: 0, hintTerm: 0 });
      } else if (m.type === 'PreVote') {
        this.send({ type: 'PreVoteResp', to: m.from, reject: true });
      }
      return;
    }

    if (m.type === 'PreVote' || m.type === 'Vote') {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.role) {
      case 'leader':
        stepLeader(this, m);
        return;
      case 'candidate':
      case 'pre-candidate':
        stepCandidate(this, m);
        return;
      case 'follower':
        stepFollower(this, m);
        return;
    }
  }

  /**
   * A candidate's commit index is a fact about the log it holds. If we hold its last entry, our
   * log matches its log up to there (Log Matching), so what it knows committed up to there is
   * committed here too. Without this, a voter of the old configuration that holds more entries
   * than a just-promoted learner, and never learned that the promotion committed, counts only
   * the old voters and can neither win nor vote for the learner: no leader, for good, once the
   * old leader is gone (test/raft/testdata/promoted_learner_behind_old_voter.txt). Learning the
   * commit applies the promotion, and this node then wins with the learner's vote.
   */
  private learnCommitFrom(m: Extract<Message, { type: 'PreVote' | 'Vote' }>): void {
    if (this.role === 'leader') return;
    const upTo = Math.min(m.commit, m.lastLogIndex);
    if (upTo <= this.log.committed || this.log.term(m.lastLogIndex) !== m.lastLogTerm) return;
    this.log.commitTo(upTo);
  }

  /**
   * Two pre-candidates that grant each other's pre-vote both go on to campaign at the same
   * term, each votes for itself, and with two voters (or a quorum that needs both) neither can
   * win: a split vote. Both then restart their timers on the other's refusal, which reaches
   * each about the same time, so the next round starts close together again; with message
   * delays a fair part of the election timeout (a pre-vote round trip, a write, then the vote's
   * trip), the random part of the timeout rarely separates them. Simulation seeds 949 and
   * 40693 split five times in a row, two voters with equal logs and no leader for ten election
   * timeouts. So a pre-candidate that grants a pre-vote to a peer whose log is more up to date
   * than its own, or as up to date and whose id sorts first, steps back to follower (term and
   * vote unchanged, a fresh timeout): of two such contenders exactly one goes on, and the other
   * then grants its vote. Once per term: if that campaign goes nowhere (the peer cannot reach a
   * quorum), this node campaigns at its next timeout as before, so a doomed contender delays it
   * by one election timeout at most.
   */
  private maybeYield(m: Extract<Message, { type: 'PreVote' }>): void {
    if (this.yieldedAt === this.term) return;
    const lastTerm = this.log.lastTerm();
    const ahead = m.lastLogTerm > lastTerm || (m.lastLogTerm === lastTerm && m.lastLogIndex > this.log.lastIndex());
    if (!ahead && !(m.from < this.id)) return;
    this.yieldedAt = this.term;
    this.becomeFollower(this.term, null);
  }

  /**
   * Grants or refuses a (pre-)vote whether or not this node counts the candidate as a voter
   * (etcd's rule). The candidate may know a newer configuration than ours: a learner promoted
   * by an entry we hold but have not yet seen committed. Ignoring it can leave the cluster
   * leaderless for good (test/raft/testdata/campaign_learner_must_vote.txt). Messages from
   * removed or unknown members are the transport's to refuse (peer identity), not the core's.
   */
  private handleVoteRequest(m: Extract<Message, { type: 'PreVote' | 'Vote' }>): void {
    this.learnCommitFrom(m);
    const canVote =
      this.vote === m.from ||
      (this.vote === null && this.lead === null) ||
      (m.type === 'PreVote' && m.term > this.term);
    const granted = canVote && this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm);
    const type = m.type === 'PreVote' ? 'PreVoteResp' : 'VoteResp';
    if (granted) {
      this.send({ type, to: m.from, term: m.term, reject: false });
      if (m.type === 'Vote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      } else if (this.role === 'pre-candidate') {
        this.maybeYield(m);
      }
    } else {
      this.send({ type, to: m.from, reject: true });
    }
  }
}
