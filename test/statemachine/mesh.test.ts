import t from 'tap';
import {
  StateMachine,
  encodeCommand,
  meshKind,
  type ApplyResult,
  type MeshApplyOutcome,
  type MeshCommand,
  type ResourceInput,
} from '../../src/statemachine/index.js';

function run(sm: StateMachine, command: MeshCommand | { kind: 'kv'; op: 'put'; key: string; value: string }): ApplyResult {
  return sm.apply(sm.appliedIndex + 1, encodeCommand(command));
}
const service = (name: string, protocol = 'http', ports: number[] = [80], labels: Record<string, string> = {}): ResourceInput => ({
  kind: 'service',
  name,
  spec: { protocol, ports },
  labels,
});
const route = (name: string, from: string, to: string): ResourceInput => ({ kind: 'route', name, spec: { from, to }, labels: {} });
const apply = (...resources: ResourceInput[]): MeshCommand => ({ kind: 'mesh', op: 'apply', resources });
const del = (type: 'service' | 'route', name: string): MeshCommand => ({ kind: 'mesh', op: 'delete', type, name });
const actions = (r: ApplyResult): string[] =>
  r.ok ? (r.value as MeshApplyOutcome).results.map((x) => `${x.kind}/${x.name} ${x.action}`) : [`failed: ${r.message}`];

void t.test('a whole file is one revision; resources list routes then services, each by name', async (t) => {
  const sm = new StateMachine();
  const r = run(sm, apply(service('web'), service('db', 'tcp', [5432]), route('web-db', 'web', 'db')));
  t.match(r, { ok: true, revision: 1 });
  t.same(actions(r), ['service/web created', 'service/db created', 'route/web-db created']);
  const mesh = sm.view(meshKind);
  t.same(
    mesh.list().map((x) => `${x.kind}/${x.name}@${x.revision}`),
    ['route/web-db@1', 'service/db@1', 'service/web@1'],
  );
  t.equal(mesh.lastChange, 1);
  t.same(mesh.get('service', 'db'), { kind: 'service', name: 'db', spec: { protocol: 'tcp', ports: [5432] }, labels: {}, status: { vip: '241.0.0.2' }, revision: 1 }, 'VIPs in the file\'s order: web 241.0.0.1, db 241.0.0.2');
});

void t.test('a file that changes nothing writes nothing and answers the current revision', async (t) => {
  const sm = new StateMachine();
  run(sm, apply(service('web'), service('db')));
  run(sm, { kind: 'kv', op: 'put', key: 'k', value: 'v' });
  t.equal(sm.revision(), 2);
  const again = run(sm, apply(service('db'), service('web')));
  t.match(again, { ok: true, revision: 2 });
  t.same(actions(again), ['service/db unchanged', 'service/web unchanged']);
  t.equal(sm.revision(), 2, 'no revision claimed');
  t.equal(sm.view(meshKind).lastChange, 1);
});

void t.test('only changed resources take the new revision; labels count as a change, label order does not', async (t) => {
  const sm = new StateMachine();
  run(sm, apply(service('web', 'http', [80], { b: '2', a: '1' }), service('db')));
  const r = run(sm, apply(service('web', 'http', [80], { a: '1', b: '2' }), service('db', 'http', [80], { tier: 'data' })));
  t.match(r, { ok: true, revision: 2 });
  t.same(actions(r), ['service/web unchanged', 'service/db configured']);
  const mesh = sm.view(meshKind);
  t.equal(mesh.get('service', 'web')?.revision, 1);
  t.equal(mesh.get('service', 'db')?.revision, 2);
  t.equal(mesh.lastChange, 2);
});

void t.test('routes that name a service that would not exist refuse the whole file, naming them', async (t) => {
  const sm = new StateMachine();
  run(sm, apply(service('web')));
  const r = run(sm, apply(service('api'), route('a', 'web', 'api'), route('b', 'web', 'ghost'), route('c', 'nope', 'gone')));
  t.match(r, { ok: false, code: 'CONFLICT' });
  t.match(r, { message: /nothing applied.*route "b" names "ghost".*route "c" names "nope" and "gone"/ });
  t.equal(sm.view(meshKind).get('service', 'api'), null, 'nothing of the file was applied');
  t.equal(sm.revision(), 1);
});

void t.test('a service a route still names cannot be deleted; the route first, then the service', async (t) => {
  const sm = new StateMachine();
  run(sm, apply(service('web'), service('db'), route('web-db', 'web', 'db'), route('db-self', 'db', 'db')));
  t.match(run(sm, del('service', 'db')), { ok: false, code: 'CONFLICT', message: /"db" is still named by route\(s\) "db-self", "web-db"/ });
  t.match(run(sm, del('route', 'web-db')), { ok: true, revision: 2 });
  t.match(run(sm, del('route', 'db-self')), { ok: true, revision: 3 });
  t.match(run(sm, del('service', 'db')), { ok: true, revision: 4 });
  t.equal(sm.view(meshKind).lastChange, 4, 'a delete is a change of the configuration');
  t.match(run(sm, del('service', 'db')), { ok: false, code: 'NOT_FOUND', message: /service "db" does not exist/ });
});

void t.test('a route moved to other services re-indexes its references', async (t) => {
  const sm = new StateMachine();
  run(sm, apply(service('a'), service('b'), service('c'), route('r', 'a', 'b')));
  run(sm, apply(route('r', 'a', 'c')));
  const mesh = sm.view(meshKind);
  t.same(mesh.routesNaming('b'), []);
  t.same(mesh.routesNaming('c'), ['r']);
  t.match(run(sm, del('service', 'b')), { ok: true });
});

void t.test('bad commands are refused with the field that is wrong', async (t) => {
  const sm = new StateMachine();
  const bad = (resources: unknown[]): ApplyResult => sm.apply(sm.appliedIndex + 1, new TextEncoder().encode('\u0001' + JSON.stringify({ kind: 'mesh', op: 'apply', resources })));
  t.match(bad([{ kind: 'service', name: 'Web', spec: { protocol: 'http' } }]), { ok: false, code: 'INVALID', message: /field "name" must be lower-case/ });
  t.match(bad([{ kind: 'service', name: 'web', spec: { protocol: 'http', ports: [0] } }]), { message: /ports\[0\] must be a port number/ });
  t.match(bad([{ kind: 'service', name: 'web', spec: { protocol: 'http', ports: [80, 80] } }]), { message: /port 80 is listed twice/ });
  t.match(bad([{ kind: 'service', name: 'web', spec: { protocol: 'http', colour: 'red' } }]), { message: /unexpected field "colour"/ });
  t.match(bad([{ kind: 'gateway', name: 'web', spec: {} }]), { message: /field "kind" must be one of route\|service/ });
  t.match(bad([{ kind: 'route', name: 'r', spec: { from: 'a' } }]), { message: /field "to" must be a string/ });
  t.match(bad([{ kind: 'service', name: 'web' }]), { message: /field "spec" is required/ });
  t.match(bad([{ kind: 'service', name: 'web', spec: { protocol: 'http' }, labels: { k: 7 } }]), { message: /label "k" must be a string/ });
  t.match(bad([service('web'), service('web')]), { message: /service "web" appears twice/ });
  t.match(bad(Array.from({ length: 5001 }, (_, i) => service(`s${i}`))), { message: /at most 5000 items/ });
  t.equal(sm.revision(), 0);
});

void t.test('status belongs to the cluster: an apply keeps it', async (t) => {
  const sm = new StateMachine();
  run(sm, apply(service('web')));
  // Simulate a status the cluster set (issue 14's VIP) through a snapshot round trip.
  const snap = JSON.parse(new TextDecoder().decode(sm.snapshot().subarray(1))) as { kinds: { mesh: { resources: { status: object }[] } } };
  snap.kinds.mesh.resources[0]!.status = { vip: '241.0.0.7' };
  const restored = new StateMachine();
  restored.restore(new TextEncoder().encode('\u0001' + JSON.stringify(snap)));
  run(restored, apply(service('web', 'http', [8080])));
  t.same(restored.view(meshKind).get('service', 'web')?.status, { vip: '241.0.0.7' });
});

void t.test('snapshots are byte-identical across replicas and restore the reference index', async (t) => {
  const a = new StateMachine();
  const b = new StateMachine();
  for (const sm of [a, b]) {
    run(sm, apply(service('web'), service('db', 'tcp', [5432], { z: '1', a: '2' }), route('web-db', 'web', 'db')));
    run(sm, del('route', 'web-db'));
    run(sm, apply(route('again', 'db', 'web')));
  }
  t.same(Buffer.from(a.snapshot()), Buffer.from(b.snapshot()));
  const c = new StateMachine();
  c.restore(a.snapshot());
  t.same(Buffer.from(c.snapshot()), Buffer.from(a.snapshot()));
  t.same(c.view(meshKind).routesNaming('web'), ['again']);
  t.match(run(c, del('service', 'web')), { ok: false, code: 'CONFLICT' });
  t.equal(c.view(meshKind).lastChange, 3);
});

void t.test('a snapshot whose routes dangle is refused', async (t) => {
  const sm = new StateMachine();
  run(sm, apply(service('web'), route('r', 'web', 'web')));
  const snap = JSON.parse(new TextDecoder().decode(sm.snapshot().subarray(1))) as { kinds: { mesh: { resources: unknown[] } } };
  snap.kinds.mesh.resources = snap.kinds.mesh.resources.slice(0, 1);
  t.throws(() => new StateMachine().restore(new TextEncoder().encode('\u0001' + JSON.stringify(snap))), /route "r" names service "web", which is not in the snapshot/);
});
