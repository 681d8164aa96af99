import t from 'tap';
import { bootstrapState, MemoryStorage, RawNode, type Message } from '../../src/raft/index.js';
import { seededRng } from '../../src/util/rng.js';

function makeNode(id: string, voters: string[], seed: number) {
  const storage = new MemoryStorage({ voters: [], learners: [] });
  const b = bootstrapState(voters, '');
  storage.append([b.entry]);
  storage.setHardState(b.hardState);
  const node = new RawNode({
    id, storage, rng: seededRng(seed), electionTicks: 10, heartbeatTicks: 1, applied: 0,
    maxMessageBytes: 1 << 20, maxInflight: 64, maxApplyBytes: 1 << 20,
  });
  return { id, node, storage, applied: [] as string[] };
}

void t.test('three nodes elect one leader and commit a proposal everywhere', async (t) => {
  const ids = ['a', 'b', 'c'];
  const nodes = ids.map((id, i) => makeNode(id, ids, i + 1));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const queue: Message[] = [];
  const pump = () => {
    for (let guard = 0; guard < 10000; guard++) {
      let progressed = false;
      for (const n of nodes) {
        while (n.node.hasReady()) {
          progressed = true;
          const rd = n.node.ready();
          if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
          n.storage.append(rd.entries);
          if (rd.hardState) n.storage.setHardState(rd.hardState);
          queue.push(...rd.messages);
          for (const e of rd.committedEntries) {
            if (e.kind === 'normal') n.applied.push(new TextDecoder().decode(e.data));
            if (e.kind === 'conf') n.node.applyConfChange(e);
          }
          n.node.advance(rd);
        }
      }
      const m = queue.shift();
      if (m) { byId.get(m.to)!.node.step(m); progressed = true; }
      if (!progressed) return;
    }
  };
  pump();
  for (let i = 0; i < 40 && !nodes.some((n) => n.node.status().role === 'leader'); i++) {
    for (const n of nodes) n.node.tick();
    pump();
  }
  const leaders = nodes.filter((n) => n.node.status().role === 'leader');
  t.equal(leaders.length, 1, 'exactly one leader');
  leaders[0]!.node.propose(new TextEncoder().encode('x=1'));
  pump();
  for (const n of nodes) n.node.tick();
  pump();
  for (const n of nodes) t.same(n.applied, ['x=1'], `${n.id} applied the proposal`);
});
