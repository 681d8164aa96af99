/**
 * The mesh kind's rules for what agents publish and depend on (issue 14, "What to build" 2 and
 * 3), in the state machine alone: each a test.
 */
import t from 'tap';
import { MAX_OBSERVED, StateMachine, meshKind, validateCommand, type MeshTransition } from '../../src/statemachine/index.js';
import { apply, claim, cluster, del, host, offline, outcome, publishOf, report, route, run, service, svcOf } from './mesh-helpers.js';

const T0 = 1_700_000_000_000;
const MIN = 60_000;

function transitions(sm: StateMachine): string[] {
  return sm
    .view(meshKind)
    .transitionsSince(0)
    .items.map((x: MeshTransition) => {
      switch (x.type) {
        case 'vip.assigned':
          return `vip ${x.service} ${x.vip}`;
        case 'vip.released':
          return `released ${x.service} ${x.vip}`;
        case 'publish.refused':
          return `refused ${x.service} for ${x.agent}`;
        case 'dependency.added':
          return `added ${x.agent} ${x.name}${x.pending ? ' (pending)' : ''}`;
        case 'dependency.expiring':
        case 'dependency.expired':
          return `${x.type.slice('dependency.'.length)} ${x.agent} ${x.name} after ${x.unusedMs}`;
        case 'dependency.removed':
          return `removed ${x.agent} ${x.name}: ${x.reason}`;
        case 'declaration.forgotten':
          return `forgotten ${x.agent} [${x.endpoints.join(',')}]`;
      }
    });
}

/** A cluster with agent `a1` (stream s1) connected. */
function withAgents(...agents: string[]): StateMachine {
  const sm = cluster({ 'agents.dependency_ttl': 10 * MIN });
  for (const a of agents) run(sm, claim(a, `${a}-s1`));
  return sm;
}

void t.test('a publish creates the services an agent hosts, with a VIP and the agent as a healthy endpoint', async (t) => {
  const sm = withAgents('a1');
  const r = run(sm, report(T0, { publish: [publishOf('a1', 'a1-s1', [host('web', 'http', [8080], { tier: 'front' }), host('db', 'tcp', [5432])])] }));
  t.match(r, { ok: true, revision: 1 });
  t.match(outcome(r), { published: 1, stale: 0, refused: 0 });
  t.same(svcOf(sm, 'web'), { kind: 'service', name: 'web', spec: { protocol: 'http', ports: [8080] }, labels: { tier: 'front' }, status: { vip: '241.0.0.2', endpoints: [{ agent: 'a1', healthy: true }] }, revision: 1 });
  t.equal(svcOf(sm, 'db')?.status.vip, '241.0.0.1', 'hosts in name order');
  t.same(transitions(sm), ['vip db 241.0.0.1', 'vip web 241.0.0.2']);
  t.match(sm.view(meshKind).declaration('a1'), { hosts: ['db', 'web'], publishWrites: 1, publishRevisions: 1 });
});

void t.test('an identical re-publish writes nothing: no new revision, the services untouched', async (t) => {
  const sm = withAgents('a1');
  const p = publishOf('a1', 'a1-s1', [host('web')], { dependencies: ['db'] });
  run(sm, report(T0, { publish: [p] }));
  const rev = sm.revision();
  const web = svcOf(sm, 'web');
  // The agent reconnects (a new stream claims it) and publishes the same set.
  run(sm, claim('a1', 'a1-s2', 2));
  const r = run(sm, report(T0 + 1000, { publish: [{ ...p, session: 'a1-s2' }] }));
  t.match(r, { ok: true, revision: rev }, 'no new revision');
  t.equal(sm.revision(), rev);
  t.equal(svcOf(sm, 'web'), web, 'the very same stored object');
  t.match(sm.view(meshKind).declaration('a1'), { publishWrites: 2, publishRevisions: 1 }, 'one publish reached the log without advancing the revision');
});

void t.test('status the cluster owns survives a publish: a new spec from the only publisher keeps the VIP and endpoints', async (t) => {
  const sm = withAgents('a1');
  run(sm, report(T0, { publish: [publishOf('a1', 'a1-s1', [host('web')])] }));
  run(sm, report(T0, { publish: [publishOf('a1', 'a1-s1', [host('web', 'http', [9090], { v: '2' })])] }));
  t.match(svcOf(sm, 'web'), { spec: { ports: [9090] }, labels: { v: '2' }, status: { vip: '241.0.0.1', endpoints: [{ agent: 'a1', healthy: true }] }, revision: 2 });
  // An operator's apply of the same service keeps it too.
  run(sm, apply(T0, service('web', 'http', [7070])));
  t.match(svcOf(sm, 'web'), { spec: { ports: [7070] }, status: { vip: '241.0.0.1', endpoints: [{ agent: 'a1', healthy: true }] } });
});

void t.test('a service hosted by several agents lists them all; another spec from a second agent is refused, the first stands', async (t) => {
  const sm = withAgents('a1', 'a2', 'a3');
  run(sm, report(T0, { publish: [publishOf('a1', 'a1-s1', [host('web')])] }));
  const r2 = run(sm, report(T0, { publish: [publishOf('a2', 'a2-s1', [host('web')])] }));
  t.equal(outcome(r2).refused, 0);
  t.same(svcOf(sm, 'web')?.status.endpoints, [{ agent: 'a1', healthy: true }, { agent: 'a2', healthy: true }]);
  const web = svcOf(sm, 'web');
  const r3 = run(sm, report(T0, { publish: [publishOf('a3', 'a3-s1', [host('web', 'tcp')])] }));
  t.equal(outcome(r3).refused, 1);
  t.equal(svcOf(sm, 'web'), web, 'the service is untouched (a3\'s declaration is recorded: it says it hosts web)');
  const rev = sm.revision();
  t.equal(outcome(run(sm, report(T0, { publish: [publishOf('a3', 'a3-s1', [host('web', 'tcp')])] }))).refused, 1);
  t.equal(sm.revision(), rev, 'the same refused publish again changes nothing: no revision');
  t.match(svcOf(sm, 'web'), { spec: { protocol: 'http' }, status: { endpoints: [{ agent: 'a1' }, { agent: 'a2' }] } });
  t.same(transitions(sm).slice(-2), ['refused web for a3', 'refused web for a3']);
  t.match(sm.view(meshKind).transitionsSince(0).items.at(-1), { reason: /published by "a1", "a2" with another spec or labels; the first publisher's stands/ });
});

void t.test('an agent that stops hosting a service leaves its endpoints; the service and its VIP stay', async (t) => {
  const sm = withAgents('a1');
  run(sm, report(T0, { publish: [publishOf('a1', 'a1-s1', [host('web'), host('api')])] }));
  run(sm, report(T0, { publish: [publishOf('a1', 'a1-s1', [host('api')])] }));
  t.same(svcOf(sm, 'web')?.status, { vip: '241.0.0.2' });
  t.same([...sm.view(meshKind).endpointsOf('a1').keys()], ['api']);
});

void t.test('a publish from a stream that no longer holds the agent is stale: nothing applied', async (t) => {
  const sm = withAgents('a1');
  run(sm, claim('a1', 'a1-s2', 2));
  const r = run(sm, report(T0, { publish: [publishOf('a1', 'a1-s1', [host('web')])] }));
  t.match(outcome(r), { published: 0, stale: 1 });
  t.equal(svcOf(sm, 'web'), null);
  t.equal(sm.view(meshKind).declaration('a1'), null);
});

void t.test('endpoints follow the health layer: unhealthy while the agent is offline, healthy when it is back', async (t) => {
  const sm = withAgents('a1', 'a2');
  run(sm, report(T0, { publish: [publishOf('a1', 'a1-s1', [host('web')]), publishOf('a2', 'a2-s1', [host('web')])] }));
  run(sm, offline('a1', 'a1-s1'));
  const before = sm.revision();
  const r = run(sm, report(T0, { health: ['a1', 'a2'] }));
  t.match(outcome(r), { healthChanged: 1 });
  t.equal(sm.revision(), before + 1);
  t.same(svcOf(sm, 'web')?.status.endpoints, [{ agent: 'a1', healthy: false }, { agent: 'a2', healthy: true }], 'marked, not removed');
  t.match(run(sm, report(T0, { health: ['a1'] })), { revision: before + 1 }, 'a check that finds nothing to change claims no revision');
  run(sm, claim('a1', 'a1-s3', 3));
  run(sm, report(T0, { health: ['a1'] }));
  t.same(svcOf(sm, 'web')?.status.endpoints, [{ agent: 'a1', healthy: true }, { agent: 'a2', healthy: true }]);
  t.equal(svcOf(sm, 'web')?.status.vip, '241.0.0.1', 'the VIP through it all');
});

void t.test('observed dependencies: added through Raft at once (a new revision), pending when the service does not exist yet', async (t) => {
  const sm = withAgents('a1');
  run(sm, apply(T0, service('db'), service('cache')));
  run(sm, report(T0, { publish: [publishOf('a1', 'a1-s1', [], { lazy: true, dependencies: ['cache'] })] }));
  const rev = sm.revision();
  const r = run(sm, report(T0 + 1000, { usage: [{ agent: 'a1', missed: ['db', 'ghost', 'cache'], used: [] }] }));
  t.match(outcome(r), { observed: 2 });
  t.equal(sm.revision(), rev + 1);
  t.match(sm.view(meshKind).declaration('a1'), { dependencies: ['cache'], observedNames: ['db', 'ghost'], revision: rev + 1 });
  t.same(transitions(sm).slice(-2), ['added a1 db', 'added a1 ghost (pending)'], 'a static dependency is never observed');
  t.same(sm.view(meshKind).selectionOf('a1').map((x) => x.name), ['cache', 'db']);
  // The pending one arrives: its creation reaches the agent's version.
  run(sm, apply(T0 + 2000, service('ghost')));
  t.equal(sm.view(meshKind).declaration('a1')?.revision, sm.revision());
  t.same(sm.view(meshKind).selectionOf('a1').map((x) => x.name), ['cache', 'db', 'ghost']);
});

void t.test('expiry: unused for one TTL window expiring, for two expired (audited); use resets it; static ones never', async (t) => {
  const sm = withAgents('a1');
  run(sm, apply(T0, service('db'), service('kv'), service('static')));
  run(sm, report(T0, { publish: [publishOf('a1', 'a1-s1', [], { lazy: true, dependencies: ['static'] })] }));
  run(sm, report(T0, { usage: [{ agent: 'a1', missed: ['db', 'kv'], used: [] }] }));
  run(sm, report(T0 + 10 * MIN - 1, { expire: true }));
  t.same(transitions(sm).filter((x) => x.startsWith('expir')), [], 'one millisecond short of a window');
  const rev = sm.revision();
  const agentRev = sm.view(meshKind).declaration('a1')!.revision;
  run(sm, report(T0 + 10 * MIN, { usage: [{ agent: 'a1', missed: [], used: ['kv'] }], expire: true }));
  t.same(transitions(sm).filter((x) => x.startsWith('expir')), [`expiring a1 db after ${10 * MIN}`]);
  t.match(sm.view(meshKind).declaration('a1')?.observed.get('db'), { expiring: true });
  t.equal(sm.revision(), rev, 'expiring changes no configuration: no new revision');
  t.equal(sm.view(meshKind).declaration('a1')?.revision, agentRev);
  run(sm, report(T0 + 20 * MIN, { expire: true }));
  t.same(transitions(sm).filter((x) => x.startsWith('expir')), [`expiring a1 db after ${10 * MIN}`, `expired a1 db after ${20 * MIN}`, `expiring a1 kv after ${10 * MIN}`]);
  t.equal(sm.revision(), rev + 1, 'an expiry changes the agent\'s set: a new revision');
  t.match(sm.view(meshKind).declaration('a1'), { observedNames: ['kv'], revision: rev + 1 });
  run(sm, report(T0 + 25 * MIN, { usage: [{ agent: 'a1', missed: ['kv'], used: [] }] }));
  t.match(sm.view(meshKind).declaration('a1')?.observed.get('kv'), { expiring: false, lastUsed: T0 + 25 * MIN }, 'a miss of an observed name is use');
  run(sm, report(T0 + 500 * MIN, { expire: true }));
  t.match(sm.view(meshKind).declaration('a1'), { observedNames: [], dependencies: ['static'] }, 'static dependencies never expire');
  t.equal(sm.view(meshKind).nextExpiryAt(10 * MIN), null, 'nothing left to expire');
});

void t.test('the expiry windows follow agents.dependency_ttl as it is when they are judged', async (t) => {
  const sm = cluster({ 'agents.dependency_ttl': 1000 });
  run(sm, claim('a1', 's'));
  run(sm, report(T0, { usage: [{ agent: 'a1', missed: ['x'], used: [] }] }));
  t.equal(sm.view(meshKind).nextExpiryAt(1000), T0 + 1000);
  run(sm, report(T0 + 1000, { expire: true }));
  t.equal(sm.view(meshKind).nextExpiryAt(1000), T0 + 2000, 'expiring: due again at two windows');
});

void t.test('a deleted service leaves every observed set (audited), while static and hosted names stay declared', async (t) => {
  const sm = withAgents('a1', 'a2');
  run(sm, apply(T0, service('db')));
  run(sm, report(T0, { publish: [publishOf('a2', 'a2-s1', [], { lazy: true, dependencies: ['db'] })] }));
  run(sm, report(T0, { usage: [{ agent: 'a1', missed: ['db'], used: [] }] }));
  run(sm, del(T0, 'service', 'db'));
  t.match(sm.view(meshKind).declaration('a1'), { observedNames: [], revision: sm.revision() });
  t.match(sm.view(meshKind).declaration('a2'), { dependencies: ['db'], revision: sm.revision() }, 'the deletion reaches the static dependent too');
  t.same(transitions(sm).slice(-2), ['removed a1 db: service deleted', 'released db 241.0.0.1']);
});

void t.test('an agent\'s version moves only with changes to its own set: services, routes between them, its declaration', async (t) => {
  const sm = withAgents('lazy');
  run(sm, apply(T0, service('a'), service('b'), service('c')));
  run(sm, report(T0, { publish: [publishOf('lazy', 'lazy-s1', [], { lazy: true, dependencies: ['a', 'b'] })] }));
  const v = (): number => sm.view(meshKind).declaration('lazy')!.revision;
  const v0 = v();
  run(sm, apply(T0, service('c', 'tcp')));
  t.equal(v(), v0, 'a change outside the set');
  run(sm, apply(T0, route('a-c', 'a', 'c')));
  t.equal(v(), v0, 'a route with one end outside the set');
  run(sm, apply(T0, route('a-b', 'a', 'b')));
  t.equal(v(), sm.revision(), 'a route between two of its names');
  t.same(sm.view(meshKind).selectionOf('lazy').map((x) => `${x.kind}/${x.name}`), ['route/a-b', 'service/a', 'service/b']);
  const v1 = v();
  run(sm, apply(T0, { kind: 'route', name: 'a-b', spec: { from: 'a', to: 'c' }, labels: {} }));
  t.equal(v(), sm.revision(), 'a route that leaves the set (its ends changed)');
  t.ok(v() > v1);
  run(sm, apply(T0, service('b', 'tcp')));
  t.equal(v(), sm.revision(), 'a service of the set');
});

void t.test('10,000 names missed by one agent: its record holds at most MAX_OBSERVED, the rest dropped and counted', async (t) => {
  const sm = withAgents('a1');
  let dropped = 0;
  for (let chunk = 0; chunk < 40; chunk++) {
    const names = Array.from({ length: 250 }, (_, i) => `n${chunk * 250 + i}`);
    dropped += outcome(run(sm, report(T0, { usage: [{ agent: 'a1', missed: names, used: [] }] }))).dropped;
  }
  t.equal(sm.view(meshKind).declaration('a1')?.observed.size, MAX_OBSERVED);
  t.equal(dropped, 10_000 - MAX_OBSERVED);
  t.throws(() => validateCommand(report(T0, { usage: [{ agent: 'a1', missed: Array.from({ length: 300 }, (_, i) => `m${i}`), used: [] }] })), /expected at most 256 names/, 'one entry is bounded too');
});

void t.test('bad input in a report is refused with the field: an invalid spec, a bad name, a forged at', async (t) => {
  const bad = (publish: unknown): unknown => ({ kind: 'mesh', op: 'report', controller: 'c1', publish: [publish], usage: [], health: [], expire: false });
  const base = { agent: 'a1', session: 's', lazy: false, dependencies: [] };
  t.throws(() => validateCommand(bad({ ...base, hosts: [{ name: 'web', spec: { protocol: 'http', ports: [0] } }] })), /publish\[0\]\.hosts\[0\] \(service "web"\): spec: ports\[0\] must be a port number/);
  t.throws(() => validateCommand(bad({ ...base, hosts: [{ name: 'Web', spec: { protocol: 'http' } }] })), /field "name" must be lower-case/);
  t.throws(() => validateCommand(bad({ ...base, hosts: [{ name: 'w', spec: { protocol: 'http' } }, { name: 'w', spec: { protocol: 'tcp' } }] })), /service "w" is listed twice/);
  t.throws(() => validateCommand({ kind: 'mesh', op: 'report', controller: 'c1', at: -1 }), /field "at" must be in/);
});

void t.test('declarations, observed ages, the allocator and log time survive a snapshot, byte for byte', async (t) => {
  const sm = withAgents('a1');
  run(sm, apply(T0, service('db')));
  run(sm, report(T0, { publish: [publishOf('a1', 'a1-s1', [host('web')], { lazy: true, dependencies: ['kv'] })] }));
  run(sm, report(T0 + 5, { usage: [{ agent: 'a1', missed: ['db'], used: [] }] }));
  run(sm, del(T0 + 6, 'service', 'db'));
  run(sm, report(T0 + 7, { usage: [{ agent: 'a1', missed: ['other'], used: [] }] }));
  const copy = new StateMachine();
  copy.restore(sm.snapshot());
  t.same(Buffer.from(copy.snapshot()), Buffer.from(sm.snapshot()));
  t.match(copy.view(meshKind).declaration('a1'), { lazy: true, hosts: ['web'], dependencies: ['kv'], observedNames: ['other'] });
  t.equal(copy.view(meshKind).clock, T0 + 7);
  run(copy, apply(T0 + 8, service('n')));
  run(sm, apply(T0 + 8, service('n')));
  t.equal(svcOf(copy, 'n')?.status.vip, svcOf(sm, 'n')?.status.vip, 'the cursor too');
});

void t.test("an operator's spec stands against a publish; an agent with the same spec joins it", async (t) => {
  const sm = withAgents('a1', 'a2');
  run(sm, report(T0, { publish: [publishOf('a1', 'a1-s1', [host('web', 'http', [8080])])] }));
  run(sm, apply(T0, service('web', 'http', [80])));
  const web = svcOf(sm, 'web');
  t.match(web, { spec: { ports: [80] }, status: { endpoints: [{ agent: 'a1' }] } }, 'the operator changed it; a1 stays an endpoint');
  run(sm, claim('a1', 'a1-s2', 2));
  const again = run(sm, report(T0, { publish: [publishOf('a1', 'a1-s2', [host('web', 'http', [8080])])] }));
  t.equal(outcome(again).refused, 1, 'a reconnect with the old spec does not undo the operator');
  t.equal(svcOf(sm, 'web'), web);
  t.match(sm.view(meshKind).transitionsSince(0).items.at(-1), { type: 'publish.refused', reason: /applied by an operator with another spec or labels/ });
  run(sm, apply(T0, service('api', 'http', [80])));
  run(sm, report(T0, { publish: [publishOf('a2', 'a2-s1', [host('api', 'http', [80])])] }));
  t.same(svcOf(sm, 'api')?.status.endpoints, [{ agent: 'a2', healthy: true }], 'an operator\'s service with the same spec: joined');
});
