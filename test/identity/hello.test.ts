/** The answer a running node gives to the start-up question (src/identity/hello.ts). */
import t from 'tap';
import { asksAtCreation, helloReply } from '../../src/identity/hello.js';
import { CLUSTER_A, INC, identity, members, nodes } from './fixtures.js';

const table = members({ c1: { incarnation: INC(1) }, c2: {}, c3: { incarnation: INC(3), role: 'learner' } }, { clusterId: CLUSTER_A, removed: [INC(9)] });
const heardMap: Record<string, string> = { c2: INC(2), c3: INC(33), c4: INC(9) };
const answer = (asker: string, inc: string) =>
  helloReply(
    { identity: identity({ clusterId: CLUSTER_A }), members: table, lastIndex: 70, appliedIndex: 65, heardFrom: (id) => heardMap[id] ?? null, initialNodes: nodes('c1', 'c2', 'c3') },
    asker,
    { incarnation: inc, clusterId: null, lastIndex: 0, joining: false, nodes: null },
  );

void t.test('a peer tells the asker what the cluster recorded and heard for its id', async (t) => {
  t.match(answer('c1', ''), { memberId: 'c1', clusterId: CLUSTER_A, lastIndex: 70, appliedIndex: 65, you: { member: true, role: 'voter', recorded: INC(1), heard: '', removed: false } });
  t.match(answer('c2', ''), { you: { member: true, recorded: '', heard: INC(2) } }, 'heard but not yet recorded');
  t.match(answer('c3', ''), { you: { member: true, role: 'learner', recorded: INC(3), heard: INC(33) } });
  t.match(answer('c4', INC(9)), { you: { member: false, role: null, recorded: '', heard: '', removed: true } }, 'a removed data dir is named as such, and not as evidence');
});

void t.test("an asker with nothing beyond the first entry, no cluster id and no --join is at the cluster's creation", async (t) => {
  const ask = { incarnation: '', clusterId: null, lastIndex: 0, joining: false, nodes: null };
  t.equal(asksAtCreation(ask), true, 'an empty data dir about to bootstrap');
  t.equal(asksAtCreation({ ...ask, incarnation: INC(2), lastIndex: 1 }), true, 'one that bootstrapped already');
  t.equal(asksAtCreation({ ...ask, lastIndex: 2 }), false, 'a log beyond the first entry');
  t.equal(asksAtCreation({ ...ask, clusterId: CLUSTER_A }), false, 'a member of an established cluster');
  t.equal(asksAtCreation({ ...ask, joining: true }), false, 'a member started to join');
});

void t.test('while the cluster is being created, a peer says what it bootstraps from; once it runs, not', async (t) => {
  const view = (clusterId: string | null) => ({
    identity: identity({ clusterId }),
    members: members({ c1: {}, c2: {} }, { clusterId: null }),
    lastIndex: 1,
    appliedIndex: 1,
    heardFrom: () => null,
    initialNodes: nodes('c1', 'c2'),
  });
  const ask = { incarnation: '', clusterId: null, lastIndex: 0, joining: false, nodes: null };
  t.same(helloReply(view(null), 'c3', ask).creationNodes, nodes('c1', 'c2'));
  t.equal(helloReply(view(CLUSTER_A), 'c3', ask).creationNodes, null);
});
