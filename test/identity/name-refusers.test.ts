/** Round 6's F2: a running node keeps which peers refuse its cluster name, to say so when cut off. */
import t from 'tap';
import { describeRefusedForName, NameRefusers } from '../../src/identity/name-refusers.js';

const REASON = (theirs: string): string => `CLUSTER_NAME: cluster name mismatch: expected ${JSON.stringify(theirs)}, found "att6x"`;

void t.test('the peers refusing now, with their names, in id order; forgotten after the window', async (t) => {
  const r = new NameRefusers(2000);
  t.strictSame(r.refusing(0), []);
  r.refusedBy('c3', REASON('att6'), 100);
  r.refusedBy('c1', REASON('att6'), 200);
  t.strictSame(r.refusing(300), [
    { peer: 'c1', theirs: 'att6' },
    { peer: 'c3', theirs: 'att6' },
  ]);
  r.refusedBy('c1', REASON('att6'), 2200);
  t.strictSame(r.refusing(2200), [{ peer: 'c1', theirs: 'att6' }], 'c3 has not refused for longer than the window');
  r.refusedBy('c1', 'CLUSTER_NAME: something else', 2300);
  t.strictSame(r.refusing(2300), [{ peer: 'c1', theirs: null }], 'a reason without the name: still a refusal');
  r.retain((id) => id !== 'c1');
  t.strictSame(r.refusing(2300), [], 'a peer no longer in the cluster is forgotten');
  for (let i = 0; i < 100; i++) r.refusedBy(`p${i}`, REASON('x'), 3000);
  t.equal(r.refusing(3000).length, 64, 'bounded');
});

void t.test('the words: who refuses, this file\'s name, theirs, what to do', async (t) => {
  t.equal(describeRefusedForName('c2', 'att6x', []), '');
  t.equal(
    describeRefusedForName('c2', 'att6x', [
      { peer: 'c1', theirs: 'att6' },
      { peer: 'c3', theirs: 'att6' },
    ]),
    `c1, c3 refuse it as CLUSTER_NAME: c2's file names the cluster "att6x", they run "att6" (give c2 the cluster's file and restart it)`,
  );
  t.equal(describeRefusedForName('c2', 'att6x', [{ peer: 'c1', theirs: null }]), `c1 refuses it as CLUSTER_NAME: c2's file names the cluster "att6x", it runs another name (give c2 the cluster's file and restart it)`);
});
