/** The settings kind: written once by the first init, changed by set, never a new cluster revision, strict on every replica. */
import t from 'tap';
import { expectInvalid, type InvalidCase } from './invalid-commands.js';
import { StateMachine, encodeCommand } from '../../src/statemachine/index.js';
import { initCommand, settingsKind, setCommand } from '../../src/statemachine/settings.js';
import { defaultSettings } from '../../src/settings/index.js';

const FILE_A = { ...defaultSettings({ electionTimeoutMs: 1_000 }), 'services.vip_cidr': '10.0.0.0/16' };
const FILE_B = { ...defaultSettings({ electionTimeoutMs: 1_000 }), 'services.vip_cidr': '172.16.0.0/12' };

function init(values: typeof FILE_A): Uint8Array {
  return encodeCommand(initCommand(values));
}

void t.test('the first init is kept, later ones change nothing, and neither advances the revision', async (t) => {
  const sm = new StateMachine();
  const view = sm.view(settingsKind);
  t.notOk(view.initialized, 'a new cluster has no settings written yet');
  t.equal(view.get('services.vip_cidr'), '241.0.0.0/8', 'until then the built-in defaults answer');
  const first = sm.apply(1, init(FILE_A));
  t.same(first, { ok: true, revision: 0, value: { initialized: true } });
  const second = sm.apply(2, init(FILE_B));
  t.same(second, { ok: true, revision: 0, value: { initialized: false } }, 'a second bootstrapping member loses quietly');
  t.ok(view.initialized);
  t.equal(view.get('services.vip_cidr'), '10.0.0.0/16');
  t.equal(sm.revision(), 0, 'settings are not resources: no revision');
});

void t.test('set changes one key after init, is refused before it, and repeating it changes nothing', async (t) => {
  const sm = new StateMachine();
  const set = encodeCommand(setCommand('autopilot.min_quorum', 3));
  const early = sm.apply(1, set);
  t.equal(early.ok, false);
  if (!early.ok) {
    t.equal(early.code, 'CONFLICT');
    t.match(early.message, /not initialized/);
  }
  sm.apply(2, init(FILE_A));
  t.same(sm.apply(3, set), { ok: true, revision: 0, value: { key: 'autopilot.min_quorum', changed: true } });
  t.same(sm.apply(4, set), { ok: true, revision: 0, value: { key: 'autopilot.min_quorum', changed: false } });
  t.equal(sm.view(settingsKind).get('autopilot.min_quorum'), 3);
  t.equal(sm.view(settingsKind).get('services.vip_cidr'), '10.0.0.0/16', 'other keys keep their values');
});

void t.test('bad commands are INVALID on every replica alike: unknown key, missing key, value not in canonical form', async (t) => {
  const sm = new StateMachine();
  const raw = (o: unknown): Uint8Array => encodeCommand(o as Parameters<typeof encodeCommand>[0]);
  const { ['services.vip_cidr']: _dropped, ...missing } = FILE_A;
  const cases: InvalidCase[] = [
    ['unknown key', raw({ kind: 'settings', op: 'set', key: 'services.nope', value: 1 }), /unknown setting "services.nope"/],
    ['missing key', raw({ kind: 'settings', op: 'init', values: missing }), /"services.vip_cidr" is missing/],
    ['host bits', raw({ kind: 'settings', op: 'set', key: 'services.vip_cidr', value: '10.0.0.1/16' }), /canonical form/],
    ['a string duration', raw({ kind: 'settings', op: 'set', key: 'agents.dependency_ttl', value: '10m' }), /canonical form/],
    ['extra field', raw({ kind: 'settings', op: 'set', key: 'autopilot.min_quorum', value: 1, extra: true }), /unexpected field "extra"/],
  ];
  expectInvalid(t, sm, cases);
  t.notOk(sm.view(settingsKind).initialized, 'nothing was written');
});

void t.test('a snapshot carries the settings, byte for byte, and a bad one is refused', async (t) => {
  const a = new StateMachine();
  a.apply(1, init(FILE_A));
  a.apply(2, encodeCommand(setCommand('cluster.preferred_leader', 'c2')));
  const b = new StateMachine();
  b.restore(a.snapshot());
  t.ok(b.view(settingsKind).initialized);
  t.equal(b.view(settingsKind).get('cluster.preferred_leader'), 'c2');
  t.same(b.snapshot(), a.snapshot(), 'equal states give equal snapshots');

  const tampered = new TextDecoder().decode(a.snapshot()).replace('"10.0.0.0/16"', '"10.0.0.0/33"');
  t.throws(() => new StateMachine().restore(new TextEncoder().encode(tampered)), { name: 'SnapshotError' });
});

void t.test('services.agent_publish (cluster version 0.12): set only from 0.12; an init or a snapshot at its default leaves it out, as 0.11 members need', async (t) => {
  const sm = new StateMachine();
  sm.apply(1, init(FILE_A));
  t.notMatch(new TextDecoder().decode(sm.snapshot()), /agent_publish/, 'at its default a snapshot does not name it (a 0.11 member refuses the key)');
  const declared = encodeCommand(setCommand('services.agent_publish', 'declared'));
  t.match(sm.apply(2, declared), { ok: false, code: 'INVALID', message: /^setting "services.agent_publish" needs cluster version 0.12, and the cluster is at 0.1: / });
  t.equal(sm.view(settingsKind).get('services.agent_publish'), 'open', 'unchanged below the level');

  // An init naming it is refused whole below 0.12, as a 0.11 member refuses it: no replica takes it.
  const raw = (o: unknown): Uint8Array => encodeCommand(o as Parameters<typeof encodeCommand>[0]);
  const early = new StateMachine();
  t.match(early.apply(1, raw({ kind: 'settings', op: 'init', values: { ...initCommand(FILE_A).values, 'services.agent_publish': 'open' } })), { ok: false, code: 'INVALID', message: /needs cluster version 0.12/ });
  t.notOk(early.view(settingsKind).initialized);

  sm.apply(3, encodeCommand({ kind: 'cluster', op: 'set-version', version: '0.12' }));
  t.same(sm.apply(4, declared), { ok: true, revision: 0, value: { key: 'services.agent_publish', changed: true } });
  const restored = new StateMachine();
  restored.restore(sm.snapshot());
  t.equal(restored.view(settingsKind).get('services.agent_publish'), 'declared', 'a snapshot keeps it');
  t.same(restored.snapshot(), sm.snapshot());
  expectInvalid(t, sm, [['a value it does not know', raw({ kind: 'settings', op: 'set', key: 'services.agent_publish', value: 'closed' }), /value of "services.agent_publish" must be one of "open", "declared" in canonical form, found "closed"/]]);
  t.equal(sm.view(settingsKind).get('services.agent_publish'), 'declared');
});
