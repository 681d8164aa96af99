/**
 * Round 6's F2: a member restarted with another cluster.name, which a majority of the other
 * members refuse, refuses to start (CLUSTER_NAME) naming both names, instead of running cut off.
 */
import t from 'tap';
import { judgeEnvelope } from '../../src/identity/acceptance.js';
import { nameRefusalOf } from '../../src/identity/name-refusal.js';
import { decideStartup, type DiskState, type PeerAnswer, type StartupInput } from '../../src/identity/startup-decision.js';
import { CLUSTER_A, identity, nodes, reply, view } from './fixtures.js';

const FILE = '/etc/controller/cluster.yaml';
const present: DiskState = { kind: 'present', identity: identity({ memberId: 'c2', clusterId: CLUSTER_A }), lastIndex: 50 };
const input = (over: Partial<StartupInput>): StartupInput => ({
  memberId: 'c2',
  join: false,
  dataDir: '/var/lib/c2',
  clusterName: 'att6x',
  configFile: FILE,
  clusterSize: 3,
  nodes: nodes('c1', 'c2', 'c3'),
  selfAddress: '10.0.0.2:7101',
  disk: present,
  answers: [],
  ...over,
});

/** What a peer named `theirs` answers an asker named `ours`: the reason acceptance.ts writes, as the wire carries it. */
function refusedName(peer: string, theirs: string, ours = 'att6x'): PeerAnswer {
  const refusal = judgeEnvelope(view({ self: peer, clusterName: theirs }), { clusterName: ours, clusterId: '', from: 'c2', incarnation: '', toIncarnation: '', creation: '', boot: '' });
  if (refusal === null || refusal.code !== 'CLUSTER_NAME') throw new Error('expected a CLUSTER_NAME refusal');
  const details = `${refusal.code}: ${refusal.reason}`;
  return { peer, error: `PERMISSION_DENIED: ${details}`, status: 'PERMISSION_DENIED', details };
}
const down = (peer: string): PeerAnswer => ({ peer, error: 'UNAVAILABLE: connection refused', status: 'UNAVAILABLE', details: 'connection refused' });
const answered = (peer: string): PeerAnswer => ({ peer, reply: reply({ memberId: peer }) });

void t.test('a refusal is read from the reason acceptance.ts writes, and nothing else is one', async (t) => {
  t.strictSame(nameRefusalOf(refusedName('c1', 'att6')), { peer: 'c1', theirs: 'att6' });
  t.strictSame(nameRefusalOf(refusedName('c1', 'a "quoted" name')), { peer: 'c1', theirs: 'a "quoted" name' });
  t.equal(nameRefusalOf(refusedName('c1', 'x'.repeat(500)))?.theirs, 'x'.repeat(64), 'a name from outside is cut short');
  const vague: PeerAnswer = { peer: 'c1', error: 'PERMISSION_DENIED: CLUSTER_NAME: no', status: 'PERMISSION_DENIED', details: 'CLUSTER_NAME: no' };
  t.strictSame(nameRefusalOf(vague), { peer: 'c1', theirs: null }, 'a refusal whose reason does not say the name still counts');
  const cert: PeerAnswer = { peer: 'c1', error: 'x', status: 'PERMISSION_DENIED', details: 'NOT_A_PEER: not a peer certificate' };
  t.equal(nameRefusalOf(cert), null, 'another refusal is not about the name');
  t.equal(nameRefusalOf({ peer: 'c1', error: 'x', status: 'UNAVAILABLE', details: 'CLUSTER_NAME: expected "a"' }), null, 'only a refusal (PERMISSION_DENIED)');
  t.equal(nameRefusalOf(answered('c1')), null);
  t.equal(nameRefusalOf(down('c1')), null);
});

void t.test('refused when every other member of three refuses the name, whatever the data dir holds', async (t) => {
  const both = [refusedName('c1', 'att6'), refusedName('c3', 'att6')];
  const message = /^cluster\.name "att6x" in \/etc\/controller\/cluster\.yaml, but peers c1, c3 run cluster "att6": 2 of the 2 other members refuse this name, so under it this node can be in no quorum/;
  t.match(decideStartup(input({ answers: both })), { action: 'refuse', code: 'CLUSTER_NAME', message });
  t.match(decideStartup(input({ answers: both, disk: { kind: 'empty' } })), { action: 'refuse', code: 'CLUSTER_NAME', message }, 'an empty data dir (a rebuilt member) too');
  t.match(decideStartup(input({ answers: both, join: true, disk: { kind: 'empty' } })), { action: 'refuse', code: 'CLUSTER_NAME' }, 'and with --join');
  t.match(decideStartup(input({ answers: both })), { message: /start it again: no state was written$/ });
  t.match(decideStartup(input({ answers: both, disk: { kind: 'present', identity: identity({ memberId: 'c9' }), lastIndex: 5 } })), { code: 'WRONG_MEMBER' }, "another member's data dir is named first");
});

void t.test('not refused while this node and the peers that did not refuse may still make a quorum', async (t) => {
  t.match(decideStartup(input({ answers: [refusedName('c1', 'att6'), down('c3')] })), { action: 'start' }, 'one of two peers, the other down: it may be the stray');
  t.match(decideStartup(input({ answers: [refusedName('c1', 'att6'), down('c3')], disk: { kind: 'empty' } })), { action: 'bootstrap' }, 'an empty data dir as before');
  t.match(decideStartup(input({ answers: [refusedName('c1', 'att6'), answered('c3')] })), { action: 'start' });
  const five = { clusterSize: 5, nodes: nodes('c1', 'c2', 'c3', 'c4', 'c5') };
  t.match(decideStartup(input({ ...five, answers: [refusedName('c1', 'att6'), refusedName('c3', 'att6'), down('c4'), down('c5')] })), { action: 'start' }, '2 of 4 peers');
  t.match(decideStartup(input({ clusterSize: 1, nodes: nodes('c2'), answers: [] })), { action: 'start' }, 'a single member asks nobody');
  const cert: PeerAnswer = { peer: 'c3', error: 'x', status: 'PERMISSION_DENIED', details: 'NOT_A_PEER: not a peer certificate' };
  t.match(decideStartup(input({ answers: [refusedName('c1', 'att6'), cert] })), { action: 'start' }, 'a refusal of the certificate is not one of the name');
});

void t.test('a majority of the other members refusing is enough, in any cluster size', async (t) => {
  const five = { clusterSize: 5, nodes: nodes('c1', 'c2', 'c3', 'c4', 'c5') };
  const three = [refusedName('c1', 'att6'), refusedName('c3', 'att6'), refusedName('c4', 'att6')];
  t.match(decideStartup(input({ ...five, answers: [...three, down('c5')] })), { code: 'CLUSTER_NAME', message: /but peers c1, c3, c4 run cluster "att6": 3 of the 4 other members/ });
  t.match(
    decideStartup(input({ ...five, answers: [...three, answered('c5')] })),
    { code: 'CLUSTER_NAME', message: /; c5 answered under this name too\./ },
    'a peer that shares the wrong name does not make a quorum with it',
  );
  t.match(decideStartup(input({ clusterSize: 2, nodes: nodes('c1', 'c2'), answers: [refusedName('c1', 'att6')] })), { code: 'CLUSTER_NAME', message: /but peer c1 runs cluster "att6"/ }, 'two members: the one peer');
  t.match(decideStartup(input({ clusterSize: 4, nodes: nodes('c1', 'c2', 'c3', 'c4'), answers: [refusedName('c1', 'att6'), refusedName('c3', 'att6'), down('c4')] })), { code: 'CLUSTER_NAME' }, 'four members: 2 of 3 peers');
  t.match(decideStartup(input({ answers: [refusedName('c1', 'att6'), refusedName('c3', 'prod')] })), { code: 'CLUSTER_NAME', message: /but peer c1 runs cluster "att6" and peer c3 runs cluster "prod":/ }, 'each name said');
});
