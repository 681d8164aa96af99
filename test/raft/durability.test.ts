/**
 * ready.ts rule 1: whatever a message in a Ready promises must be synced before it is sent, so
 * `mustSync` must be true whenever the Ready carries such a promise. Only a Ready in which
 * nothing but the commit index moved may skip the fsync (thesis §10.2.1).
 */
import t from 'tap';
import {
  bootstrapState,
  MemoryStorage,
  RawNode,
  type Message,
  type Ready,
  type Snapshot,
} from '../../src/raft/index.js';
import { seededRng } from '../../src/util/rng.js';

/** Follower `b` of a bootstrapped {a, b, c}, following `a` at term 2, everything persisted. */
function follower(): { node: RawNode; storage: MemoryStorage; settle: () => Ready[] } {
  const storage = new MemoryStorage({ voters: [], learners: [] });
  const b = bootstrapState(['a', 'b', 'c'], '');
  storage.append([b.entry]);
  storage.setHardState(b.hardState);
  const node = new RawNode({
    id: 'b', storage, rng: seededRng(7), electionTicks: 10, heartbeatTicks: 1, applied: 0,
    maxMessageBytes: 1 << 20, maxInflight: 16, maxApplyBytes: 1 << 20,
  });
  const settle = (): Ready[] => {
    const out: Ready[] = [];
    while (node.hasReady()) {
      const rd = node.ready();
      if (rd.snapshot) storage.applySnapshot(rd.snapshot);
      storage.append(rd.entries);
      if (rd.hardState) storage.setHardState(rd.hardState);
      for (const e of rd.committedEntries) if (e.kind === 'conf') node.applyConfChange(e);
      node.advance(rd);
      out.push(rd);
    }
    return out;
  };
  settle();
  node.step({ type: 'Append', from: 'a', to: 'b', term: 2, prevIndex: 1, prevTerm: 1, commit: 1, commitOnly: false,
    entries: [{ term: 2, index: 2, kind: 'noop', data: new Uint8Array(0) }] });
  settle();
  return { node, storage, settle };
}

function acks(rd: Ready): Message[] {
  return rd.messages.filter((m) => m.type === 'AppendResp' && !m.reject);
}

void t.test('a Ready that installs a snapshot must be synced: it acknowledges the snapshot to the leader', async (t) => {
  // Regression (found by the simulation): at an unchanged term with no new entries, mustSync was
  // false although the same Ready told the leader the follower now holds the snapshot's index.
  const { node } = follower();
  const snapshot: Snapshot = {
    meta: { index: 10, term: 2, conf: { voters: ['a', 'b', 'c'], learners: [] } },
    data: new TextEncoder().encode('state at 10'),
  };
  node.step({ type: 'InstallSnapshot', from: 'a', to: 'b', term: 2, snapshot });
  const rd = node.ready();
  t.equal(rd.snapshot?.meta.index, 10, 'the Ready carries the snapshot');
  t.same(acks(rd).map((m) => m.type === 'AppendResp' && m.index), [10], 'and acknowledges index 10');
  t.equal(rd.mustSync, true, 'so it must be synced before that acknowledgement is sent');
});

void t.test('a Ready that appends entries, or changes term or vote, must be synced', async (t) => {
  const { node, settle } = follower();
  node.step({ type: 'Append', from: 'a', to: 'b', term: 2, prevIndex: 2, prevTerm: 2, commit: 2, commitOnly: false,
    entries: [{ term: 2, index: 3, kind: 'normal', data: new Uint8Array([1]) }] });
  t.equal(node.ready().mustSync, true, 'new entries');
  settle();
  node.step({ type: 'Heartbeat', from: 'c', to: 'b', term: 3, commit: 0, context: '' });
  t.equal(node.ready().mustSync, true, 'a new term');
  settle();
  node.tick();
  for (let i = 0; i < 30; i++) node.tick(); // lease over
  settle();
  node.step({ type: 'Vote', from: 'c', to: 'b', term: 9, lastLogIndex: 50, lastLogTerm: 9, commit: 0, transfer: false });
  const rd = node.ready();
  t.ok(rd.messages.some((m) => m.type === 'VoteResp' && !m.reject), 'a granted vote');
  t.equal(rd.mustSync, true, 'is synced before it is sent');
});

void t.test('a Ready in which only the commit index moved need not be synced', async (t) => {
  const { node, settle } = follower();
  node.step({ type: 'Append', from: 'a', to: 'b', term: 2, prevIndex: 2, prevTerm: 2, commit: 1, commitOnly: false,
    entries: [{ term: 2, index: 3, kind: 'normal', data: new Uint8Array([1]) }] });
  settle();
  node.step({ type: 'Heartbeat', from: 'a', to: 'b', term: 2, commit: 3, context: '' });
  const rd = node.ready();
  t.equal(rd.hardState?.commit, 3, 'the commit index moved');
  t.equal(rd.mustSync, false, 'and nothing else: no fsync needed');
});
