import t from 'tap';
import { rawCluster } from './raw-cluster.js';

void t.test('three nodes elect one leader and commit a proposal everywhere', async (t) => {
  const { nodes, pump, elect } = rawCluster(['a', 'b', 'c']);
  elect();
  const leaders = nodes.filter((n) => n.node.status().role === 'leader');
  t.equal(leaders.length, 1, 'exactly one leader');
  leaders[0]!.node.propose(new TextEncoder().encode('x=1'));
  pump();
  for (const n of nodes) n.node.tick();
  pump();
  for (const n of nodes) t.same(n.applied, ['x=1'], `${n.id} applied the proposal`);
});
