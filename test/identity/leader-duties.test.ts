/** What a leader proposes for the cluster's identity (src/identity/leader-duties.ts). */
import t from 'tap';
import { leaderDuties, type DutyInput, type HeardFrom } from '../../src/identity/leader-duties.js';
import { CLUSTER_A, INC } from './fixtures.js';

const base = (over: Partial<DutyInput> = {}): DutyInput => ({
  self: { id: 'c1', incarnation: INC(1) },
  leading: true,
  appliedClusterId: null,
  ownClusterId: null,
  members: [
    { id: 'c1', role: 'voter', incarnation: '' },
    { id: 'c2', role: 'voter', incarnation: '' },
    { id: 'c3', role: 'voter', incarnation: '' },
  ],
  wasRemoved: () => false,
  heard: new Map(),
  leaderSinceMs: 1000,
  nowMs: 1100,
  establishAfterMs: 2000,
  ...over,
});
const heard = (entries: Record<string, string>, atMs = 1050): Map<string, HeardFrom> => new Map(Object.entries(entries).map(([id, incarnation]) => [id, { incarnation, atMs }]));

void t.test('a follower, or a leader with a cluster id in its data dir but not yet applied, proposes nothing', async (t) => {
  t.same(leaderDuties(base({ leading: false, heard: heard({ c2: INC(2), c3: INC(3) }) })), []);
  t.same(leaderDuties(base({ ownClusterId: CLUSTER_A, heard: heard({ c2: INC(2), c3: INC(3) }) })), []);
});

void t.test('the first leader draws the id once it has heard every voter, recording them all', async (t) => {
  t.same(leaderDuties(base({ heard: heard({ c2: INC(2) }) })), [], 'c3 not heard yet, and the wait is not over');
  t.same(leaderDuties(base({ heard: heard({ c2: INC(2), c3: INC(3) }) })), [
    { kind: 'establish', incarnations: [{ id: 'c1', incarnation: INC(1) }, { id: 'c2', incarnation: INC(2) }, { id: 'c3', incarnation: INC(3) }] },
  ]);
  t.same(leaderDuties(base({ heard: heard({ c2: INC(2), c3: INC(3) }, 900) })), [], 'heard before it led: not proof the voter is still there');
});

void t.test('a silent voter delays the id only for a while; one without incarnations (an older version) delays it until upgraded', async (t) => {
  t.same(leaderDuties(base({ nowMs: 3000, heard: heard({ c2: INC(2) }) })), [{ kind: 'establish', incarnations: [{ id: 'c1', incarnation: INC(1) }, { id: 'c2', incarnation: INC(2) }] }]);
  t.same(leaderDuties(base({ nowMs: 9000, heard: heard({ c2: INC(2), c3: '' }) })), []);
});

void t.test('an established cluster records each member the first time it is heard, never a removed data dir', async (t) => {
  const members = [
    { id: 'c1', role: 'voter' as const, incarnation: INC(1) },
    { id: 'c2', role: 'voter' as const, incarnation: '' },
    { id: 'c4', role: 'learner' as const, incarnation: '' },
    { id: 'c5', role: 'learner' as const, incarnation: '' },
  ];
  const duties = leaderDuties(base({ appliedClusterId: CLUSTER_A, members, heard: heard({ c2: INC(2), c4: INC(4), c5: INC(5) }), wasRemoved: (i) => i === INC(5) }));
  t.same(duties, [
    { kind: 'record', id: 'c2', incarnation: INC(2) },
    { kind: 'record', id: 'c4', incarnation: INC(4) },
  ]);
  const self = leaderDuties(base({ appliedClusterId: CLUSTER_A, members: [{ id: 'c1', role: 'voter', incarnation: '' }] }));
  t.same(self, [{ kind: 'record', id: 'c1', incarnation: INC(1) }], 'itself too');
});
