/**
 * What `controller recover` writes, computed on a log without a disk: the log and the recovery
 * entries applied as RaftHost applies them (every write kept, the left-out members gone and
 * their data dirs remembered as removed), and a new epoch of the cluster's identity derived so
 * that identical survivors agree and diverged ones do not.
 */
import t from 'tap';
import { encodeBootstrapContext } from '../../src/node/conf-members.js';
import { bootstrapState, encodeConfEntry, type Entry } from '../../src/raft/index.js';
import { epochClusterId, withClusterId } from '../../src/recover/epoch.js';
import { planRecovery } from '../../src/recover/plan.js';
import { replay } from '../../src/recover/replay.js';
import { encodeCommand, StateMachine } from '../../src/statemachine/index.js';

const enc = new TextEncoder();
const OLD_ID = '00000000000000aa';
const INCARNATIONS = { c1: '1111111111111111', c2: '2222222222222222', c3: '3333333333333333' };

function log(): Entry[] {
  const boot = bootstrapState(['c1', 'c2', 'c3'], encodeBootstrapContext(['c1', 'c2', 'c3'].map((id) => ({ id, address: `127.0.0.1:710${id.slice(1)}` })))).entry;
  const entries: Entry[] = [boot, { index: 2, term: 2, kind: 'noop', data: new Uint8Array() }];
  const normal = (data: Uint8Array): void => void entries.push({ index: entries.length + 1, term: 2, kind: 'normal', data });
  normal(encodeCommand({ kind: 'members', op: 'establish', clusterId: OLD_ID, incarnations: Object.entries(INCARNATIONS).map(([id, incarnation]) => ({ id, incarnation })) }));
  for (let i = 0; i < 20; i++) normal(encodeCommand({ kind: 'kv', op: 'put', key: `k${i}`, value: enc.encode(`v${i}`) }));
  entries.push({ index: entries.length + 1, term: 2, kind: 'conf', data: encodeConfEntry({ type: 'add-learner', node: 'c4', context: '127.0.0.1:7104' }) });
  return entries;
}

void t.test('the recovered state holds every write; left-out members are gone and their data dirs removed', async (t) => {
  const entries = log();
  const plan = planRecovery({ self: 'c1', keep: null, hardState: { term: 2, vote: 'c1', commit: 10 }, snapshot: null, entries });
  const sm = replay(null, [...entries, ...plan.entries]);
  t.equal(sm.appliedIndex, plan.hardState.commit, 'applied up to the new commit index');
  t.equal(sm.kv.size, 20, 'every write, committed or not when the quorum was lost');
  t.strictSame(sm.members.list().map((m) => m.id), ['c1'], 'only the survivor is a member');
  t.ok(sm.members.wasRemoved(INCARNATIONS.c2) && sm.members.wasRemoved(INCARNATIONS.c3), "the left-out members' data dirs are remembered as removed");
  t.notOk(sm.members.wasRemoved(INCARNATIONS.c1));
  t.equal(sm.members.clusterId, OLD_ID);
});

void t.test('a new epoch: a derived cluster id, the same for identical survivors, different for diverged ones', async (t) => {
  const basis = { previous: OLD_ID, lastIndex: 24, lastTerm: 2, term: 3, members: ['c2', 'c1'] };
  const id = epochClusterId(basis);
  t.match(id, /^[0-9a-f]{16}$/);
  t.not(id, OLD_ID);
  t.equal(epochClusterId({ ...basis, members: ['c1', 'c2'] }), id, 'the order of --members does not matter');
  t.not(epochClusterId({ ...basis, lastIndex: 25 }), id, 'a survivor with a longer log derives another id');
  t.not(epochClusterId({ ...basis, lastTerm: 3 }), id);
  t.not(epochClusterId({ ...basis, members: ['c1'] }), id);

  const sm = replay(null, log());
  const rewritten = new StateMachine();
  rewritten.restore(withClusterId(sm.snapshot(), id));
  t.equal(rewritten.members.clusterId, id, 'the snapshot carries the new id');
  t.equal(rewritten.kv.size, 20, 'and everything else as it was');
  t.equal(rewritten.appliedIndex, sm.appliedIndex);
});
