import t from 'tap';
import { seededRng } from '../../src/util/rng.js';
import {
  Fields,
  KindRegistry,
  StateMachine,
  StateMachineError,
  commandFields,
  encodeCommand,
  failure,
  kvKind,
  membersKind,
  okResult,
  type ApplyResult,
  type KindInstance,
  type ResourceKind,
} from '../../src/statemachine/index.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

void t.test('a malformed entry returns INVALID, changes nothing, and advances the applied index', async (t) => {
  const sm = new StateMachine();
  sm.apply(1, encodeCommand({ kind: 'kv', op: 'put', key: 'k', value: 'v' }));
  const before = sm.kv.list().items;
  const garbage = [
    new Uint8Array(0),
    new Uint8Array([0xff, 0x00]),
    text('\u0001not json'),
    text('\u0001{"kind":"kv","op":"put","key":"k"}'),
    text('\u0001{"kind":"nope"}'),
    text('\u0001{"kind":"kv","op":"put","key":"k","value":"v","ifRevision":"1"}'),
  ];
  let index = 1;
  for (const data of garbage) {
    index += 1;
    let result: ApplyResult | undefined;
    t.doesNotThrow(() => {
      result = sm.apply(index, data);
    });
    t.match(result, { ok: false, code: 'INVALID', message: /^command: / });
    t.equal(sm.appliedIndex, index);
  }
  t.equal(sm.revision(), 1);
  t.same(sm.kv.list().items, before);
});

void t.test('randomly corrupted entries never throw and apply identically on every node', async (t) => {
  const seed = 20240611;
  const rng = seededRng(seed);
  const a = new StateMachine();
  const b = new StateMachine();
  const valid = encodeCommand({ kind: 'kv', op: 'put', key: 'key', value: 'value', ifRevision: 0, client: { id: 'c', seq: 1 } });
  const resultsA: ApplyResult[] = [];
  const resultsB: ApplyResult[] = [];
  for (let i = 1; i <= 2000; i++) {
    const data = valid.slice(0, rng.int(0, valid.length + 1));
    for (let flips = rng.int(0, 3); flips > 0 && data.length > 0; flips--) data[rng.int(0, data.length)] = rng.int(0, 256);
    resultsA.push(a.apply(i, data));
    resultsB.push(b.apply(i, data));
  }
  t.same(resultsB, resultsA, `the same results on both nodes (seed ${seed})`);
  const invalid = resultsA.filter((r) => !r.ok && r.code === 'INVALID').length;
  t.ok(invalid > 1000 && invalid < 2000, `most corrupted entries are INVALID (${invalid})`);
  t.equal(a.appliedIndex, 2000);
  t.equal(Buffer.compare(a.snapshot(), b.snapshot()), 0);
});

void t.test('an entry at or below the applied index is a replay and changes nothing', async (t) => {
  const sm = new StateMachine();
  sm.apply(5, encodeCommand({ kind: 'kv', op: 'put', key: 'k', value: 'v1' }));
  const replay = sm.apply(5, encodeCommand({ kind: 'kv', op: 'put', key: 'k', value: 'v2' }));
  t.match(replay, { ok: false, code: 'IGNORED', message: /entry 5 is already applied \(applied index 5\)/ });
  t.match(sm.apply(3, encodeCommand({ kind: 'kv', op: 'delete', key: 'k' })), { code: 'IGNORED' });
  t.same(sm.kv.get('k')?.value, new TextEncoder().encode('v1'), "a JSON command's string value is stored as its UTF-8 bytes");
  t.equal(sm.appliedIndex, 5);
});

void t.test('indexes may skip (no-op and conf entries); advance records them', async (t) => {
  const sm = new StateMachine();
  sm.advance(1);
  t.equal(sm.appliedIndex, 1);
  t.match(sm.apply(4, encodeCommand({ kind: 'kv', op: 'put', key: 'k', value: 'v' })), { ok: true, revision: 1 });
  sm.advance(7);
  t.equal(sm.appliedIndex, 7);
  t.equal(sm.revision(), 1);
});

void t.test('an index that is not a positive integer is a driver bug and throws', async (t) => {
  const sm = new StateMachine();
  for (const index of [0, -1, 1.5, Number.NaN]) {
    t.throws(() => sm.apply(index, new Uint8Array(0)), { code: 'INVALID_INDEX' });
  }
  t.equal(sm.appliedIndex, 0);
});

void t.test('applyCommand validates and applies a command object like a decoded entry', async (t) => {
  const sm = new StateMachine();
  t.same(sm.applyCommand(3, { kind: 'members', op: 'bootstrap', members: [{ id: 'c1', address: 'h:1' }] }), {
    ok: true,
    revision: 1,
  });
  t.match(sm.applyCommand(4, { kind: 'members', op: 'add', id: '', address: 'h' }), {
    ok: false,
    code: 'INVALID',
    message: /"id" must not be empty/,
  });
  t.equal(sm.appliedIndex, 4);
  t.equal(sm.members.size, 1);
});

// A kind written outside the module, as later kinds (agent config, virtual IPs) will be.
interface Counter {
  readonly kind: 'counter';
  readonly op: 'incr';
  readonly by: number;
}
interface CounterView {
  value(): number;
}
class CounterStore implements KindInstance<Counter, CounterView> {
  private total = 0;
  readonly view: CounterView = { value: () => this.total };
  apply(command: Counter, ctx: { bump(): number }): ApplyResult {
    if (command.by === 0) return failure('IGNORED', 'nothing to add');
    const revision = ctx.bump();
    this.total += command.by;
    return okResult(revision, this.total);
  }
  snapshot(): unknown {
    return this.total;
  }
  restore(data: unknown): void {
    if (typeof data !== 'number') throw new Error('counter: expected a number');
    this.total = data;
  }
}
const counterKind: ResourceKind<Counter, CounterView> = {
  name: 'counter',
  parse: (f: Fields) => {
    f.only(commandFields('op', 'by'));
    return { kind: 'counter', op: f.oneOf('op', ['incr'] as const), by: f.int('by') };
  },
  create: () => new CounterStore(),
};

void t.test('a new resource kind plugs in through the registry and shares the revision', async (t) => {
  const sm = new StateMachine({ kinds: [kvKind, membersKind, counterKind] });
  sm.apply(1, encodeCommand({ kind: 'kv', op: 'put', key: 'k', value: 'v' }));
  t.same(sm.apply(2, text('\u0001{"kind":"counter","op":"incr","by":5}')), { ok: true, revision: 2, value: 5 });
  t.match(sm.apply(3, text('\u0001{"kind":"counter","op":"incr","by":0}')), { code: 'IGNORED' });
  t.match(sm.apply(4, text('\u0001{"kind":"counter","op":"incr","by":"5"}')), { code: 'INVALID' });
  t.equal(sm.view(counterKind).value(), 5);
  t.equal(sm.revision(), 2);
  const copy = new StateMachine({ kinds: [counterKind, membersKind, kvKind] });
  copy.restore(sm.snapshot());
  t.equal(copy.view(counterKind).value(), 5);
  t.equal(Buffer.compare(copy.snapshot(), sm.snapshot()), 0, 'registration order does not matter');
  t.throws(() => new StateMachine().restore(sm.snapshot()), { code: 'INVALID_SNAPSHOT' }, 'a node without the kind refuses');
  t.throws(() => new StateMachine().view(counterKind), { code: 'INVALID_REGISTRY' });
  t.match(new StateMachine().apply(1, text('\u0001{"kind":"counter","op":"incr","by":1}')), { code: 'INVALID' });
});

void t.test('a kind that throws while applying yields INVALID instead of crashing', async (t) => {
  const broken: ResourceKind<Counter, CounterView> = {
    ...counterKind,
    create: () => {
      const store = new CounterStore();
      return {
        view: store.view,
        snapshot: () => store.snapshot(),
        restore: (d) => store.restore(d),
        apply: () => {
          throw new Error('boom');
        },
      };
    },
  };
  const sm = new StateMachine({ kinds: [broken] });
  t.match(sm.apply(1, text('\u0001{"kind":"counter","op":"incr","by":1}')), {
    ok: false,
    code: 'INVALID',
    message: /kind "counter" failed to apply: boom/,
  });
  t.equal(sm.appliedIndex, 1);
});

void t.test('a registry refuses duplicate and malformed kind names', async (t) => {
  t.throws(() => new KindRegistry([kvKind, kvKind]), { code: 'INVALID_REGISTRY', message: /"kv" is registered twice/ });
  t.throws(() => new KindRegistry([{ ...counterKind, name: 'Bad Name' } as never]), StateMachineError);
});
