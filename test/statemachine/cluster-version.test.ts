/** The cluster kind: a strict set-version that only ever rises, its snapshot, and the version arithmetic. */
import t from 'tap';
import { expectInvalid, type InvalidCase } from './invalid-commands.js';
import {
  BASE_CLUSTER_VERSION,
  DEFAULT_KINDS,
  FORGET_AGENTS_VERSION,
  StateMachine,
  clusterKind,
  clusterVersionOf,
  compareClusterVersions,
  isClusterVersion,
  encodeCommand,
} from '../../src/statemachine/index.js';

function set(version: string): Uint8Array {
  return encodeCommand({ kind: 'cluster', op: 'set-version', version });
}

/** A command object the types would refuse, as a faulty or newer proposer might send it. */
function raw(o: unknown): Uint8Array {
  return encodeCommand(o as Parameters<typeof encodeCommand>[0]);
}

/** The snapshot as a build without the cluster kind wrote it: the same bytes, `kinds.cluster` left out. */
function withoutClusterKind(snapshot: Uint8Array): Uint8Array {
  const text = new TextDecoder().decode(snapshot);
  const body = JSON.parse(text.slice(1)) as { kinds: Record<string, unknown> };
  if (!Object.hasOwn(body.kinds, 'cluster')) throw new Error('the snapshot has no cluster kind to leave out');
  delete body.kinds['cluster'];
  return new TextEncoder().encode(text[0]! + JSON.stringify(body));
}

void t.test('a new cluster is at the base version, which supports nothing newer', async (t) => {
  const view = new StateMachine().view(clusterKind);
  t.equal(view.version, BASE_CLUSTER_VERSION);
  t.equal(view.version, '0.1');
  t.ok(view.supports('0.1'));
  t.ok(view.supports('0.0'));
  t.notOk(view.supports(FORGET_AGENTS_VERSION), 'forgetting agents waits for 0.2');
});

void t.test('set-version raises the version, never lowers it, and claims no revision', async (t) => {
  const sm = new StateMachine();
  const view = sm.view(clusterKind);
  t.same(sm.apply(1, set('0.2')), { ok: true, revision: 0, value: { version: '0.2', changed: true } });
  t.equal(view.version, '0.2');
  t.ok(view.supports(FORGET_AGENTS_VERSION));
  t.notOk(view.supports('0.3'));
  t.same(sm.apply(2, set('0.2')), { ok: true, revision: 0, value: { version: '0.2', changed: false } }, 'the same version again changes nothing');
  t.same(sm.apply(3, set('0.1')), { ok: true, revision: 0, value: { version: '0.2', changed: false } }, 'a lower one changes nothing');
  t.equal(view.version, '0.2');
  t.same(sm.apply(4, set('0.10')), { ok: true, revision: 0, value: { version: '0.10', changed: true } }, '0.10 is above 0.2: numbers, not text');
  t.same(sm.apply(5, set('0.9')), { ok: true, revision: 0, value: { version: '0.10', changed: false } });
  t.same(sm.apply(6, set('1.0')), { ok: true, revision: 0, value: { version: '1.0', changed: true } }, 'a new major is above any minor');
  t.equal(view.version, '1.0');
  t.equal(sm.revision(), 0, 'the cluster version is not a resource: no revision');
  t.equal(sm.appliedIndex, 6);
});

void t.test('malformed commands are INVALID on every replica alike and change nothing', async (t) => {
  const sm = new StateMachine();
  const cases: InvalidCase[] = [
    ['a software version', raw({ kind: 'cluster', op: 'set-version', version: '0.2.0' }), /MAJOR\.MINOR/],
    ['one number', raw({ kind: 'cluster', op: 'set-version', version: '1' }), /MAJOR\.MINOR/],
    ['a leading zero', raw({ kind: 'cluster', op: 'set-version', version: '01.2' }), /MAJOR\.MINOR/],
    ['letters', raw({ kind: 'cluster', op: 'set-version', version: 'v0.2' }), /MAJOR\.MINOR/],
    ['a negative number', raw({ kind: 'cluster', op: 'set-version', version: '-1.2' }), /MAJOR\.MINOR/],
    ['empty', raw({ kind: 'cluster', op: 'set-version', version: '' }), /version/],
    ['a number', raw({ kind: 'cluster', op: 'set-version', version: 0.2 }), /version/],
    ['missing', raw({ kind: 'cluster', op: 'set-version' }), /version/],
    ['an extra field', raw({ kind: 'cluster', op: 'set-version', version: '0.2', force: true }), /unexpected field "force"/],
    ['an unknown op', raw({ kind: 'cluster', op: 'lower', version: '0.1' }), /op/],
  ];
  expectInvalid(t, sm, cases);
  t.equal(sm.view(clusterKind).version, BASE_CLUSTER_VERSION, 'nothing was applied');
  t.equal(sm.appliedIndex, cases.length, 'but every entry advanced the applied index');
});

void t.test('a snapshot carries the version; one from before the cluster kind restores at the base', async (t) => {
  const a = new StateMachine();
  a.apply(1, set('0.2'));
  const b = new StateMachine();
  b.restore(a.snapshot());
  t.equal(b.view(clusterKind).version, '0.2');
  t.ok(b.view(clusterKind).supports(FORGET_AGENTS_VERSION));
  t.same(b.snapshot(), a.snapshot(), 'equal states give equal snapshots');

  // A data dir of a 0.1.x build: its snapshot has no cluster kind at all.
  const old = new StateMachine();
  old.restore(withoutClusterKind(a.snapshot()));
  t.equal(old.view(clusterKind).version, BASE_CLUSTER_VERSION, 'a kind missing from the snapshot starts at the base version');
  t.notOk(old.view(clusterKind).supports(FORGET_AGENTS_VERSION));
  t.equal(old.appliedIndex, 1, 'the rest of the snapshot is restored');

  // Restoring replaces: a node at 0.2 given an older snapshot goes back with it, as every kind does.
  const replaced = new StateMachine();
  replaced.apply(1, set('0.3'));
  replaced.restore(a.snapshot());
  t.equal(replaced.view(clusterKind).version, '0.2');
});

void t.test('at the base version the snapshot leaves the cluster kind out, so a 0.1 build still loads it', async (t) => {
  const sm = new StateMachine();
  sm.apply(1, encodeCommand({ kind: 'kv', op: 'put', key: 'k', value: 'v' }));
  const body = JSON.parse(new TextDecoder().decode(sm.snapshot().subarray(1))) as { kinds: Record<string, unknown> };
  t.notOk(Object.hasOwn(body.kinds, 'cluster'), 'no cluster kind: the bytes a 0.1.x build writes and reads');
  // What a 0.1.x build registers: every kind but the cluster one.
  const older = new StateMachine({ kinds: DEFAULT_KINDS.filter((k) => k.name !== 'cluster') });
  older.restore(sm.snapshot());
  t.equal(Buffer.from(older.kv.get('k')?.value ?? []).toString(), 'v', 'the older build restores it');
  sm.apply(2, set('0.2'));
  t.throws(() => older.restore(sm.snapshot()), /kind "cluster" is not registered/, 'once raised, an older build refuses it rather than drop the version');
  const again = new StateMachine();
  again.restore(sm.snapshot());
  t.equal(again.view(clusterKind).version, '0.2');
});

void t.test('a snapshot with a bad cluster version is refused and the state kept', async (t) => {
  const a = new StateMachine();
  a.apply(1, set('0.2'));
  const text = new TextDecoder().decode(a.snapshot());
  t.ok(text.includes('"cluster":{"version":"0.2"}'), 'the snapshot holds the version as written');
  const b = new StateMachine();
  b.apply(1, set('0.3'));
  for (const [name, bad] of [
    ['malformed', text.replace('"cluster":{"version":"0.2"}', '"cluster":{"version":"0.2.0"}')],
    ['extra field', text.replace('"cluster":{"version":"0.2"}', '"cluster":{"version":"0.2","next":"0.3"}')],
    ['not an object', text.replace('"cluster":{"version":"0.2"}', '"cluster":"0.2"')],
  ] as const) {
    t.not(bad, text, `${name}: the snapshot was tampered with`);
    t.throws(() => b.restore(new TextEncoder().encode(bad)), { name: 'SnapshotError' }, name);
    t.equal(b.view(clusterKind).version, '0.3', `${name}: the state is unchanged`);
  }
});

void t.test('clusterVersionOf takes MAJOR.MINOR of a software version, and nothing else', async (t) => {
  const cases: [string, string | null][] = [
    ['0.2.0', '0.2'],
    ['0.1.7', '0.1'],
    ['1.4.2-rc1', '1.4'],
    ['2.0.0+build.5', '2.0'],
    ['10.20.30', '10.20'],
    ['0.2', null],
    ['0.2.', null],
    ['v0.2.0', null],
    ['01.2.0', null],
    ['0.02.0', null],
    ['0.2.x', null],
    ['', null],
    ['1234567.0.0', null],
  ];
  for (const [software, level] of cases) t.equal(clusterVersionOf(software), level, JSON.stringify(software));
});

void t.test('compareClusterVersions orders by number, major first, and refuses what is not MAJOR.MINOR', async (t) => {
  t.ok(compareClusterVersions('0.2', '0.1') > 0);
  t.ok(compareClusterVersions('0.1', '0.2') < 0);
  t.equal(compareClusterVersions('0.2', '0.2'), 0);
  t.ok(compareClusterVersions('0.10', '0.9') > 0, 'not text order');
  t.ok(compareClusterVersions('1.0', '0.99') > 0, 'the major decides first');
  t.ok(compareClusterVersions('2.1', '10.0') < 0);
  t.equal(compareClusterVersions('0.0', '0.0'), 0);
  for (const bad of ['0.2.0', '1', '', 'a.b', '01.1']) {
    t.throws(() => compareClusterVersions(bad, '0.1'), RangeError, `${JSON.stringify(bad)} on the left`);
    t.throws(() => compareClusterVersions('0.1', bad), RangeError, `${JSON.stringify(bad)} on the right`);
  }
});

void t.test('isClusterVersion accepts MAJOR.MINOR only', async (t) => {
  for (const good of ['0.1', '0.2', '10.0', '1.23']) t.ok(isClusterVersion(good), good);
  for (const bad of ['', '0', '0.2.0', '01.2', 'v0.2', '0.2 ', '-1.0']) t.notOk(isClusterVersion(bad), JSON.stringify(bad));
});
