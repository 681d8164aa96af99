import t from 'tap';
import {
  StateMachine,
  encodeCommand,
  type ApplyResult,
  type MemberStatus,
  type MembersCommand,
} from '../../src/statemachine/index.js';

function run(sm: StateMachine, command: MembersCommand): ApplyResult {
  return sm.apply(sm.appliedIndex + 1, encodeCommand(command));
}
const bootstrap = (...ids: string[]): MembersCommand => ({
  kind: 'members',
  op: 'bootstrap',
  members: ids.map((id, i) => ({ id, address: `127.0.0.1:${7101 + i}` })),
});
const add = (id: string, address: string): MembersCommand => ({ kind: 'members', op: 'add', id, address, learner: true });
const promote = (id: string): MembersCommand => ({ kind: 'members', op: 'promote', id });
const remove = (id: string): MembersCommand => ({ kind: 'members', op: 'remove', id });
const setStatus = (id: string, status: MemberStatus, term: number, reason = 'test'): MembersCommand => ({
  kind: 'members',
  op: 'setStatus',
  id,
  status,
  reason,
  observedAt: 1_700_000_000_000 + term,
  term,
});

function cluster(): StateMachine {
  const sm = new StateMachine();
  run(sm, bootstrap('c2', 'c1', 'c3'));
  return sm;
}

void t.test('bootstrap makes every member an online voter, listed by id', async (t) => {
  const sm = new StateMachine();
  t.same(run(sm, bootstrap('c2', 'c1', 'c3')), { ok: true, revision: 1 });
  t.same(
    sm.members.list().map((m) => m.id),
    ['c1', 'c2', 'c3'],
  );
  t.same(sm.members.get('c2'), {
    id: 'c2',
    address: '127.0.0.1:7101',
    role: 'voter',
    status: 'online',
    statusSince: 1,
    statusReason: 'bootstrap',
    statusTerm: 0,
    statusObservedAt: 0,
    autoPromote: false,
    incarnation: '',
  });
  t.equal(sm.members.get('c9'), null);
});

void t.test('bootstrap is refused on a table that is not empty', async (t) => {
  const sm = cluster();
  t.match(run(sm, bootstrap('c4')), { ok: false, code: 'CONFLICT', message: /empty members table, found 3/ });
  t.equal(sm.members.size, 3);
  t.equal(sm.revision(), 1);
});

void t.test('add creates an offline learner; promote makes it a voter', async (t) => {
  const sm = cluster();
  t.same(run(sm, add('c4', '127.0.0.1:7104')), { ok: true, revision: 2 });
  t.match(sm.members.get('c4'), { role: 'learner', status: 'offline', statusSince: 2, statusTerm: 0, address: '127.0.0.1:7104' });
  t.same(run(sm, promote('c4')), { ok: true, revision: 3 });
  t.match(sm.members.get('c4'), { role: 'voter', status: 'offline', statusSince: 2 });
  t.same(
    sm.members.list().map((m) => m.id),
    ['c1', 'c2', 'c3', 'c4'],
  );
});

void t.test('add of an existing id is a conflict', async (t) => {
  const sm = cluster();
  t.match(run(sm, add('c1', 'elsewhere:1')), { ok: false, code: 'CONFLICT', message: /"c1" already exists as a voter/ });
  t.equal(sm.members.get('c1')?.address, '127.0.0.1:7102');
});

void t.test('promote of a voter changes nothing; promote of a stranger is NOT_FOUND', async (t) => {
  const sm = cluster();
  t.same(run(sm, promote('c1')), { ok: true, revision: 1 });
  t.equal(sm.revision(), 1);
  t.match(run(sm, promote('c9')), { ok: false, code: 'NOT_FOUND' });
});

void t.test('remove deletes the record; removing a stranger is NOT_FOUND', async (t) => {
  const sm = cluster();
  t.same(run(sm, remove('c2')), { ok: true, revision: 2 });
  t.same(
    sm.members.list().map((m) => m.id),
    ['c1', 'c3'],
  );
  t.match(run(sm, remove('c2')), { ok: false, code: 'NOT_FOUND' });
});

void t.test('setStatus records the decision and reports the transition', async (t) => {
  const sm = cluster();
  t.same(run(sm, setStatus('c3', 'offline', 2, 'heartbeat timeout 2230ms')), {
    ok: true,
    revision: 1,
    value: { changed: true, from: 'online', to: 'offline' },
  });
  t.same(sm.members.get('c3'), {
    id: 'c3',
    address: '127.0.0.1:7103',
    role: 'voter',
    status: 'offline',
    statusSince: 2,
    statusReason: 'heartbeat timeout 2230ms',
    statusTerm: 2,
    statusObservedAt: 1_700_000_000_002,
    autoPromote: false,
    incarnation: '',
  });
  t.match(run(sm, setStatus('c9', 'offline', 2)), { ok: false, code: 'NOT_FOUND' });
  t.equal(sm.revision(), 1, 'a health record never advances the cluster revision (statusSince is the entry index)');
});

void t.test('setStatus is idempotent', async (t) => {
  const sm = cluster();
  run(sm, setStatus('c3', 'offline', 2));
  const before = sm.members.get('c3');
  t.same(run(sm, setStatus('c3', 'offline', 2, 'again')), {
    ok: true,
    revision: 1,
    value: { changed: false, from: 'offline', to: 'offline' },
  });
  t.equal(sm.revision(), 1, 'a repeat changes nothing');
  t.equal(sm.members.get('c3'), before, 'the record is untouched');
  t.match(before, { statusReason: 'test', statusSince: 2 });
});

void t.test('setStatus from an older term than recorded is ignored', async (t) => {
  const sm = cluster();
  run(sm, setStatus('c3', 'offline', 5));
  const result = run(sm, setStatus('c3', 'online', 4));
  t.match(result, { ok: false, code: 'IGNORED', message: /decided in term 5; ignoring a decision from term 4/ });
  t.match(sm.members.get('c3'), { status: 'offline', statusTerm: 5, statusSince: 2 });
  t.equal(sm.revision(), 1);
  t.match(run(sm, setStatus('c3', 'online', 5)), { ok: true, value: { changed: true } }, 'the same term may change its mind');
  t.match(run(sm, setStatus('c3', 'offline', 6)), { ok: true, value: { changed: true } }, 'a newer term wins');
});

void t.test('a newer term confirming the same status fences off older decisions', async (t) => {
  const sm = cluster();
  run(sm, setStatus('c3', 'offline', 3, 'timeout'));
  t.same(run(sm, setStatus('c3', 'offline', 7, 'still down')), {
    ok: true,
    revision: 1,
    value: { changed: false, from: 'offline', to: 'offline' },
  });
  t.match(sm.members.get('c3'), { statusTerm: 7, statusSince: 2, statusReason: 'timeout' });
  t.match(run(sm, setStatus('c3', 'online', 6)), { ok: false, code: 'IGNORED' });
});

void t.test('a re-added member starts with a fresh status term', async (t) => {
  const sm = cluster();
  run(sm, setStatus('c3', 'offline', 9));
  run(sm, remove('c3'));
  run(sm, add('c3', '127.0.0.1:7203'));
  t.match(sm.members.get('c3'), { role: 'learner', statusTerm: 0, address: '127.0.0.1:7203' });
  t.match(run(sm, setStatus('c3', 'online', 1)), { ok: true, value: { changed: true } });
});

const establish = (clusterId: string, incarnations: Record<string, string>): MembersCommand => ({
  kind: 'members',
  op: 'establish',
  clusterId,
  incarnations: Object.entries(incarnations).map(([id, incarnation]) => ({ id, incarnation })),
});
const record = (id: string, incarnation: string): MembersCommand => ({ kind: 'members', op: 'recordIncarnation', id, incarnation });
const INC = (n: number): string => n.toString(16).padStart(16, '0');

void t.test('the cluster id is set once, with the incarnations its first leader heard from', async (t) => {
  const sm = cluster();
  t.equal(sm.members.clusterId, null, 'no id before the first leader draws one');
  const before = sm.revision();
  t.same(run(sm, establish('00000000000000a1', { c1: INC(1), c2: INC(2), c9: INC(9) })), { ok: true, revision: before });
  t.equal(sm.members.clusterId, '00000000000000a1');
  t.same(sm.members.list().map((m) => [m.id, m.incarnation]), [['c1', INC(1)], ['c2', INC(2)], ['c3', '']], 'a member not heard from stays unrecorded; an unknown id is ignored');
  t.equal(sm.revision(), before, 'identity records are not resources: no revision');
  t.match(run(sm, establish('00000000000000b2', {})), { ok: false, code: 'CONFLICT', message: /already has the id 00000000000000a1/ });
  t.equal(sm.members.clusterId, '00000000000000a1', 'a second id is never taken');
});

void t.test("a member's incarnation is recorded once and never replaced; a removed one is remembered", async (t) => {
  const sm = cluster();
  run(sm, establish('00000000000000a1', { c1: INC(1) }));
  t.same(run(sm, record('c3', INC(3))), { ok: true, revision: sm.revision() });
  t.same(run(sm, record('c3', INC(3))), { ok: true, revision: sm.revision() }, 'recording the same again is a no-op');
  t.match(run(sm, record('c3', INC(33))), { ok: false, code: 'CONFLICT', message: /runs as incarnation 0000000000000003; 0000000000000021 is another data dir/ });
  t.equal(sm.members.get('c3')?.incarnation, INC(3));
  t.match(run(sm, record('c7', INC(7))), { ok: false, code: 'NOT_FOUND' });
  run(sm, remove('c3'));
  t.ok(sm.members.wasRemoved(INC(3)), 'the removed incarnation is remembered');
  run(sm, add('c3', 'h:3'));
  t.equal(sm.members.get('c3')?.incarnation, '', 're-added: unrecorded until the cluster hears from its new data dir');
  t.match(run(sm, record('c3', INC(3))), { ok: false, code: 'CONFLICT', message: /belonged to a removed member/ }, 'the old data dir cannot come back');
  t.same(run(sm, record('c3', INC(34))), { ok: true, revision: sm.revision() });
});

void t.test('identity survives a snapshot; a snapshot from before identities restores unrecorded', async (t) => {
  const sm = cluster();
  run(sm, establish('00000000000000a1', { c1: INC(1), c2: INC(2) }));
  run(sm, remove('c2'));
  const copy = new StateMachine();
  copy.restore(sm.snapshot());
  t.equal(copy.members.clusterId, '00000000000000a1');
  t.equal(copy.members.get('c1')?.incarnation, INC(1));
  t.ok(copy.members.wasRemoved(INC(2)));
  const old = new StateMachine();
  old.restore(
    new TextEncoder().encode(
      '\u0001{"appliedIndex":1,"revision":1,"kinds":{"members":[{"id":"c1","address":"h:1","role":"voter","status":"online","statusSince":1,"statusReason":"bootstrap","statusTerm":0,"statusObservedAt":0}]},"clients":[]}',
    ),
  );
  t.equal(old.members.clusterId, null);
  t.equal(old.members.get('c1')?.incarnation, '');
});

void t.test('identity commands are validated', async (t) => {
  const sm = cluster();
  t.match(sm.apply(sm.appliedIndex + 1, encodeCommand({ kind: 'members', op: 'establish', clusterId: 'XYZ', incarnations: [] })), { code: 'INVALID', message: /"clusterId" must be 16 lowercase hex digits/ });
  t.match(sm.apply(sm.appliedIndex + 1, encodeCommand({ kind: 'members', op: 'recordIncarnation', id: 'c1', incarnation: '' })), { code: 'INVALID', message: /"incarnation" must be 16 lowercase hex digits/ });
  t.match(
    sm.apply(sm.appliedIndex + 1, encodeCommand(establish('00000000000000a1', { c1: INC(1) }) as MembersCommand & { incarnations: unknown[] })),
    { ok: true },
  );
});
