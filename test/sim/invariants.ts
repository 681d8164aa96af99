/**
 * Raft's safety properties (Raft paper §5.2-§5.4, figure 3) checked against everything the
 * simulation observes. Each check is incremental: it looks only at what is new since the last
 * call, so the harness can afford to run them after every single event.
 *
 *  election safety       at most one leader per term, over every (term, leader) ever seen.
 *  log matching          two entries with the same index and term are the same entry and sit
 *                        on the same previous term; by induction the logs agree up to them.
 *  leader completeness   an entry committed at term T is in the log of every leader of a later term.
 *  state machine safety  no two nodes apply different entries at one index (and the digests of
 *                        everything applied up to an index agree).
 *  commit monotonicity   a node's commit index never goes back while the process lives.
 *  durable before send   a vote or an append acknowledgement only goes out once what it
 *                        promises is on disk (ready.ts rule 1), and nothing leaves at a term
 *                        that is not on disk.
 */
import type { Entry, Message, NodeId } from '../../src/raft/index.js';
import type { DurableView } from './disk.js';
import { entryIdentity } from './kv.js';

export type InvariantName =
  | 'election-safety'
  | 'log-matching'
  | 'leader-completeness'
  | 'state-machine-safety'
  | 'commit-monotonic'
  | 'durable-before-send'
  | 'acknowledged-write-lost'
  | 'wrong-acknowledgement'
  | 'stale-read'
  | 'driver-agreement'
  | 'liveness';

export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
  readonly code = 'INVARIANT_VIOLATION';
  constructor(
    readonly invariant: InvariantName,
    message: string,
  ) {
    super(`${invariant}: ${message}`);
  }
}

/** How a check reads one node's log (durable plus whatever it can see). */
export interface LogView {
  /** Term of entry i, or null when compacted or beyond the end. */
  term(i: number): number | null;
  /** Entry i, or null when compacted or beyond the end. */
  entry(i: number): Entry | null;
  /** Entries at or below this index were compacted away (the storage's firstIndex - 1). */
  compacted(): number;
  lastIndex(): number;
}

interface Committed {
  /** Term of the committed entry; null when no observer could see the entry itself. */
  readonly entryTerm: number | null;
  readonly identity: string | null;
  /** The observer's term when it first saw the commit: >= the term the entry was committed in. */
  readonly observedTerm: number;
}

export class SafetyChecker {
  private readonly leaders = new Map<number, NodeId>();
  /** `${index}/${term}` -> what that entry is and the term of the entry before it. */
  private readonly logIds = new Map<string, { identity: string; prevTerm: number | null; by: NodeId }>();
  /** index -> the entry applied there and the digest of everything applied up to it. */
  private readonly appliedAt = new Map<number, { identity: string; digest: number; by: NodeId }>();
  private readonly committed = new Map<number, Committed>();
  private maxCommitted = 0;
  private readonly lastCommit = new Map<NodeId, number>();
  /** Per node: committed indexes whose entries were checked against its log. */
  private readonly lastChecked = new Map<NodeId, number>();
  /** `${node}/${term}` -> committed indexes already checked against that leader's log. */
  private readonly leaderChecked = new Map<string, number>();

  /** Every (term, leader) pair ever seen. */
  leaderHistory(): ReadonlyMap<number, NodeId> {
    return this.leaders;
  }

  committedIndex(): number {
    return this.maxCommitted;
  }

  appliedIdentity(index: number): string | undefined {
    return this.appliedAt.get(index)?.identity;
  }

  observeLeader(node: NodeId, term: number): void {
    const prev = this.leaders.get(term);
    if (prev === undefined) this.leaders.set(term, node);
    else if (prev !== node) {
      throw new InvariantViolation('election-safety', `term ${term} has two leaders: ${prev} and ${node}`);
    }
  }

  /** Entries a node just wrote to its log, with its log as it is after the write. */
  observeLogEntries(node: NodeId, entries: readonly Entry[], log: LogView): void {
    for (const e of entries) {
      if (e.index <= log.compacted()) continue; // already covered by a snapshot: skipped by storage
      const identity = entryIdentity(e);
      const prevTerm = e.index - 1 <= 0 ? 0 : log.term(e.index - 1);
      const key = `${e.index}/${e.term}`;
      const seen = this.logIds.get(key);
      if (!seen) {
        this.logIds.set(key, { identity, prevTerm, by: node });
        continue;
      }
      if (seen.identity !== identity) {
        throw new InvariantViolation(
          'log-matching',
          `entry ${key} is ${JSON.stringify(identity)} on ${node} but ${JSON.stringify(seen.identity)} on ${seen.by}`,
        );
      }
      if (seen.prevTerm !== null && prevTerm !== null && seen.prevTerm !== prevTerm) {
        throw new InvariantViolation(
          'log-matching',
          `entry ${key} follows term ${prevTerm} on ${node} but term ${seen.prevTerm} on ${seen.by}`,
        );
      }
    }
  }

  observeApply(node: NodeId, index: number, identity: string, digest: number): void {
    const seen = this.appliedAt.get(index);
    if (!seen) {
      this.appliedAt.set(index, { identity, digest, by: node });
      const c = this.committed.get(index);
      if (c && c.identity !== null && c.identity !== identity) {
        throw new InvariantViolation(
          'state-machine-safety',
          `${node} applied ${JSON.stringify(identity)} at ${index}, but ${JSON.stringify(c.identity)} was committed there`,
        );
      }
      return;
    }
    if (seen.identity !== identity || seen.digest !== digest) {
      throw new InvariantViolation(
        'state-machine-safety',
        `${node} applied ${JSON.stringify(identity)} at ${index} (digest ${digest}); ` +
          `${seen.by} applied ${JSON.stringify(seen.identity)} (digest ${seen.digest})`,
      );
    }
  }

  /** A state machine restored from a snapshot must equal one that applied up to its index. */
  observeRestore(node: NodeId, index: number, digest: number): void {
    const seen = this.appliedAt.get(index);
    if (!seen) {
      throw new InvariantViolation('state-machine-safety', `${node} restored a snapshot at ${index} that nobody applied up to`);
    }
    if (seen.digest !== digest) {
      throw new InvariantViolation(
        'state-machine-safety',
        `${node} restored a snapshot at ${index} with digest ${digest}; ${seen.by} applied up to it with digest ${seen.digest}`,
      );
    }
  }

  /**
   * A node's commit index as of now. Checks that it did not go back, records newly committed
   * entries, and checks that the node's log agrees with every committed entry it newly covers
   * (as far as `writtenCommit`, the commit index written with that log, and `stableIndex`, the
   * last index up to which that log is durable).
   */
  observeCommit(node: NodeId, commit: number, term: number, log: LogView, writtenCommit = commit, stableIndex = Number.POSITIVE_INFINITY): void {
    const last = this.lastCommit.get(node);
    if (last !== undefined && commit < last) {
      throw new InvariantViolation('commit-monotonic', `${node}'s commit went from ${last} back to ${commit} without a crash`);
    }
    this.lastCommit.set(node, commit);
    // The core moves its commit index (and may replace its log's suffix, or the whole log by a
    // snapshot) as a message steps in; its driver writes that Ready at a later event. Entries
    // are checked against the log as written, up to the commit index written with it. And only
    // as far as that log is durable: a lone voter commits an entry as it appends it, and a crash
    // before the write is synced loses both; nobody acted on that commit (its driver applies,
    // answers and sends it only once the write completes), so it is no committed entry lost.
    const upTo = Math.min(writtenCommit, log.lastIndex(), stableIndex);
    const checked = this.lastChecked.get(node) ?? 0;
    if (upTo <= checked) return;
    this.lastChecked.set(node, upTo);
    const from = Math.max(checked, log.compacted()) + 1;
    for (let i = from; i <= upTo; i++) {
      const e = log.entry(i);
      const identity = e ? entryIdentity(e) : null;
      const c = this.committed.get(i);
      if (!c) {
        const applied = this.appliedAt.get(i);
        const known = identity ?? applied?.identity ?? null;
        this.committed.set(i, { entryTerm: e?.term ?? termOfIdentity(known), identity: known, observedTerm: term });
        if (applied && identity !== null && applied.identity !== identity) {
          throw new InvariantViolation(
            'state-machine-safety',
            `${node} committed ${JSON.stringify(identity)} at ${i}, but ${applied.by} applied ${JSON.stringify(applied.identity)}`,
          );
        }
      } else if (identity !== null && c.identity !== null && identity !== c.identity) {
        throw new InvariantViolation(
          'log-matching',
          `${node} has ${JSON.stringify(identity)} at committed index ${i}, but ${JSON.stringify(c.identity)} was committed there`,
        );
      }
    }
    if (upTo > this.maxCommitted) this.maxCommitted = upTo;
  }

  /** The node crashed: its next commit may be lower (unsynced commit lost) and that is allowed. */
  forgetNode(node: NodeId): void {
    this.lastCommit.delete(node);
    this.lastChecked.delete(node);
  }

  /** A leader of `term` must hold every entry committed at an earlier term (§5.4.1). */
  checkLeaderCompleteness(node: NodeId, term: number, log: LogView): void {
    const key = `${node}/${term}`;
    const done = this.leaderChecked.get(key) ?? 0;
    if (done >= this.maxCommitted) return;
    const snap = log.compacted();
    for (let i = done + 1; i <= this.maxCommitted; i++) {
      const c = this.committed.get(i);
      if (!c || c.observedTerm >= term || c.entryTerm === null || i <= snap) continue;
      const t = log.term(i);
      if (t !== c.entryTerm) {
        throw new InvariantViolation(
          'leader-completeness',
          `leader ${node} of term ${term} has ${t === null ? 'no entry' : `term ${t}`} at ${i}, ` +
            `where an entry of term ${c.entryTerm} was committed by term ${c.observedTerm}`,
        );
      }
    }
    this.leaderChecked.set(key, this.maxCommitted);
  }

  /**
   * What a message promises must already be on disk (ready.ts, rule 1). A vote or an append
   * acknowledgement of a term older than the one on disk promises nothing any more: the node
   * will never act at that term again. (One Ready can carry answers from several terms when
   * messages stepped in while the previous write was in flight.)
   */
  checkDurableBeforeSend(m: Message, disk: DurableView, liveTerm: (i: number) => number | null): void {
    const hs = disk.hardState();
    if (m.type !== 'PreVote' && m.type !== 'PreVoteResp' && m.term > hs.term) {
      throw new InvariantViolation('durable-before-send', `${m.from} sent ${m.type} at term ${m.term} with term ${hs.term} on disk`);
    }
    if (m.term < hs.term) return;
    if (m.type === 'VoteResp' && !m.reject && (hs.term !== m.term || hs.vote !== m.to)) {
      throw new InvariantViolation(
        'durable-before-send',
        `${m.from} granted its vote to ${m.to} at term ${m.term} with term ${hs.term}, vote ${hs.vote} on disk`,
      );
    }
    if (m.type === 'AppendResp' && !m.reject && m.index > 0) {
      const onDisk = disk.term(m.index);
      const covered = m.index <= disk.lastIndex() && (onDisk === null || onDisk === liveTerm(m.index));
      if (!covered) {
        throw new InvariantViolation(
          'durable-before-send',
          `${m.from} acknowledged entries up to ${m.index} with only ${disk.lastIndex()} on disk`,
        );
      }
    }
  }
}

/** Identities start with the entry's term (see kv.ts entryIdentity). */
function termOfIdentity(identity: string | null): number | null {
  if (identity === null) return null;
  const t = Number(identity.slice(0, identity.indexOf(':')));
  return Number.isInteger(t) ? t : null;
}
