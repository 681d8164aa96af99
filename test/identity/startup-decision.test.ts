/** The start-up decision, rule by rule: what a data dir, the flags and the peers' answers lead to. */
import t from 'tap';
import { decideStartup, identityFor, joinWaitWarning, type DiskState, type PeerAnswer, type StartupInput } from '../../src/identity/startup-decision.js';
import { creationDigest, initialNodes } from '../../src/identity/initial-nodes.js';
import { CLUSTER_A, CLUSTER_B, INC, identity, nodes, reply } from './fixtures.js';

const EMPTY: DiskState = { kind: 'empty' };
const disk = (over: Parameters<typeof identity>[0] = {}, lastIndex = 50): DiskState => ({ kind: 'present', identity: identity({ clusterId: CLUSTER_A, ...over }), lastIndex });
const input = (over: Partial<StartupInput>): StartupInput => ({ memberId: 'c1', join: false, dataDir: '/var/lib/c1', clusterName: 'prod', configFile: '/etc/controller/cluster.yaml', clusterSize: 3, nodes: nodes('c1', 'c2', 'c3'), selfAddress: '10.0.0.1:7101', disk: EMPTY, answers: [], ...over });
const down = (peer: string): PeerAnswer => ({ peer, error: 'UNAVAILABLE: connection refused', status: 'UNAVAILABLE', details: 'connection refused' });

void t.test('an empty data dir bootstraps when no peer answers, or when every peer is still at the bootstrap entry', async (t) => {
  t.match(decideStartup(input({ answers: [down('c2'), down('c3')] })), { action: 'bootstrap', reason: /no peer answered \(2 asked\)/, creationSeen: false });
  const creating = reply({ clusterId: null, lastIndex: 1, appliedIndex: 1, you: { member: true } });
  t.match(decideStartup(input({ answers: [{ peer: 'c2', reply: creating }, down('c3')] })), { action: 'bootstrap', creationSeen: true, reason: /every peer that answered \(c2\) holds only the initial configuration/ });
});

void t.test('an empty data dir joins, never bootstraps, when a peer runs the cluster already', async (t) => {
  const elected = reply({ clusterId: null, lastIndex: 2, appliedIndex: 2 });
  t.match(decideStartup(input({ answers: [{ peer: 'c2', reply: elected }] })), { action: 'join', reason: /c2 runs a cluster already \(log at index 2\)/, warning: null });
  const established = reply({ clusterId: CLUSTER_A });
  t.match(decideStartup(input({ answers: [{ peer: 'c2', reply: established }] })), { action: 'join', reason: /cluster 00000000000000aa/ });
  const added = reply({ you: { member: true, role: 'learner' } });
  t.match(decideStartup(input({ answers: [{ peer: 'c2', reply: added }] })), { action: 'join', warning: null }, 'a member added with ctl member add joins as what the cluster says');
  const stranger = reply({ you: { member: false, role: null } });
  t.match(decideStartup(input({ answers: [{ peer: 'c2', reply: stranger }] })), { action: 'join', warning: /c1 is not a member of that cluster yet: add it with ctl member add c1/ });
});

void t.test('--join starts empty whatever the peers say, unless they know this member already', async (t) => {
  t.match(decideStartup(input({ join: true })), { action: 'join', reason: /--join/ });
  t.match(decideStartup(input({ join: true, answers: [{ peer: 'c2', reply: reply({ you: { recorded: INC(7) } }) }] })), { action: 'refuse', code: 'ALREADY_BOOTSTRAPPED' });
});

void t.test('an empty data dir whose member the cluster knows is refused: its state was lost', async (t) => {
  const recorded = decideStartup(input({ answers: [down('c3'), { peer: 'c2', reply: reply({ you: { recorded: INC(7) } }) }] }));
  t.match(recorded, {
    action: 'refuse',
    code: 'ALREADY_BOOTSTRAPPED',
    message: /member c1 has already been bootstrapped: c2 knows it as incarnation 0000000000000007 in cluster 00000000000000aa but data dir \/var\/lib\/c1 holds no Raft state.*ctl member remove c1; ctl member add c1 ADDRESS --learner; then start it with an empty data dir and --join/,
  });
  const heard = decideStartup(input({ answers: [{ peer: 'c3', reply: reply({ clusterId: null, lastIndex: 1, you: { heard: INC(8) } }) }] }));
  t.match(heard, { action: 'refuse', code: 'ALREADY_BOOTSTRAPPED', message: /c3 knows it as incarnation 0000000000000008 but/ }, 'heard before the cluster had an id');
});

void t.test('a data dir made for another member id is refused, naming both', async (t) => {
  t.match(decideStartup(input({ memberId: 'c2', disk: disk() })), {
    action: 'refuse',
    code: 'WRONG_MEMBER',
    message: /data dir \/var\/lib\/c1 belongs to member c1 \(incarnation 0000000000000001\), but this process was started as c2/,
  });
});

void t.test('a data dir of another cluster is refused, naming both clusters', async (t) => {
  const foreign = decideStartup(input({ disk: disk({ clusterId: CLUSTER_B }), answers: [{ peer: 'c2', reply: reply() }, { peer: 'c3', reply: reply({ memberId: 'c3' }) }] }));
  t.match(foreign, {
    action: 'refuse',
    code: 'FOREIGN_CLUSTER',
    message: /belongs to cluster 00000000000000bb, but its peers run cluster 00000000000000aa \(answered by c2, c3\)/,
  });
  // A restore started while the cluster it was to replace still runs (attack round 12): the message names that case too.
  t.match(foreign, { message: /If it was restored \(controller restore\) to replace cluster 00000000000000aa, that cluster still runs: stop c2, c3, move their data dirs aside, start this node, then add each back with ctl member add and start it with --join/ });
  t.match(foreign, { message: /To make this host a member of cluster 00000000000000aa instead: ctl member remove c1;/ });
  const mixed = decideStartup(input({ disk: disk({ clusterId: CLUSTER_B }), answers: [{ peer: 'c2', reply: reply() }, { peer: 'c3', reply: reply({ clusterId: CLUSTER_B, you: { recorded: INC(1) } }) }] }));
  t.match(mixed, { action: 'start', warning: /c2 answered for cluster 00000000000000aa, not cluster 00000000000000bb of data dir \/var\/lib\/c1: two clusters run under this cluster file/ }, 'a peer of its own cluster answered: a left-over member elsewhere is not proof, but it is said');
  const lone = decideStartup(input({ disk: disk({ clusterId: CLUSTER_B }), answers: [{ peer: 'c2', reply: reply() }, down('c3')] }));
  t.match(lone, { action: 'start', warning: /c2 answered for cluster 00000000000000aa/ }, 'one foreign peer of three is no majority: it may be the foreign one; a warning, not a refusal');
  t.match(decideStartup(input({ disk: disk(), answers: [{ peer: 'c2', reply: reply() }] })), { action: 'start', warning: null }, 'peers of its own cluster: nothing to say');
});

void t.test('with --join, a data dir of another cluster is refused as soon as one peer answers for another cluster', async (t) => {
  // A restore: c1 runs the restored cluster (bb); c2 was started with --join on its old data dir (aa).
  const restored = reply({ clusterId: CLUSTER_B });
  const refused = decideStartup(input({ memberId: 'c2', join: true, dataDir: '/var/lib/c2', disk: disk({ memberId: 'c2' }), answers: [{ peer: 'c1', reply: restored }, down('c3')] }));
  t.match(refused, {
    action: 'refuse',
    code: 'FOREIGN_CLUSTER',
    message: /^--join: data dir \/var\/lib\/c2 belongs to cluster 00000000000000aa, but c1 answered for cluster 00000000000000bb: this data dir is not that cluster's\. To join cluster 00000000000000bb .*move \/var\/lib\/c2 aside and start again with --join; to run on in cluster 00000000000000aa, start without --join$/,
  });
  const oldPeerToo = decideStartup(input({ memberId: 'c2', join: true, dataDir: '/var/lib/c2', disk: disk({ memberId: 'c2' }), answers: [{ peer: 'c1', reply: restored }, { peer: 'c3', reply: reply({ memberId: 'c3' }) }] }));
  t.match(oldPeerToo, { action: 'refuse', code: 'FOREIGN_CLUSTER' }, 'also when an old peer answers for its own cluster: --join names one cluster, and two answer');
  const without = decideStartup(input({ memberId: 'c2', dataDir: '/var/lib/c2', disk: disk({ memberId: 'c2' }), answers: [{ peer: 'c1', reply: restored }, down('c3')] }));
  t.match(without, { action: 'start', warning: /two clusters run under this cluster file/ }, 'without --join, one foreign peer is still only a warning');
  const restart = decideStartup(input({ join: true, disk: disk(), answers: [{ peer: 'c2', reply: reply({ you: { recorded: INC(1) } }) }] }));
  t.match(restart, { action: 'start' }, '--join left in the unit: a restart among its own cluster starts');
});

void t.test('a data dir the cluster recorded as superseded, or removed, is refused', async (t) => {
  t.match(decideStartup(input({ disk: disk(), answers: [{ peer: 'c2', reply: reply({ you: { recorded: INC(9) } }) }] })), {
    action: 'refuse',
    code: 'SUPERSEDED',
    message: /recorded in cluster 00000000000000aa as incarnation 0000000000000009 \(answered by c2\), but data dir \/var\/lib\/c1 holds incarnation 0000000000000001/,
  });
  t.match(decideStartup(input({ disk: disk(), answers: [{ peer: 'c2', reply: reply({ you: { removed: true, member: false } }) }] })), {
    action: 'refuse',
    code: 'REMOVED',
    message: /was removed from cluster 00000000000000aa/,
  });
  const stale = reply({ appliedIndex: 10, you: { recorded: INC(9) } });
  const fresh = reply({ memberId: 'c3', appliedIndex: 90, you: { recorded: INC(1) } });
  t.match(decideStartup(input({ disk: disk(), answers: [{ peer: 'c2', reply: stale }, { peer: 'c3', reply: fresh }] })), { action: 'start' }, 'the freshest answer decides');
});

void t.test('a data dir that knows it was recorded is not refused by a peer answering from an older applied state (identity seed 63525)', async (t) => {
  // c1 was removed and re-added (incarnation 1 recorded), and applied that record; c2 restarted
  // with its applied state behind its commit index, still recording c1's previous data dir (9).
  // The record can only change again through a removal, which c2 would list: so c2 is stale.
  const lagging = reply({ appliedIndex: 13, you: { recorded: INC(9) } });
  t.match(decideStartup(input({ disk: disk({ recorded: true }), answers: [{ peer: 'c2', reply: lagging }, down('c3')] })), { action: 'start', recorded: false });
  t.match(decideStartup(input({ disk: disk({ recorded: false }), answers: [{ peer: 'c2', reply: lagging }, down('c3')] })), { action: 'refuse', code: 'SUPERSEDED' }, 'without that knowledge the record decides');
  const removedSince = reply({ appliedIndex: 90, you: { recorded: INC(9), removed: true } });
  t.match(decideStartup(input({ disk: disk({ recorded: true }), answers: [{ peer: 'c2', reply: removedSince }] })), { action: 'refuse', code: 'REMOVED' }, 'a record this data dir lost through its removal still refuses it');
});

void t.test('a data dir with state starts from it when the cluster agrees or nobody answers', async (t) => {
  t.match(decideStartup(input({ disk: disk() })), { action: 'start' });
  t.match(decideStartup(input({ disk: disk(), answers: [{ peer: 'c2', reply: reply({ you: { recorded: INC(1) } }) }] })), { action: 'start', recorded: true });
  t.match(decideStartup(input({ disk: disk(), answers: [{ peer: 'c2', reply: reply({ you: { recorded: '' } }) }] })), { action: 'start', recorded: false });
  t.match(decideStartup(input({ disk: { kind: 'present', identity: null, lastIndex: 300 } })), { action: 'start', reason: /without identities/ });
});

void t.test('the identity a decision creates', async (t) => {
  let n = 100;
  const next = (): string => INC(n++);
  t.same(identityFor({ action: 'bootstrap', reason: '', creationSeen: false, creation: INC(7) }, 'c1', EMPTY, next), { memberId: 'c1', incarnation: INC(100), clusterId: null, origin: 'bootstrap', recorded: false, creationSeen: false, creation: INC(7) });
  t.same(identityFor({ action: 'join', reason: '', warning: null }, 'c1', EMPTY, next), { memberId: 'c1', incarnation: INC(101), clusterId: null, origin: 'join', recorded: false, creationSeen: false, creation: null });
  const kept = disk();
  t.same(identityFor({ action: 'start', reason: '', recorded: false, warning: null }, 'c1', kept, next), kept.kind === 'present' ? kept.identity : null, 'an existing identity is kept');
  t.match(identityFor({ action: 'start', reason: '', recorded: true, warning: null }, 'c1', kept, next), { incarnation: INC(1), recorded: true }, 'and learns that the cluster recorded it');
  t.same(identityFor({ action: 'start', reason: '', recorded: false, warning: null }, 'c1', { kind: 'present', identity: null, lastIndex: 3 }, next), { memberId: 'c1', incarnation: INC(102), clusterId: null, origin: 'legacy', recorded: false, creationSeen: true, creation: null });
  t.equal(identityFor({ action: 'refuse', code: 'REMOVED', message: '' }, 'c1', EMPTY, next), null);
});

void t.test('an empty data dir refuses to bootstrap when a peer in the cluster creation starts from other nodes, naming the difference', async (t) => {
  const creating = (n: ReturnType<typeof nodes> | null) => reply({ clusterId: null, lastIndex: 1, appliedIndex: 1, creationNodes: n });
  const refused = decideStartup(input({ answers: [{ peer: 'c2', reply: creating(nodes('c2', 'c3', 'c4')) }, down('c3')] }));
  t.match(refused, { action: 'refuse', code: 'NODES_DIFFER', message: /^cluster\.nodes differs from c2's, which creates the cluster from other nodes \(c1 only here; c4 only at c2\)/ });
  t.match(refused, { message: /if c2's is the wrong one, stop c2, empty its data dir .* Nothing was bootstrapped here$/ });
  const moved = [...nodes('c1', 'c3'), { id: 'c2', address: '10.0.0.9:7101' }].sort((a, b) => a.id.localeCompare(b.id));
  t.match(decideStartup(input({ answers: [{ peer: 'c2', reply: creating(moved) }] })), { action: 'refuse', code: 'NODES_DIFFER', message: /c2 at 10\.0\.0\.2:7101 here, at 10\.0\.0\.9:7101 at c2/ });
  t.match(decideStartup(input({ answers: [{ peer: 'c2', reply: creating(nodes('c3', 'c1', 'c2')) }] })), { action: 'bootstrap' }, 'the same nodes, in any order: bootstrap');
  t.match(decideStartup(input({ answers: [{ peer: 'c2', reply: creating(null) }] })), { action: 'bootstrap' }, 'a peer of a version that does not say: bootstrap, as before');
  // A running cluster's nodes may differ from any file (members added and removed): not a creation.
  t.match(decideStartup(input({ answers: [{ peer: 'c2', reply: reply({ clusterId: CLUSTER_A, creationNodes: null }) }] })), { action: 'join' });
  t.match(decideStartup(input({ join: true, answers: [{ peer: 'c2', reply: creating(nodes('c2', 'c3', 'c4')) }] })), { action: 'join' }, '--join never bootstraps, so nothing to compare');
  const present: DiskState = { kind: 'present', identity: identity({ clusterId: null }), lastIndex: 1 };
  t.match(decideStartup(input({ disk: present, answers: [{ peer: 'c2', reply: creating(nodes('c2', 'c3', 'c4')) }] })), { action: 'start' }, 'a data dir that bootstrapped already starts from its own log');
});

void t.test('a bootstrap carries the digest of its nodes: the same for any order, another for any difference', async (t) => {
  const digestOf = (n: ReturnType<typeof nodes>): string => {
    const d = decideStartup(input({ nodes: n }));
    if (d.action !== 'bootstrap') throw new Error(`expected a bootstrap, found ${d.action}`);
    return d.creation;
  };
  const base = digestOf(nodes('c1', 'c2', 'c3'));
  t.match(base, /^[0-9a-f]{16}$/);
  t.equal(base, creationDigest(nodes('c1', 'c2', 'c3')));
  t.equal(digestOf(initialNodes([...nodes('c3', 'c1', 'c2')].reverse())), base, 'the file lists them in another order');
  t.not(digestOf(nodes('c1', 'c2')), base, 'a member fewer');
  t.not(digestOf(nodes('c1', 'c2', 'c3', 'c4')), base, 'a member more');
  const moved = initialNodes(nodes('c1', 'c2', 'c3').map((n) => (n.id === 'c2' ? { id: 'c2', address: '10.0.0.9:7101' } : n)));
  t.not(digestOf(moved), base, 'a member at another address');
});

void t.test('attack round 10 (B3): a joiner the cluster records at another address is warned at once, with the fix', async (t) => {
  const recordedElsewhere = [{ peer: 'c2', reply: reply({ you: { member: true, role: 'learner', address: '10.0.0.1:7111' } }) }];
  const d = decideStartup(input({ join: true, answers: recordedElsewhere }));
  t.match(d, { action: 'join', warning: /the cluster has c1 at 10\.0\.0\.1:7111, but this node's address is 10\.0\.0\.1:7101 .*ctl member remove c1; ctl member add c1 10\.0\.0\.1:7101 --learner/ });
  const same = decideStartup(input({ join: true, answers: [{ peer: 'c2', reply: reply({ you: { member: true, role: 'learner', address: '10.0.0.1:7101' } }) }] }));
  t.match(same, { action: 'join', warning: null }, 'recorded where it is: no warning');
  const older = decideStartup(input({ join: true, answers: [{ peer: 'c2', reply: reply({ you: { member: true, role: 'learner', address: null } }) }] }));
  t.match(older, { action: 'join', warning: null }, 'a peer of an older version says no address: nothing to judge');
});

// attack-operator round 15: each of these waited in silence, `ctl health` saying only that the
// node "has heard from 0 of 0 voters".
void t.test('a --join start the cluster does not list, or that no peer can ever replicate to, is warned at once with the fix', async (t) => {
  const stranger = reply({ you: { member: false, role: null } });
  t.match(decideStartup(input({ join: true, answers: [{ peer: 'c2', reply: stranger }, { peer: 'c3', reply: reply({ memberId: 'c3', you: { member: false, role: null } }) }] })), {
    action: 'join',
    warning: /^c1 is not a member of cluster 00000000000000aa \(answered by c2, c3\): this node waits, empty, until it is added: ctl member add c1 10\.0\.0\.1:7101 /,
  });
  const lagging = reply({ appliedIndex: 30, you: { member: false, role: null } });
  const applied = reply({ memberId: 'c3', appliedIndex: 41, you: { member: true, role: 'learner' } });
  t.match(decideStartup(input({ join: true, answers: [{ peer: 'c2', reply: lagging }, { peer: 'c3', reply: applied }] })), { action: 'join', warning: null }, 'the peer that applied most has added it');

  const joiner = reply({ clusterId: null, lastIndex: 0, appliedIndex: 0, you: { member: false, role: null } });
  t.match(decideStartup(input({ join: true, answers: [{ peer: 'c2', reply: joiner }, down('c3')] })), {
    action: 'join',
    warning: /^--join: no peer runs a cluster or is creating one \(c2 answered with an empty log, as joiners do; c3 did not answer\): .*start the members of cluster\.nodes without --join/,
  });
  const creating = reply({ clusterId: null, lastIndex: 1, appliedIndex: 1, you: { member: true } });
  t.match(decideStartup(input({ join: true, answers: [{ peer: 'c2', reply: joiner }, { peer: 'c3', reply: creating }] })), { action: 'join', warning: null }, 'an initial member that bootstrapped will replicate to it once elected');
  t.match(
    decideStartup(input({ join: true, answers: [down('c2'), down('c3')] })),
    { action: 'join', warning: /^--join: no peer answered \(c2, c3\): this node waits, empty, for the leader of a running cluster that has added it \(ctl member add c1 10\.0\.0\.1:7101\).*start the members of cluster\.nodes without --join/ },
    'no answer: the first member of an all---join start is warned too (round 15 said nothing to it)',
  );
  t.match(decideStartup(input({ join: true, clusterSize: 1, nodes: nodes('c1'), answers: [] })), { action: 'join', warning: null }, 'no peer to ask: nothing to judge');
});

void t.test('asked again while it waits: the first member of an all---join start learns that the others are joiners too', async (t) => {
  const joiner = reply({ clusterId: null, lastIndex: 0, appliedIndex: 0, you: { member: false, role: null } });
  t.match(joinWaitWarning(input({ join: true, answers: [{ peer: 'c2', reply: joiner }, { peer: 'c3', reply: { ...joiner, memberId: 'c3' } }] })), /^--join: no peer runs a cluster or is creating one \(c2, c3 answered with an empty log/);
  const added = reply({ memberId: 'c2', appliedIndex: 41, you: { member: true, role: 'learner' } });
  t.equal(joinWaitWarning(input({ join: true, answers: [{ peer: 'c2', reply: added }, down('c3')] })), null, 'added to a running cluster: it will be reached');
});
