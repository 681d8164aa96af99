/** One row of `list controllers` from the membership engine's MemberRow to the contract's JSON. */
import t from 'tap';
import { decodeController } from '../../src/api/answers.js';
import { CONTROLLER_FIELDS, controllersView } from '../../src/api/controller-rows.js';
import type { MemberRow } from '../../src/membership/membership-engine.js';
import type { MemberRecord } from '../../src/statemachine/index.js';

function record(id: string, status: 'online' | 'offline' = 'online'): MemberRecord {
  return { id, address: `${id}.example:7000`, role: 'voter', status, statusSince: 0, statusReason: '', statusTerm: 0, statusObservedAt: 0, incarnation: '' };
}

const rows: MemberRow[] = [
  { id: 'c1', online: true, localState: 'online', clusterState: 'online', basis: 'self', peer: null, appliedIndex: 3 },
  {
    id: 'c2',
    online: false,
    localState: 'offline',
    clusterState: null,
    basis: 'local',
    peer: { peer: 'c2', status: 'offline', lastContactMs: 1500, timeoutMs: 900, rttP50Ms: 1.5, rttP99Ms: null },
    appliedIndex: 7,
  },
];

const view = controllersView({
  self: 'c1',
  version: '1.2.3',
  raft: { leader: 'c1', commit: 10, conf: { voters: ['c1', 'c2'], learners: ['c3'] } },
  members: [record('c1'), record('c2', 'offline'), record('c3')],
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
  }, "this node's applied index is its own, not its last view's");
  t.match(view.controllers[1], { online: false, clusterState: 'offline', leader: false, voter: true, lastContactMs: 1500, heartbeatTimeoutMs: 900, rttP50Ms: 1.5, rttP99Ms: 0, appliedIndex: 7, lagEntries: 3 });
  t.match(view.controllers[2], { id: 'c3', online: false, localState: 'offline', clusterState: 'online', voter: false, appliedIndex: 0, lagEntries: 10 }, 'a member the engine has no row for yet');
  t.match(view, { stale: true, staleReason: 'no quorum heard for 2s', answeredBy: 'c1' });
});

void t.test('what the server builds is what the client decodes', async (t) => {
  for (const c of view.controllers) t.strictSame(decodeController(c), c);
});
