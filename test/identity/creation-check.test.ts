/** The creation checked again after bootstrapping (src/identity/creation-check.ts). */
import t from 'tap';
import { judgeCreation } from '../../src/identity/creation-check.js';
import type { PeerAnswer } from '../../src/identity/startup-decision.js';
import { CLUSTER_A, nodes, reply } from './fixtures.js';

const creating = (peer: string, n: ReturnType<typeof nodes> | null): PeerAnswer => ({ peer, reply: reply({ memberId: peer, clusterId: null, lastIndex: 1, appliedIndex: 1, creationNodes: n }) });

void t.test('a peer still in the creation that creates it from other nodes: differs, naming the difference', async (t) => {
  const ours = nodes('c1', 'c2', 'c3');
  const verdict = judgeCreation(ours, [creating('c2', nodes('c1', 'c2'))]);
  t.match(verdict, {
    kind: 'differs',
    peer: 'c2',
    message: /^cluster\.nodes differs from c2's, which also bootstrapped the new cluster, from other nodes \(c3 only here\): the two started too close together/,
  });
});

void t.test('peers with the same nodes, with a cluster id, of an older version, or silent: the same, and who needs no asking again', async (t) => {
  const ours = nodes('c1', 'c2', 'c3');
  const answers: PeerAnswer[] = [
    creating('c2', nodes('c3', 'c2', 'c1')),
    { peer: 'c3', reply: reply({ memberId: 'c3', clusterId: CLUSTER_A, creationNodes: null }) },
    creating('c4', null),
    { peer: 'c5', error: 'UNAVAILABLE: connection refused' },
  ];
  t.same(judgeCreation(ours, answers), { kind: 'same', confirmed: ['c2', 'c3', 'c4'] }, 'c5 did not answer: asked again');
});
