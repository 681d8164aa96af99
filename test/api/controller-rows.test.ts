/** One row of `list controllers` from the membership engine's MemberRow to the contract's JSON. */
import t from 'tap';
import { decodeController } from '../../src/api/answers.js';
import { CONTROLLER_FIELDS, controllersView, controllersViewWire } from '../../src/api/controller-rows.js';
import type { MemberRow } from '../../src/membership/membership-engine.js';
import type { MemberRecord } from '../../src/statemachine/index.js';

function record(id: string, status: 'online' | 'offline' = 'online', statusTerm = 2): MemberRecord {
  return { id, address: `${id}.example:7000`, role: 'voter', status, statusSince: 0, statusReason: '', statusTerm, statusObservedAt: 0, autoPromote: false, incarnation: '' };
}

const rows: MemberRow[] = [
  { id: 'c1', online: true, localState: 'online', clusterState: 'online', basis: 'self', peer: null, appliedIndex: 3, version: '1.2.3' },
  {
    id: 'c2',
    online: false,
    localState: 'offline',
    clusterState: null,
    basis: 'local',
    peer: { peer: 'c2', status: 'offline', lastContactMs: 1500, timeoutMs: 900, rttP50Ms: 1.5, rttP99Ms: null },
    appliedIndex: 7,
    version: '1.1.0',
  },
];

const view = controllersView({
  self: 'c1',
  version: '1.2.3',
  raft: { leader: 'c1', role: 'leader', commit: 10, conf: { voters: ['c1', 'c2'], learners: ['c3'] } },
  members: [record('c1'), record('c2', 'offline'), record('c3', 'offline', 0)],
  appliedIndex: 9,
  membership: { rows, stale: true, staleReason: 'no quorum heard for 2s' },
});

void t.test('a row per committed member, in the contract field order, with what Raft and the records add', async (t) => {
  t.strictSame(view.controllers.map((c) => Object.keys(c)), [[...CONTROLLER_FIELDS], [...CONTROLLER_FIELDS], [...CONTROLLER_FIELDS]]);
  t.strictSame(view.controllers[0], {
    id: 'c1',
    address: 'c1.example:7000',
    online: true,
    localState: 'online',
    clusterState: 'online',
    leader: true,
    voter: true,
    lastContactMs: 0,
    heartbeatTimeoutMs: 0,
    rttP50Ms: 0,
    rttP99Ms: 0,
    appliedIndex: 9,
    lagEntries: 1,
    version: '1.2.3',
    answeredBy: 'c1',
    stale: true,
    role: 'leader',
    duplicateProcess: false,
  }, "this node's applied index is its own, not its last view's");
  t.match(view.controllers[1], { online: false, clusterState: 'offline', leader: false, voter: true, lastContactMs: 1500, heartbeatTimeoutMs: 900, rttP50Ms: 1.5, rttP99Ms: 0, appliedIndex: 7, lagEntries: 3, version: '1.1.0', role: 'follower' });
  t.strictSame(
    view.controllers[2],
    { id: 'c3', address: 'c3.example:7000', online: false, localState: 'unknown', clusterState: 'unknown', leader: false, voter: false, lastContactMs: null, heartbeatTimeoutMs: 0, rttP50Ms: 0, rttP99Ms: 0, appliedIndex: 0, lagEntries: 10, version: null, answeredBy: 'c1', stale: true, role: 'learner', duplicateProcess: false },
    'a member just added, that nobody has heard from and no leader has decided: unknown, never online, no contact time, no version',
  );
  t.match(view, { stale: true, staleReason: 'no quorum heard for 2s', answeredBy: 'c1' });
});

void t.test('what the server builds is what the client decodes, nulls included (the wire has none)', async (t) => {
  const wire = controllersViewWire(view);
  t.match(wire.controllers[2], { lastContactMs: 0, neverHeard: true, version: '' });
  for (const [i, c] of wire.controllers.entries()) t.strictSame(decodeController(c), view.controllers[i]);
});

void t.test('the role: leader, follower or learner, and candidate only for the answering node itself', async (t) => {
  const members = [record('c1'), record('c2'), record('c3')];
  const base = { self: 'c1', version: 'v', members, appliedIndex: 0, membership: { rows: [], stale: false, staleReason: '' } };
  const campaigning = controllersView({ ...base, raft: { leader: null, role: 'pre-candidate', commit: 0, conf: { voters: ['c1', 'c2'], learners: ['c3'] } } });
  t.strictSame(campaigning.controllers.map((c) => c.role), ['candidate', 'follower', 'learner']);
  const following = controllersView({ ...base, raft: { leader: 'c2', role: 'follower', commit: 0, conf: { voters: ['c1', 'c2', 'c3'], learners: [] } } });
  t.strictSame(following.controllers.map((c) => c.role), ['follower', 'leader', 'follower']);
});

void t.test('an answer without a role (an older server) takes it from the two flags', async (t) => {
  const { role: _dropped, ...old } = view.controllers[1]!;
  t.equal(decodeController({ ...old, voter: false }).role, 'learner', 'no role field at all');
  t.equal(decodeController({ ...old, role: '' }).role, 'follower');
  t.equal(decodeController({ ...view.controllers[0]!, role: '' }).role, 'leader');
  t.throws(() => decodeController({ ...view.controllers[0]!, role: 'boss' }), /role/);
});

void t.test('two processes speak as a member: its row says so; refused itself, a stale view names who refuses it', async (t) => {
  const marked = controllersView({
    self: 'c1',
    version: '1.2.3',
    raft: { leader: 'c2', role: 'follower', commit: 10, conf: { voters: ['c1', 'c2'], learners: ['c3'] } },
    members: [record('c1'), record('c2'), record('c3')],
    appliedIndex: 9,
    membership: { rows, stale: true, staleReason: 'c1 has heard from 1 of 2 voters' },
    duplicate: (id) => id === 'c1' || id === 'c3',
    refusedAsDuplicateBy: ['c2'],
  });
  t.strictSame(marked.controllers.map((c) => [c.id, c.duplicateProcess]), [['c1', true], ['c2', false], ['c3', true]]);
  t.equal(marked.staleReason, 'c1 has heard from 1 of 2 voters; c2 refuses it as DUPLICATE_PROCESS: another process speaks as c1 (docs/operate.md, DUPLICATE_PROCESS)');
  for (const [i, c] of controllersViewWire(marked).controllers.entries()) t.strictSame(decodeController(c), marked.controllers[i], 'the mark crosses the wire');
  const current = controllersView({ ...view, self: 'c1', version: 'v', raft: { leader: 'c1', role: 'leader', commit: 0, conf: { voters: ['c1'], learners: [] } }, members: [record('c1')], appliedIndex: 0, membership: { rows, stale: false, staleReason: '' }, refusedAsDuplicateBy: ['c2'] });
  t.equal(current.staleReason, '', 'a current view has no reason to give');
});

void t.test("refused over its cluster name, a stale view says so (round 6's F2)", async (t) => {
  const name = `c2 refuses it as CLUSTER_NAME: c1's file names the cluster "att6x", it runs "att6" (give c1 the cluster's file and restart it)`;
  const base = { self: 'c1', version: 'v', raft: { leader: null, role: 'candidate', commit: 10, conf: { voters: ['c1', 'c2'], learners: [] } }, members: [record('c1'), record('c2')], appliedIndex: 9 } as const;
  const stale = controllersView({ ...base, membership: { rows, stale: true, staleReason: 'c1 has heard from 1 of 2 voters' }, refusedForName: name });
  t.equal(stale.staleReason, `c1 has heard from 1 of 2 voters; ${name}`);
  const both = controllersView({ ...base, membership: { rows, stale: true, staleReason: 'c1 has heard from 1 of 2 voters' }, refusedAsDuplicateBy: ['c2'], refusedForName: name });
  t.match(both.staleReason, /^c1 has heard from 1 of 2 voters; c2 refuses it as DUPLICATE_PROCESS: .*; c2 refuses it as CLUSTER_NAME: /);
  const current = controllersView({ ...base, membership: { rows, stale: false, staleReason: '' }, refusedForName: name });
  t.equal(current.staleReason, '', 'a current view has no reason to give');
});
