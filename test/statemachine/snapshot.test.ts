import t from 'tap';
import {
  SnapshotError,
  StateMachine,
  encodeCommand,
  type Envelope,
  type KvCommand,
  type MembersCommand,
} from '../../src/statemachine/index.js';

type Cmd = Envelope<KvCommand | MembersCommand>;

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

const HISTORY: readonly Cmd[] = [
  { kind: 'members', op: 'bootstrap', members: [{ id: 'c2', address: 'h:2' }, { id: 'c1', address: 'h:1' }] },
  { kind: 'kv', op: 'put', key: 'zeta', value: text('last'), client: { id: 'cli', seq: 1 } },
  { kind: 'kv', op: 'put', key: 'alpha', value: text('first') },
  { kind: 'kv', op: 'put', key: 'mid', value: text('ünïcödé 🎉') },
  { kind: 'kv', op: 'delete', key: 'mid' },
  { kind: 'kv', op: 'put', key: 'alpha', value: text('again'), ifRevision: 3 },
  { kind: 'members', op: 'add', id: 'c3', address: 'h:3' },
  { kind: 'members', op: 'setStatus', id: 'c1', status: 'offline', reason: 'timeout', observedAt: 1234.5, term: 2 },
  { kind: 'kv', op: 'put', key: 'beta', value: text(''), client: { id: 'other', seq: 9 } },
];

function feed(sm: StateMachine, commands: readonly Cmd[]): void {
  for (const c of commands) sm.apply(sm.appliedIndex + 1, encodeCommand(c));
}

function loaded(): StateMachine {
  const sm = new StateMachine();
  feed(sm, HISTORY);
  return sm;
}

/** The message of the SnapshotError restoring `data` throws, or what happened instead. */
function restoreFailure(data: Uint8Array | string): string {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  try {
    new StateMachine().restore(bytes);
  } catch (err) {
    return err instanceof SnapshotError && err.code === 'INVALID_SNAPSHOT' ? err.message : `not a SnapshotError: ${String(err)}`;
  }
  return 'restored without error';
}

void t.test('two machines fed the same commands produce identical snapshot bytes', async (t) => {
  const a = loaded();
  const b = loaded();
  t.equal(Buffer.compare(a.snapshot(), b.snapshot()), 0);
  t.equal(Buffer.compare(a.snapshot(), a.snapshot()), 0, 'taking a snapshot does not change state');
});

void t.test('the snapshot lists records in key order, whatever the insertion order', async (t) => {
  const sm = new StateMachine();
  feed(sm, [
    { kind: 'members', op: 'bootstrap', members: [{ id: 'c3', address: 'h:3' }, { id: 'c1', address: 'h:1' }] },
    { kind: 'kv', op: 'put', key: 'z', value: text('1') },
    { kind: 'kv', op: 'put', key: 'm', value: text('2') },
    { kind: 'kv', op: 'put', key: 'a', value: text('3') },
  ]);
  const parsed: unknown = JSON.parse(new TextDecoder().decode(sm.snapshot().subarray(1)));
  t.match(parsed, {
    kinds: {
      kv: [
        ['a', '3', 4, 4, 1],
        ['m', '2', 3, 3, 1],
        ['z', '1', 2, 2, 1],
      ],
      members: { clusterId: null, members: [{ id: 'c1' }, { id: 'c3' }], removed: [], removedIds: [] },
    },
  });
});

void t.test('restore(snapshot()) round-trips exactly', async (t) => {
  const a = loaded();
  const bytes = a.snapshot();
  const b = new StateMachine();
  b.restore(bytes);
  t.equal(Buffer.compare(b.snapshot(), bytes), 0);
  t.equal(b.appliedIndex, a.appliedIndex);
  t.equal(b.revision(), a.revision());
  t.same(b.kv.list().items, a.kv.list().items);
  t.same(b.members.list(), a.members.list());
  t.same(b.kv.getRecord('alpha'), { key: 'alpha', value: text('again'), createRevision: 3, modRevision: 6, version: 2 });
});

void t.test('a restored machine continues exactly like the original', async (t) => {
  const a = loaded();
  const b = new StateMachine();
  b.restore(a.snapshot());
  const more: Cmd[] = [
    { kind: 'kv', op: 'put', key: 'zeta', value: text('last'), client: { id: 'cli', seq: 1 } },
    { kind: 'kv', op: 'put', key: 'new', value: text('n') },
    { kind: 'members', op: 'setStatus', id: 'c1', status: 'online', reason: 'late', observedAt: 0, term: 1 },
    { kind: 'kv', op: 'put', key: 'alpha', value: text('cas'), ifRevision: 6 },
  ];
  const ra = more.map((c) => a.apply(a.appliedIndex + 1, encodeCommand(c)));
  const rb = more.map((c) => b.apply(b.appliedIndex + 1, encodeCommand(c)));
  t.same(rb, ra);
  t.equal(Buffer.compare(a.snapshot(), b.snapshot()), 0);
});

void t.test('restore replaces all existing state', async (t) => {
  const fresh = new StateMachine();
  const target = loaded();
  target.restore(fresh.snapshot());
  t.equal(target.kv.size, 0);
  t.equal(target.members.size, 0);
  t.equal(target.revision(), 0);
  t.equal(target.appliedIndex, 0);
});

void t.test('zero bytes restore the initial empty state (Raft empty snapshot)', async (t) => {
  const sm = loaded();
  sm.restore(new Uint8Array(0));
  t.equal(Buffer.compare(sm.snapshot(), new StateMachine().snapshot()), 0);
});

void t.test('restore rejects garbage with a clear error and keeps the old state', async (t) => {
  const good = new TextDecoder().decode(loaded().snapshot().subarray(1));
  t.match(restoreFailure('\u0002{}'), /format version 1, found byte 2/);
  t.match(restoreFailure('\u0001{"appliedIndex":'), /UTF-8 JSON/);
  t.match(restoreFailure(new Uint8Array([1, 0xc3])), /UTF-8 JSON/);
  t.match(restoreFailure('\u0001[]'), /snapshot: expected an object, found an array/);
  t.match(restoreFailure('\u0001{"appliedIndex":-1,"revision":0,"kinds":{},"clients":[]}'), /"appliedIndex" must be in/);
  t.match(restoreFailure('\u0001{"appliedIndex":1,"revision":0,"kinds":[],"clients":[]}'), /"kinds" must be an object/);
  t.match(restoreFailure('\u0001{"appliedIndex":1,"revision":0,"kinds":{"vips":[]},"clients":[]}'), /kind "vips" is not registered/);
  t.match(restoreFailure('\u0001{"appliedIndex":1,"revision":0,"kinds":{},"clients":[],"extra":1}'), /unexpected field "extra"/);
  t.match(restoreFailure('\u0001{"appliedIndex":1,"revision":0,"kinds":{"kv":{}},"clients":[]}'), /kv: expected an array/);
  t.match(restoreFailure('\u0001{"appliedIndex":1,"revision":1,"kinds":{"kv":[["k","v",1,1]]},"clients":[]}'), /kv: record 0/);
  t.match(
    restoreFailure('\u0001{"appliedIndex":1,"revision":2,"kinds":{"kv":[["b","v",1,1,1],["a","v",2,2,1]]},"clients":[]}'),
    /strictly increasing/,
  );
  t.match(restoreFailure('\u0001{"appliedIndex":1,"revision":2,"kinds":{"kv":[["a","v",2,1,1]]},"clients":[]}'), /createRevision 2 is after/);
  t.match(restoreFailure('\u0001{"appliedIndex":1,"revision":0,"kinds":{"members":[{"id":"c1"}]},"clients":[]}'), /members: record 0: field "address"/);
  t.match(restoreFailure('\u0001{"appliedIndex":1,"revision":0,"kinds":{},"clients":[["a",1,1,{"ok":"yes"}]]}'), /"ok" must be a boolean/);
  t.match(restoreFailure('\u0001{"appliedIndex":1,"revision":0,"kinds":{},"clients":[["a",1,2,{"ok":true,"revision":1}],["b",1,2,{"ok":true,"revision":1}]]}'), /increasing index order/);
  t.match(restoreFailure('\u0001' + good.slice(0, -5)), /UTF-8 JSON/, 'a truncated snapshot is refused');
  t.match(restoreFailure('\u0001' + good.replace(/"revision":(\d+)/, '"revision":"$1"')), /field "revision" must be an integer, found "\d+"/);

  const sm = loaded();
  const before = sm.snapshot();
  t.throws(() => sm.restore(new TextEncoder().encode('\u0001{"appliedIndex":1,"revision":0,"kinds":{"kv":[],"members":{}},"clients":[]}')));
  t.equal(Buffer.compare(sm.snapshot(), before), 0, 'a failed restore leaves the state as it was');
});

void t.test('a snapshot missing a newer kind restores that kind empty', async (t) => {
  const sm = new StateMachine();
  sm.restore(new TextEncoder().encode('\u0001{"appliedIndex":3,"revision":1,"kinds":{"kv":[["k","v",1,1,1]]},"clients":[]}'));
  t.equal(sm.members.size, 0);
  t.same(sm.kv.get('k'), { key: 'k', value: text('v'), revision: 1 });
  t.equal(sm.appliedIndex, 3);
});

void t.test('a value that is not UTF-8 is kept in the snapshot as base64, and a malformed one is refused', async (t) => {
  const sm = new StateMachine();
  sm.restore(new TextEncoder().encode('\u0001{"appliedIndex":2,"revision":2,"kinds":{"kv":[["a",{"b64":"AP8="},1,1,1],["b","ok",2,2,1]]},"clients":[]}'));
  t.same(sm.kv.get('a')?.value, new Uint8Array([0, 255]));
  t.same(sm.kv.get('b')?.value, text('ok'));
  t.match(new TextDecoder().decode(sm.snapshot()), /\["a",\{"b64":"AP8="\},1,1,1\],\["b","ok",2,2,1\]/, 'written back the same way');
  t.match(restoreFailure('\u0001{"appliedIndex":1,"revision":1,"kinds":{"kv":[["a",{"b64":"**"},1,1,1]]},"clients":[]}'), /value must be a string or \{ "b64": base64 \}/);
  t.match(restoreFailure('\u0001{"appliedIndex":1,"revision":1,"kinds":{"kv":[["a",{"b64":"AA==","x":1},1,1,1]]},"clients":[]}'), /value must be a string or/);
});

void t.test('a value that JSON would escape beyond the size of base64 is kept as base64; text stays text', async (t) => {
  const sm = new StateMachine();
  // A small protobuf message: valid UTF-8, but mostly control characters.
  const proto = new Uint8Array([0x08, 0x01, 0x12, 0x03, 0x61, 0x62, 0x63, 0x18, 0x02, 0x20, 0x00, 0x28, 0x05]);
  sm.apply(1, encodeCommand({ kind: 'kv', op: 'put', key: 'p', value: proto }));
  sm.apply(2, encodeCommand({ kind: 'kv', op: 'put', key: 't', value: text('line one\nline "two"') }));
  const json = new TextDecoder().decode(sm.snapshot());
  t.match(json, `["p",{"b64":"${Buffer.from(proto).toString('base64')}"},1,1,1]`);
  t.match(json, '["t","line one\\nline \\"two\\"",2,2,1]', 'text with a few escapes stays readable');
  const copy = new StateMachine();
  copy.restore(sm.snapshot());
  t.same(copy.kv.get('p')?.value, proto);
  t.same(copy.kv.get('t')?.value, text('line one\nline "two"'));
  // 30 KB of bytes 0..3, valid UTF-8: about 40 KB as base64 where text took about 180 KB.
  const big = new Uint8Array(30_000).map((_, i) => i % 4);
  sm.apply(3, encodeCommand({ kind: 'kv', op: 'put', key: 'b', value: big }));
  t.ok(sm.snapshot().length < 45_000, `snapshot of ${sm.snapshot().length} bytes`);
});
