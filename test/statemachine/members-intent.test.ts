/** The members kind records the operator's intent to promote a learner with the add itself. */
import t from 'tap';
import { encodeCommand, StateMachine, type ApplyResult } from '../../src/statemachine/index.js';
import { confEntryToMembersCommand, decodeAddContext, encodeAddContext } from '../../src/node/conf-members.js';

function run(sm: StateMachine, command: unknown): ApplyResult {
  return sm.apply(sm.appliedIndex + 1, encodeCommand(command as { kind: string }));
}

function cluster(): StateMachine {
  const sm = new StateMachine();
  run(sm, { kind: 'members', op: 'bootstrap', members: [{ id: 'c1', address: '127.0.0.1:7101' }] });
  return sm;
}

void t.test('a plain member add records the intent; an add with --learner does not', async (t) => {
  const sm = cluster();
  t.match(run(sm, { kind: 'members', op: 'add', id: 'c2', address: 'h:2', learner: true, autoPromote: true }), { ok: true });
  t.match(run(sm, { kind: 'members', op: 'add', id: 'c3', address: 'h:3', learner: true }), { ok: true });
  t.equal(sm.members.get('c2')?.autoPromote, true);
  t.equal(sm.members.get('c3')?.autoPromote, false);
  t.equal(sm.members.get('c1')?.autoPromote, false, 'bootstrap voters have no pending promotion');
});

void t.test('an intent other than true is refused as a command', async (t) => {
  const sm = cluster();
  t.match(run(sm, { kind: 'members', op: 'add', id: 'c2', address: 'h:2', autoPromote: false }), { ok: false, code: 'INVALID', message: /autoPromote" must be true/ });
  t.match(run(sm, { kind: 'members', op: 'add', id: 'c2', address: 'h:2', autoPromote: 'yes' }), { ok: false, code: 'INVALID', message: /autoPromote/ });
  t.equal(sm.members.get('c2'), null);
});

void t.test('the intent survives a snapshot, and a snapshot from before it restores as no intent', async (t) => {
  const sm = cluster();
  run(sm, { kind: 'members', op: 'add', id: 'c2', address: 'h:2', learner: true, autoPromote: true });
  const copy = new StateMachine();
  copy.restore(sm.snapshot());
  t.equal(copy.members.get('c2')?.autoPromote, true);
  t.equal(Buffer.compare(copy.snapshot(), sm.snapshot()), 0, 'byte-identical');
  const text = new TextDecoder().decode(sm.snapshot().subarray(1)).replaceAll(',"autoPromote":true', '').replaceAll(',"autoPromote":false', '');
  t.notMatch(text, /autoPromote/, 'an old-format snapshot');
  const old = new StateMachine();
  old.restore(new TextEncoder().encode(String.fromCharCode(1) + text));
  t.equal(old.members.get('c2')?.autoPromote, false);
});

void t.test("an add-learner entry's context carries the address and the intent; plain addresses read as before", async (t) => {
  t.equal(encodeAddContext({ address: '10.0.0.14:7101', autoPromote: false }), '10.0.0.14:7101', 'no intent: the plain address, as before');
  const withIntent = encodeAddContext({ address: '10.0.0.14:7101', autoPromote: true });
  t.strictSame(decodeAddContext(withIntent), { address: '10.0.0.14:7101', autoPromote: true });
  t.strictSame(decodeAddContext('10.0.0.14:7101'), { address: '10.0.0.14:7101', autoPromote: false });
  t.strictSame(decodeAddContext('{not json'), { address: '{not json', autoPromote: false }, 'never throws');
  const sm = cluster();
  t.match(sm.apply(2, confEntryToMembersCommand({ type: 'add-learner', node: 'c4', context: withIntent })), { ok: true });
  t.match(sm.members.get('c4'), { address: '10.0.0.14:7101', role: 'learner', autoPromote: true });
});

void t.test('removed ids are remembered, so a repeated remove can say "already removed"; adding again forgets', async (t) => {
  const sm = cluster();
  run(sm, { kind: 'members', op: 'add', id: 'c2', address: 'h:2', learner: true });
  t.equal(sm.members.wasRemovedId('c2'), false, 'a member is not removed');
  t.equal(sm.members.wasRemovedId('c9'), false, 'nor is an id never seen');
  t.match(run(sm, { kind: 'members', op: 'remove', id: 'c2' }), { ok: true });
  t.equal(sm.members.wasRemovedId('c2'), true);
  const copy = new StateMachine();
  copy.restore(sm.snapshot());
  t.equal(copy.members.wasRemovedId('c2'), true, 'kept in the snapshot');
  run(sm, { kind: 'members', op: 'add', id: 'c2', address: 'h:2', learner: true });
  t.equal(sm.members.wasRemovedId('c2'), false, 'a member again');
});

void t.test('a snapshot whose removed ids name a member is refused', async (t) => {
  const sm = cluster();
  const text = new TextDecoder().decode(sm.snapshot().subarray(1)).replace('"removedIds":[]', '"removedIds":["c1"]');
  t.throws(() => new StateMachine().restore(new TextEncoder().encode(String.fromCharCode(1) + text)), /removedIds" names "c1", which is a member/);
});

void t.test('a bootstrap into an emptied table makes its members members again, not removed ones', async (t) => {
  const sm = cluster();
  run(sm, { kind: 'members', op: 'remove', id: 'c1' });
  t.equal(sm.members.wasRemovedId('c1'), true);
  t.match(run(sm, { kind: 'members', op: 'bootstrap', members: [{ id: 'c1', address: 'h:1' }] }), { ok: true });
  t.equal(sm.members.wasRemovedId('c1'), false);
  const copy = new StateMachine();
  copy.restore(sm.snapshot());
  t.equal(copy.members.get('c1')?.id, 'c1', 'and the snapshot restores');
});
