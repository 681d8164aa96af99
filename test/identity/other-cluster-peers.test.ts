/**
 * Attack round 10's B1: a node keeps which peers of its file or membership answer for another
 * cluster id (two clusters under one cluster file), so its status, health and metrics can say so.
 */
import t from 'tap';
import { describeOtherClusters, OtherClusterPeers, refuserClusterIdIn } from '../../src/identity/other-cluster-peers.js';
import { CLUSTER_A, CLUSTER_B } from './fixtures.js';

const OTHER = '00000000000000cc';

void t.test('a peer seen answering for another cluster: news once per id, kept with when last seen, in id order', async (t) => {
  const p = new OtherClusterPeers(1000);
  t.strictSame(p.current(0), []);
  t.equal(p.seen('c3', CLUSTER_B, 100), true, 'a new peer is news');
  t.equal(p.seen('c3', CLUSTER_B, 200), false, 'the same again is not');
  t.equal(p.seen('c2', null, 250), true, 'a refusal that does not say which cluster: still news');
  t.equal(p.seen('c2', CLUSTER_B, 260), true, 'learning its id is');
  t.equal(p.seen('c2', null, 270), false, 'an unnamed refusal keeps the id known');
  t.equal(p.seen('c3', OTHER, 300), true, 'another id for the same peer is news');
  t.strictSame(p.current(300), [
    { peer: 'c2', clusterId: CLUSTER_B, since: 260, lastSeenAt: 270 },
    { peer: 'c3', clusterId: OTHER, since: 300, lastSeenAt: 300 },
  ]);
});

void t.test('forgotten when accepted again, when gone from file and membership, or not seen for the window', async (t) => {
  const p = new OtherClusterPeers(1000);
  p.seen('c2', CLUSTER_B, 0);
  p.seen('c3', CLUSTER_B, 0);
  p.seen('c4', CLUSTER_B, 500);
  t.equal(p.accepted('c2'), true, 'accepted under our id: forgotten');
  t.equal(p.accepted('c2'), false, 'only once');
  t.strictSame(p.retain((id) => id !== 'c3'), ['c3'], 'no longer in the file nor a member');
  t.strictSame(p.current(1400).map((x) => x.peer), ['c4']);
  t.strictSame(p.expire(1600), ['c4'], 'not seen for longer than the window');
  t.strictSame(p.current(1600), []);
  t.equal(p.seen('c4', CLUSTER_B, 1700), true, 'seen again after that: news again');
  for (let i = 0; i < 100; i++) p.seen(`p${i}`, CLUSTER_A, 2000);
  t.equal(p.current(2000).length, 64, 'bounded');
});

void t.test("the refuser's cluster id in a CLUSTER_ID refusal, and the words for operators", async (t) => {
  const reason = `CLUSTER_ID: cluster id mismatch: c2 belongs to cluster ${CLUSTER_B}, c1 to cluster ${CLUSTER_A} (same name, another cluster)`;
  t.equal(refuserClusterIdIn(reason), CLUSTER_B);
  t.equal(refuserClusterIdIn('CLUSTER_ID: something else'), null);
  t.equal(describeOtherClusters('c1', CLUSTER_A, []), '');
  t.equal(
    describeOtherClusters('c1', CLUSTER_A, [
      { peer: 'c2', clusterId: CLUSTER_B },
      { peer: 'c3', clusterId: null },
    ]),
    `c2 (cluster ${CLUSTER_B}), c3 (cluster unknown) answer for another cluster than c1's (${CLUSTER_A}): two clusters run under one cluster file ` +
      '(a restore run on more than one member?): keep one, and on each member of the other stop the controller, move its data dir aside, ' +
      'add it to the kept cluster (ctl member add) and start it with --join (docs/operate.md, Backup and restore); ' +
      'if neither has a leader (each holds part of a quorum: controller recover run on only some of the members it kept), ' +
      'member add cannot commit: run controller recover on one of them alone and add the others back (docs/operate.md, Quorum-loss recovery)',
  );
  t.match(describeOtherClusters('c1', null, [{ peer: 'c2', clusterId: CLUSTER_B }]), /^c2 \(cluster 00000000000000bb\) answers for another cluster than c1's: /);
});
