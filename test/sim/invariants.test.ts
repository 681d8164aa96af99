/**
 * The checkers themselves: each must reject the violation it exists for, or the simulation's
 * green runs would mean nothing.
 */
import t from 'tap';
import { MemoryStorage, type Entry, type HardState, type Message } from '../../src/raft/index.js';
import { ClientTracker } from './clients.js';
import { applyWrite, bootstrapDisk, type Disk, type DiskWrite, type DurableView } from './disk.js';
import { InvariantViolation, SafetyChecker, type LogView } from './invariants.js';
import { encodePut, entryIdentity } from './kv.js';
import { logView } from './node-checks.js';

const enc = new TextEncoder();
const entry = (index: number, term: number, data = `e${index}`): Entry => ({ index, term, kind: 'normal', data: enc.encode(data) });

/** A log holding `entries` (index 1 upwards), nothing compacted. */
function log(entries: readonly Entry[]): LogView {
  return {
    term: (i) => (i === 0 ? 0 : (entries[i - 1]?.term ?? null)),
    entry: (i) => entries[i - 1] ?? null,
    compacted: () => 0,
    lastIndex: () => entries.length,
  };
}

/** True when `fn` throws the InvariantViolation named `invariant`. */
function violates(invariant: string, fn: () => void): boolean {
  try {
    fn();
  } catch (e) {
    return e instanceof InvariantViolation && e.invariant === invariant;
  }
  return false;
}

void t.test('election safety: a second leader in a term is caught', async (t) => {
  const c = new SafetyChecker();
  c.observeLeader('a', 3);
  c.observeLeader('a', 3);
  c.observeLeader('b', 4);
  t.ok(violates('election-safety', () => c.observeLeader('b', 3)), 'b leading term 3 after a');
});

void t.test('log matching: the same index and term with different contents or predecessors is caught', async (t) => {
  const c = new SafetyChecker();
  const a = [entry(1, 1), entry(2, 2)];
  c.observeLogEntries('a', a, log(a));
  const sameEntries = [entry(1, 1), entry(2, 2)];
  c.observeLogEntries('b', sameEntries, log(sameEntries));
  t.pass('identical logs agree');
  const other = [entry(1, 1), entry(2, 2, 'different')];
  t.ok(violates('log-matching', () => c.observeLogEntries('c', [other[1]!], log(other))), 'different data at 2/2');
  const shifted = [entry(1, 3), entry(2, 2)];
  t.ok(violates('log-matching', () => c.observeLogEntries('d', [shifted[1]!], log(shifted))), 'same 2/2 after a different term');
});

void t.test('state machine safety: different entries or histories applied at one index are caught', async (t) => {
  const c = new SafetyChecker();
  c.observeApply('a', 1, 'x', 111);
  c.observeApply('b', 1, 'x', 111);
  t.ok(violates('state-machine-safety', () => c.observeApply('c', 1, 'y', 222)), 'another entry at 1');
  t.ok(violates('state-machine-safety', () => c.observeApply('c', 1, 'x', 999)), 'the same entry on top of another history');
  t.ok(violates('state-machine-safety', () => c.observeRestore('d', 1, 999)), 'a snapshot whose state differs');
  t.ok(violates('state-machine-safety', () => c.observeRestore('d', 7, 111)), 'a snapshot nobody applied up to');
});

void t.test('commit monotonicity: commit going back is caught unless the node crashed', async (t) => {
  const c = new SafetyChecker();
  const l = log([entry(1, 1), entry(2, 1), entry(3, 1)]);
  c.observeCommit('a', 3, 1, l);
  t.ok(violates('commit-monotonic', () => c.observeCommit('a', 2, 1, l)), 'commit 3 -> 2');
  c.forgetNode('a');
  c.observeCommit('a', 2, 1, l);
  t.pass('after a crash, a lower commit is allowed');
});

void t.test('committed entries: a node whose log disagrees with a committed entry is caught', async (t) => {
  const c = new SafetyChecker();
  c.observeCommit('a', 2, 1, log([entry(1, 1), entry(2, 1)]));
  t.ok(violates('log-matching', () => c.observeCommit('b', 2, 2, log([entry(1, 1), entry(2, 2)]))), 'b committed a different entry 2');
});

/**
 * A lone voter a on a simulated disk: writes entry 2 of term `term` with its commit index in one
 * write, as RaftHost does (the core commits the entry as it appends it). Returns the write's id.
 */
function loneVoterWrites(disk: Disk, written: MemoryStorage, term: number, data: string): number {
  const w: DiskWrite = { kind: 'ready', snapshot: null, entries: [entry(2, term, data)], hardState: { term, vote: 'a', commit: 2 } };
  applyWrite(written, w);
  return disk.write(w);
}

/** What the checks see of node a after each event: its written log and how far it is durable. */
function observeA(c: SafetyChecker, disk: Disk, written: MemoryStorage, term: number, stable: boolean): void {
  c.observeCommit('a', written.hardState().commit, term, logView(written), written.hardState().commit, stable ? disk.stableIndex() : undefined);
}

/** Node a after a crash: the durable image is all its next process has. */
function restart(c: SafetyChecker, disk: Disk, keep: number): MemoryStorage {
  disk.crash(keep);
  c.forgetNode('a');
  const written = new MemoryStorage({ voters: ['a'], learners: [] });
  applyWrite(written, { kind: 'ready', ...disk.load() });
  return written;
}

function freshLoneVoter(): { disk: Disk; written: MemoryStorage } {
  const hs = { term: 1, vote: null, commit: 1 };
  const written = new MemoryStorage({ voters: ['a'], learners: [] });
  applyWrite(written, { kind: 'ready', snapshot: null, entries: [entry(1, 1)], hardState: hs });
  return { disk: bootstrapDisk(entry(1, 1), hs), written };
}

for (const stable of [false, true]) {
  void t.test(`committed entries, ${stable ? 'counted once durable' : 'the old rule, counted once written'}: a lone voter's commit lost with its unsynced write`, async (t) => {
    const c = new SafetyChecker();
    const { disk } = freshLoneVoter();
    let { written } = freshLoneVoter();
    loneVoterWrites(disk, written, 2, 'lost');
    observeA(c, disk, written, 2, stable);
    t.equal(disk.stableIndex(), 1, 'entry 2 is written but not durable');
    written = restart(c, disk, 0);
    t.equal(written.lastIndex(), 1, 'the crash lost entry 2 and the commit index with it');
    const id = loneVoterWrites(disk, written, 3, 'kept');
    disk.syncThrough(id);
    const check = (): void => observeA(c, disk, written, 3, stable);
    if (stable) {
      check();
      t.pass('an entry committed only on a write that was lost is not a committed entry lost');
    } else t.ok(violates('log-matching', check), 'the old rule took the lost entry for a committed one');
  });
}

void t.test('committed entries, counted once durable: a synced committed entry lost is still caught', async (t) => {
  const c = new SafetyChecker();
  const { disk } = freshLoneVoter();
  let { written } = freshLoneVoter();
  disk.syncThrough(loneVoterWrites(disk, written, 2, 'synced'));
  observeA(c, disk, written, 2, true);
  t.equal(c.committedIndex(), 2, 'entry 2 counts as committed once durable');
  written = restart(c, disk, 0);
  t.equal(written.lastIndex(), 2, 'entry 2 survives the crash');
  // A bug then overwrites it with another entry, synced: a committed entry lost.
  disk.syncThrough(loneVoterWrites(disk, written, 3, 'other'));
  t.ok(violates('log-matching', () => observeA(c, disk, written, 3, true)), 'another entry at committed index 2 is caught');
});

void t.test('leader completeness: a later leader missing a committed entry is caught', async (t) => {
  const c = new SafetyChecker();
  c.observeCommit('a', 3, 2, log([entry(1, 1), entry(2, 2), entry(3, 2)]));
  c.checkLeaderCompleteness('a', 2, log([entry(1, 1), entry(2, 2), entry(3, 2)]));
  c.checkLeaderCompleteness('b', 2, log([entry(1, 1)]));
  t.pass('a leader of the same term is not held to it (it may be the stale one)');
  t.ok(violates('leader-completeness', () => c.checkLeaderCompleteness('c', 3, log([entry(1, 1), entry(2, 2)]))), 'term 3 leader lacks 3');
});

void t.test('durable before send: promises not yet on disk are caught', async (t) => {
  const c = new SafetyChecker();
  const disk = (hs: HardState, last: number): DurableView => ({ hardState: () => hs, lastIndex: () => last, term: (i) => (i <= last ? 1 : null) });
  const live = (): number => 1;
  const grant: Message = { type: 'VoteResp', from: 'b', to: 'a', term: 2, reject: false };
  c.checkDurableBeforeSend(grant, disk({ term: 2, vote: 'a', commit: 0 }, 1), live);
  t.ok(violates('durable-before-send', () => c.checkDurableBeforeSend(grant, disk({ term: 2, vote: null, commit: 0 }, 1), live)), 'vote not on disk');
  t.ok(violates('durable-before-send', () => c.checkDurableBeforeSend(grant, disk({ term: 1, vote: null, commit: 0 }, 1), live)), 'term not on disk');
  const ack: Message = { type: 'AppendResp', from: 'b', to: 'a', term: 1, reject: false, index: 5, rejectHint: 0, hintTerm: 0 };
  c.checkDurableBeforeSend(ack, disk({ term: 1, vote: null, commit: 0 }, 5), live);
  t.ok(violates('durable-before-send', () => c.checkDurableBeforeSend(ack, disk({ term: 1, vote: null, commit: 0 }, 4), live)), 'entries not on disk');
  const preVote: Message = { type: 'PreVote', from: 'b', to: 'a', term: 9, lastLogIndex: 1, lastLogTerm: 1 , commit: 0};
  c.checkDurableBeforeSend(preVote, disk({ term: 1, vote: null, commit: 0 }, 1), live);
  t.pass('a pre-vote at a future term promises nothing');
});

void t.test('reads: a value older than an acknowledged write or a completed read is caught', async (t) => {
  const k = new ClientTracker();
  const safety = new SafetyChecker();
  const w1 = k.newWrite('x');
  const e5: Entry = { index: 5, term: 2, kind: 'normal', data: encodePut(w1) };
  safety.observeApply('a', 5, entryIdentity(e5), 1);
  t.equal(k.onAck('a', w1, { index: 5, term: 2 }, safety).index, 5, 'the write is acknowledged');

  const r1 = k.issueRead('b', 'x');
  t.ok(violates('stale-read', () => k.onReadServed('b', r1, 4, () => ({ value: 'old', id: 'w0', index: 3 }))), 'read index and value before the ack');
  const r2 = k.issueRead('b', 'x');
  k.onReadServed('b', r2, 7, () => ({ value: 'v', id: 'w9', index: 7 }));
  t.pass('a read of a newer value is fine');
  const r3 = k.issueRead('c', 'x');
  t.ok(violates('stale-read', () => k.onReadServed('c', r3, 7, () => ({ value: 'v', id: w1.id, index: 5 }))), 'older than what a completed read saw');
});

void t.test('writes: an acknowledgement for another entry than the write is caught, and so is loss', async (t) => {
  const k = new ClientTracker();
  const safety = new SafetyChecker();
  const w = k.newWrite('x');
  safety.observeApply('a', 5, entryIdentity({ index: 5, term: 3, kind: 'noop', data: new Uint8Array(0) }), 1);
  t.ok(violates('wrong-acknowledgement', () => k.onAck('a', w, { index: 5, term: 2 }, safety)), 'a no-op of a later term took the index');
  safety.observeApply('a', 6, entryIdentity({ index: 6, term: 3, kind: 'normal', data: encodePut(w) }), 2);
  t.ok(violates('wrong-acknowledgement', () => k.onAck('a', w, { index: 6, term: 2 }, safety)), 'the same write at another term');
  t.ok(violates('wrong-acknowledgement', () => k.onAck('a', w, { index: 9, term: 3 }, safety)), 'an index nobody applied');
  const w2 = k.newWrite('y');
  const e: Entry = { index: 8, term: 3, kind: 'normal', data: encodePut(w2) };
  safety.observeApply('b', 8, entryIdentity(e), 3);
  t.equal(k.onAck('b', w2, { index: 8, term: 3 }, safety).index, 8, 'acknowledged');
  t.match(entryIdentity(e), /^3:normal:put/, 'entries are named by term, kind and contents');
  k.checkNothingLost('c', 8, () => ({ value: 'v', id: w2.id, index: 8 }));
  t.ok(violates('acknowledged-write-lost', () => k.checkNothingLost('c', 8, () => undefined)), 'a node that applied past it without it');
  t.ok(violates('acknowledged-write-lost', () => k.checkNothingLost('c', 9, () => ({ value: 'v', id: 'w77', index: 8 }))), 'another write at its index');
});
