/**
 * What the lost-disk rules take from the core (docs/architecture.md, "Identity"): the commit
 * index a leader vouches for (an entry of the node's own term there), which a new leader's lags
 * until it commits an entry of its own term; and a node whose own vote may not count does not
 * campaign (RaftConfig.mayCampaign).
 */
import t from 'tap';
import { bootstrapState, MemoryStorage, RawNode, type Entry, type HardState, type Message } from '../../src/raft/index.js';
import { seededRng } from '../../src/util/rng.js';
import { rawCluster } from './raw-cluster.js';

const IDS = ['a', 'b', 'c'];

function entry(index: number, term: number): Entry {
  return { index, term, kind: 'normal', data: new TextEncoder().encode(`${index}@${term}`) };
}

/** Node `a` restarted from a log of `entries` after the bootstrap entry, with `hard`. */
function restarted(entries: readonly Entry[], hard: HardState, mayCampaign?: () => boolean): { node: RawNode; storage: MemoryStorage } {
  const storage = new MemoryStorage({ voters: [], learners: [] });
  storage.append([bootstrapState(IDS, '').entry, ...entries]);
  storage.setHardState(hard);
  const node = new RawNode({
    id: 'a', storage, rng: seededRng(1), electionTicks: 10, heartbeatTicks: 1, applied: 0,
    maxMessageBytes: 1 << 20, maxInflight: 64, maxApplyBytes: 1 << 20,
    ...(mayCampaign === undefined ? {} : { mayCampaign }),
  });
  settle(node, storage);
  return { node, storage };
}

/** Handles every Ready (the bootstrap entry's configuration applied); the messages asked, by type. */
function settle(node: RawNode, storage: MemoryStorage): Message['type'][] {
  const sent: Message['type'][] = [];
  while (node.hasReady()) {
    const rd = node.ready();
    storage.append(rd.entries);
    if (rd.hardState) storage.setHardState(rd.hardState);
    sent.push(...rd.messages.map((m) => m.type));
    for (const e of rd.committedEntries) if (e.kind === 'conf') node.applyConfChange(e);
    node.advance(rd);
  }
  return sent;
}

void t.test('a commit index vouches only where its entry is of the current term', async (t) => {
  const log = [entry(2, 2), entry(3, 2)];
  t.equal(restarted([], { term: 1, vote: null, commit: 1 }).node.vouchedCommit(), null, 'the bootstrap entry: term 1 has no leader');
  t.equal(restarted(log, { term: 2, vote: null, commit: 3 }).node.vouchedCommit(), 3, "commit 3 at term 2, an entry of term 2: the term's leader vouched");
  t.equal(restarted(log, { term: 2, vote: null, commit: 2 }).node.vouchedCommit(), 2, 'below the last entry, still of term 2');
  t.equal(
    restarted(log, { term: 3, vote: null, commit: 2 }).node.vouchedCommit(),
    null,
    "at term 3 with commit 2 (term 2): what term 3's leader told lags until it commits an entry of its own",
  );
});

void t.test('a log whose entries beyond the bootstrap are all of the current term', async (t) => {
  const log = [entry(2, 2), entry(3, 2)];
  t.equal(restarted(log, { term: 2, vote: null, commit: 1 }).node.onlyTermBeyondBootstrap(), true, "term 2's leader was elected with nothing beyond the bootstrap");
  t.equal(restarted(log, { term: 3, vote: null, commit: 1 }).node.onlyTermBeyondBootstrap(), false, "at term 3, term 2's entries say nothing of term 3's leader");
  t.equal(restarted([entry(2, 2), entry(3, 3)], { term: 3, vote: null, commit: 1 }).node.onlyTermBeyondBootstrap(), false, 'an earlier term beyond the bootstrap');
  t.equal(restarted([], { term: 2, vote: null, commit: 1 }).node.onlyTermBeyondBootstrap(), false, 'nothing beyond the bootstrap');
});

void t.test("a new leader's commit vouches once its own entry commits, and its followers' with it", async (t) => {
  const c = rawCluster(IDS);
  const leader = c.elect();
  if (leader === null) throw new Error('no leader elected');
  const term = leader.node.status().term;
  t.ok(term > 1, 'elected at a term after the bootstrap');
  for (const n of c.nodes) {
    const commit = n.node.status().commit;
    t.ok(commit > 1, `${n.id} learned the leader's no-op committed`);
    t.equal(n.node.vouchedCommit(), commit, `${n.id}: commit ${commit} vouched at term ${term}`);
  }
});

void t.test('a node whose own vote may not count never campaigns', async (t) => {
  let allowed = false;
  const { node: n, storage } = restarted([entry(2, 2)], { term: 2, vote: null, commit: 2 }, () => allowed);
  t.same(n.status().conf.voters, IDS, 'a voter of the bootstrap configuration');
  const sent: Message['type'][] = [];
  for (let i = 0; i < 40; i++) {
    n.tick();
    sent.push(...settle(n, storage));
  }
  n.campaign();
  sent.push(...settle(n, storage));
  t.equal(n.status().role, 'follower', 'neither its election timeout nor a campaign asked for makes it a candidate');
  t.equal(n.status().term, 2, 'and its term stays');
  t.same(sent, [], 'no vote asked');
  allowed = true;
  for (let i = 0; i < 40 && n.status().role === 'follower'; i++) n.tick();
  t.equal(n.status().role, 'pre-candidate', 'once its vote may count, its election timeout starts a campaign');
  t.same(settle(n, storage), ['PreVote', 'PreVote'], 'asking both peers');
});

/** Node `id` of IDS restarted from `entries` after the bootstrap entry, with `hard`. */
function member(id: string, entries: readonly Entry[], hard: HardState, seed: number, mayCampaign?: (n: RawNode) => boolean): { node: RawNode; storage: MemoryStorage } {
  const storage = new MemoryStorage({ voters: [], learners: [] });
  storage.append([bootstrapState(IDS, '').entry, ...entries]);
  storage.setHardState(hard);
  const holder: { node?: RawNode } = {};
  const node = new RawNode({
    id, storage, rng: seededRng(seed), electionTicks: 10, heartbeatTicks: 1, applied: 0,
    maxMessageBytes: 1 << 20, maxInflight: 64, maxApplyBytes: 1 << 20,
    ...(mayCampaign === undefined ? {} : { mayCampaign: () => mayCampaign(holder.node!) }),
  });
  holder.node = node;
  settle(node, storage);
  return { node, storage };
}

void t.test("a node that may stand only by rule 6's exception still may after an election of its own that failed", async (t) => {
  // The exception's own case (docs/architecture.md): a new cluster's first leader `a` crashed
  // before its no-op 2@2 committed; `c` is down; `b` holds only the bootstrap entry. `a` (it
  // bootstrapped unanswered: rule 6 lets it stand only with a log all of one term, the
  // exception) wins b's pre-vote and stands at term 3, and its Vote request is lost. Its own
  // campaign moved its term past its entries' term; nothing was heard of term 3 from anyone.
  // It must still stand: b cannot win (a refuses it: a's log is more up to date), and c is down.
  const a = member('a', [entry(2, 2)], { term: 2, vote: 'a', commit: 1 }, 1, (n) => n.onlyTermBeyondBootstrap());
  const b = member('b', [], { term: 2, vote: 'a', commit: 1 }, 2);
  const nodes = new Map([['a', a], ['b', b]]);
  const queue: Message[] = [];
  const pump = (drop: (m: Message) => boolean): void => {
    for (let guard = 0; guard < 1000; guard++) {
      for (const n of nodes.values()) {
        while (n.node.hasReady()) {
          const rd = n.node.ready();
          n.storage.append(rd.entries);
          if (rd.hardState) n.storage.setHardState(rd.hardState);
          queue.push(...rd.messages);
          for (const e of rd.committedEntries) if (e.kind === 'conf') n.node.applyConfChange(e);
          n.node.advance(rd);
        }
      }
      const m = queue.shift();
      if (m === undefined) return;
      if (!drop(m)) nodes.get(m.to)?.node.step(m); // c is down: its messages go nowhere
    }
  };
  for (let i = 0; i < 40 && a.node.status().role !== 'candidate'; i++) {
    a.node.tick();
    pump((m) => m.type === 'Vote');
  }
  t.match(a.node.status(), { role: 'candidate', term: 3 }, 'a stood at term 3, its Vote request lost');
  t.equal(a.node.onlyTermBeyondBootstrap(), true, 'its term rose by its own campaign only: still a log all of the term it holds');
  for (let i = 0; i < 100 && a.node.status().role !== 'leader'; i++) {
    a.node.tick();
    b.node.tick();
    pump(() => false);
  }
  t.equal(a.node.status().role, 'leader', 'a stands again and wins with b');
  // Restarted with that term and its own vote: the term before it is all it may have heard.
  const again = member('a', [entry(2, 2)], { term: 3, vote: 'a', commit: 1 }, 3);
  t.equal(again.node.onlyTermBeyondBootstrap(), true, 'after a restart, a term held by its own vote is its own campaign');
  const heard = member('a', [entry(2, 2)], { term: 3, vote: null, commit: 1 }, 4);
  t.equal(heard.node.onlyTermBeyondBootstrap(), false, 'a later term heard from another node (no vote of its own): no longer');
  const twice = member('a', [entry(2, 2)], { term: 4, vote: 'a', commit: 1 }, 5);
  t.equal(twice.node.onlyTermBeyondBootstrap(), false, 'nor a term above it whose origin is unknown after a restart');
});
