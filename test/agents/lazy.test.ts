/**
 * Services, publishes and lazy configuration through the deterministic hub (issue 14): simulated
 * time, a shared log, controllers that apply it, agents running the real configuration logic.
 * One test per rule.
 */
import t from 'tap';
import { MAX_OBSERVED, decodeCommand, meshKind, resourceKey, type ServiceResource } from '../../src/statemachine/index.js';
import { defaultSettings } from '../../src/settings/index.js';
import { setCommand, settingsToJson } from '../../src/statemachine/settings.js';
import { TAKEOVER_MIN_INTERVAL_MS } from '../../src/agents/hub.js';
import { SimAgent, SimController, SimLog, advance, applyCmd, host, rt, settle, svc } from './hub-harness.js';

function stage(n = 2, ttlMs = 600_000): { log: SimLog; clock: { now: number }; cs: SimController[] } {
  const log = new SimLog();
  const clock = { now: 1000 };
  log.propose({ kind: 'settings', op: 'init', values: settingsToJson({ ...defaultSettings({ electionTimeoutMs: 1000 }), 'agents.dependency_ttl': ttlMs }) } as never);
  const cs = Array.from({ length: n }, (_, i) => new SimController(`c${i + 1}`, log, clock));
  cs[0]!.leading = true;
  for (const c of cs) c.tick();
  settle(cs);
  return { log, clock, cs };
}

/** Log entries of the mesh kind after index `from`. */
function meshEntries(log: SimLog, from = 0): number {
  return log.entries.slice(from).filter((e) => decodeCommand(e).command.kind === 'mesh').length;
}

const names = (a: SimAgent): string[] => a.names();
const service = (c: SimController, name: string): ServiceResource | null => c.sm.view(meshKind).get('service', name) as ServiceResource | null;

void t.test('a lazy agent gets what it hosts, its static dependencies and the routes between them; never the whole mesh', async (t) => {
  const { log, cs } = stage();
  log.propose(applyCmd(svc('b'), svc('c'), svc('d'), rt('b-c', 'b', 'c'), rt('b-d', 'b', 'd'), rt('c-d', 'c', 'd')));
  settle(cs);
  const lazy = new SimAgent('lazy', ['http', 'tcp'], 'lazy-boot', { lazy: true, dependencies: ['b', 'c'], hosts: [host('a')] });
  lazy.connect(cs[1]!);
  settle(cs);
  t.same(names(lazy), ['route/b-c', 'service/a', 'service/b', 'service/c']);
  t.equal(lazy.received.length, 1, 'one push, once its declaration is committed');
  t.equal(lazy.config.version, cs[1]!.sm.view(meshKind).declaration('lazy')?.revision, 'its version is its own record\'s');
  t.equal(cs[0]!.hub.localState('lazy') ?? cs[1]!.hub.localState('lazy'), 'SYNCED');
  const full = new SimAgent('full');
  full.connect(cs[0]!);
  settle(cs);
  t.same(names(full), ['route/b-c', 'route/b-d', 'route/c-d', 'service/a', 'service/b', 'service/c', 'service/d'], 'an agent that is not lazy gets everything');
});

void t.test('a change to a service outside an agent\'s set makes zero pushes to it; inside, one', async (t) => {
  const { log, cs } = stage();
  log.propose(applyCmd(svc('a'), svc('b'), svc('c')));
  settle(cs);
  const agents = ['a', 'b'].map((dep) => new SimAgent(`on-${dep}`, ['http', 'tcp'], `${dep}-boot`, { lazy: true, dependencies: [dep] }));
  for (const a of agents) a.connect(cs[0]!);
  settle(cs);
  const before = agents.map((a) => a.received.length);
  log.propose(applyCmd(svc('c', 'tcp')));
  settle(cs);
  t.same(agents.map((a) => a.received.length), before, 'c is in nobody\'s set');
  log.propose(applyCmd(svc('a', 'tcp')));
  settle(cs);
  t.same(agents.map((a) => a.received.length - before[agents.indexOf(a)]!), [1, 0], 'only the dependent of a');
  t.equal(agents[0]!.received.at(-1)!.plan.upserts.map((r) => r.name).join(), 'a', 'a delta of the one service');
});

void t.test('an identical re-publish on reconnect or restart makes zero Raft writes of the mesh and no new revision; status survives', async (t) => {
  const { log, clock, cs } = stage();
  const publisher = new SimAgent('edge', ['http', 'tcp'], 'edge-boot', { hosts: [host('web', 'http', [8080])] });
  publisher.connect(cs[0]!);
  settle(cs);
  const web = service(cs[0]!, 'web');
  t.match(web, { status: { vip: '241.0.0.1', endpoints: [{ agent: 'edge', healthy: true }] } });
  const revision = cs[0]!.sm.revision();
  const entries = log.entries.length;
  // Reconnect to the other controller, then restart as a new process (a new boot).
  publisher.disconnect();
  publisher.connect(cs[1]!);
  settle(cs);
  const restarted = new SimAgent('edge', ['http', 'tcp'], 'edge-boot-2', { hosts: [host('web', 'http', [8080])] });
  restarted.config.restore({ version: publisher.config.version!, cluster: log.clusterId, resources: publisher.config.json().resources });
  publisher.disconnect();
  // A claim of the same id on the same controller waits a second (TAKEOVER_MIN_INTERVAL_MS).
  advance(clock, cs, TAKEOVER_MIN_INTERVAL_MS);
  restarted.connect(cs[0]!);
  settle(cs);
  t.equal(meshEntries(log, entries), 0, 'no mesh entry at all');
  t.equal(cs[0]!.sm.revision(), revision, 'no new revision');
  t.equal(service(cs[0]!, 'web'), web, 'the service object is untouched: VIP and endpoints as they were');
  t.equal(restarted.received.length, 0, 'nothing re-sent to the restarted agent');
  t.ok(cs[0]!.hub.counters.republishesSkipped + cs[1]!.hub.counters.republishesSkipped >= 2, 'both re-publishes were recognised and skipped');
});

void t.test('/resolve of an unknown service: reported, recorded through Raft, pushed to the agent; then a hit', async (t) => {
  const { log, cs } = stage();
  log.propose(applyCmd(svc('db', 'tcp'), svc('web')));
  settle(cs);
  const a = new SimAgent('lazy', ['http', 'tcp'], 'boot', { lazy: true, dependencies: ['web'] });
  a.connect(cs[1]!);
  settle(cs);
  t.same(names(a), ['service/web']);
  t.equal(a.resolve('db'), 'fallback');
  settle(cs);
  t.same(names(a), ['service/db', 'service/web'], 'the new dependency arrived');
  t.equal(a.resolve('db'), '241.0.0.1', 'a hit answers the VIP');
  for (const c of cs) t.same(c.audits.filter((e) => e.type === 'agent.dependency.added').map((e) => `${e.subject} ${e.to}`), ['lazy db'], `${c.id} audits it once`);
  t.same(cs[0]!.sm.view(meshKind).declaration('lazy')?.observedNames, ['db']);
});

void t.test('a dependency on a service that does not exist stays pending without a report loop, and arrives with the service', async (t) => {
  const { log, clock, cs } = stage();
  const a = new SimAgent('lazy', ['http', 'tcp'], 'boot', { lazy: true });
  a.connect(cs[0]!);
  settle(cs);
  const entries = log.entries.length;
  for (let i = 0; i < 20; i++) {
    a.resolve('ghost');
    settle(cs);
  }
  t.ok(meshEntries(log, entries) <= 2, `twenty misses of a missing service: ${meshEntries(log, entries)} mesh entries (one to add it, uses in a batch)`);
  t.same(cs[0]!.sm.view(meshKind).declaration('lazy')?.observedNames, ['ghost']);
  t.match(cs[0]!.audits.find((e) => e.type === 'agent.dependency.added'), { reason: /pending/ });
  log.propose(applyCmd(svc('ghost')));
  settle(cs);
  t.same(names(a), ['service/ghost']);
  advance(clock, cs, 2000);
  t.ok(meshEntries(log, entries) <= 3, 'no loop while time passes');
});

void t.test('endpoints go unhealthy when the health layer has their agent offline, and healthy when it is back', async (t) => {
  const { log, clock, cs } = stage();
  const edge = new SimAgent('edge', ['http', 'tcp'], 'edge-boot', { hosts: [host('web')] });
  edge.connect(cs[1]!);
  const watcher = new SimAgent('watcher', ['http', 'tcp'], 'w-boot', { lazy: true, dependencies: ['web'] });
  watcher.connect(cs[0]!);
  settle(cs);
  t.same(service(cs[0]!, 'web')?.status.endpoints, [{ agent: 'edge', healthy: true }]);
  edge.disconnect();
  advance(clock, cs, 5000);
  t.match(cs[0]!.record('edge'), { online: false });
  t.same(service(cs[0]!, 'web')?.status.endpoints, [{ agent: 'edge', healthy: false }], 'marked unhealthy, not removed');
  t.same(watcher.config.get('service/web')?.status, { vip: '241.0.0.1', endpoints: [{ agent: 'edge', healthy: false }] }, 'and its dependents learn it');
  edge.connect(cs[1]!);
  advance(clock, cs, 500);
  t.same(service(cs[0]!, 'web')?.status.endpoints, [{ agent: 'edge', healthy: true }]);
  t.equal(service(cs[0]!, 'web')?.status.vip, '241.0.0.1');
  void log;
});

void t.test('observed dependencies expire on the leader\'s watch: expiring after one TTL, expired after two, pushed away', async (t) => {
  const { log, clock, cs } = stage(2, 2000);
  log.propose(applyCmd(svc('db'), svc('web')));
  settle(cs);
  const a = new SimAgent('lazy', ['http', 'tcp'], 'boot', { lazy: true, dependencies: ['web'] });
  a.connect(cs[1]!);
  settle(cs);
  a.resolve('db');
  settle(cs);
  t.same(names(a), ['service/db', 'service/web']);
  advance(clock, cs, 1000);
  a.resolve('db'); // a hit: use, reported in a batch
  advance(clock, cs, 1900);
  t.same(cs[0]!.audits.filter((e) => e.type.startsWith('agent.dependency.exp')).map((e) => e.type), [], 'used 1.9 s ago: still active');
  advance(clock, cs, 600);
  t.same(cs[0]!.audits.filter((e) => e.type.startsWith('agent.dependency.exp')).map((e) => e.type), ['agent.dependency.expiring']);
  t.same(names(a), ['service/db', 'service/web'], 'an expiring dependency is still configured');
  advance(clock, cs, 2100);
  t.same(cs[1]!.audits.filter((e) => e.type.startsWith('agent.dependency.exp')).map((e) => `${e.type} ${e.subject}`), ['agent.dependency.expiring lazy', 'agent.dependency.expired lazy']);
  t.same(names(a), ['service/web'], 'expired: removed from the agent; the static one never');
  advance(clock, cs, 10_000);
  t.same(names(a), ['service/web']);
});

void t.test('dependency sets survive a controller restart and a change of leader', async (t) => {
  const { log, clock, cs } = stage(2, 2000);
  log.propose(applyCmd(svc('db'), svc('web')));
  settle(cs);
  const a = new SimAgent('lazy', ['http', 'tcp'], 'boot', { lazy: true });
  a.connect(cs[1]!);
  settle(cs);
  a.resolve('db');
  settle(cs);
  // c1 (the leader) dies; c3 starts from the log; c2 leads.
  cs[0]!.leading = false;
  const c3 = new SimController('c3', log, clock);
  c3.replayUntil = log.entries.length;
  const live = [cs[1]!, c3];
  live[0]!.leading = true;
  c3.tick();
  settle(live);
  t.same(c3.sm.view(meshKind).declaration('lazy')?.observedNames, ['db'], 'rebuilt from the log');
  const received = a.received.length;
  a.disconnect();
  a.connect(c3);
  settle(live);
  t.equal(a.received.length, received, 'the agent moves with its set: nothing re-sent');
  advance(clock, live, 4500);
  t.same(names(a), [], 'the new leader expires it in its time');
  t.same(c3.audits.filter((e) => e.type === 'agent.dependency.added'), [], 'c3 does not audit again what an earlier run of it applied');
});

void t.test('two agents publishing one service with different specs: the second is refused once, audited, and not retried', async (t) => {
  const { log, cs } = stage();
  const first = new SimAgent('a1', ['http', 'tcp'], 'b1', { hosts: [host('web', 'http', [80])] });
  first.connect(cs[0]!);
  settle(cs);
  const second = new SimAgent('a2', ['http', 'tcp'], 'b2', { hosts: [host('web', 'http', [81])] });
  second.connect(cs[1]!);
  settle(cs);
  t.match(service(cs[0]!, 'web'), { spec: { ports: [80] }, status: { endpoints: [{ agent: 'a1' }] } });
  for (const c of cs) t.match(c.audits.filter((e) => e.type === 'service.publish.refused'), [{ subject: 'web', to: 'a2', reason: /published by "a1" with another spec/ }]);
  t.ok(cs[1]!.logs.includes('agent publishes services the cluster refuses'), 'the serving controller says so');
  const entries = log.entries.length;
  second.disconnect();
  second.connect(cs[0]!);
  settle(cs);
  t.equal(meshEntries(log, entries), 0, 'a refused publish is not proposed again on reconnect');
});

void t.test('10,000 names missed by one agent cost a bounded amount on the controller and in the log', async (t) => {
  const { log, cs } = stage();
  const a = new SimAgent('noisy', ['http', 'tcp'], 'boot', { lazy: true });
  a.connect(cs[0]!);
  settle(cs);
  const entries = log.entries.length;
  for (let chunk = 0; chunk < 40; chunk++) a.send({ type: 'usage', missed: Array.from({ length: 250 }, (_, i) => `n${chunk * 250 + i}`), used: [] });
  settle(cs);
  t.equal(cs[0]!.sm.view(meshKind).declaration('noisy')?.observed.size, MAX_OBSERVED);
  t.ok(meshEntries(log, entries) <= 2, `${meshEntries(log, entries)} mesh entries`);
  t.ok(cs[0]!.hub.meshReports.dropped > 0, 'the queue dropped names beyond its bound');
  t.ok(a.names().length <= MAX_OBSERVED);
});

void t.test('made-up misses from an agent whose observed names are full write nothing, one message at a time', async (t) => {
  const { log, cs } = stage();
  const a = new SimAgent('noisy', ['http', 'tcp'], 'boot', { lazy: true });
  a.connect(cs[0]!);
  settle(cs);
  a.send({ type: 'usage', missed: Array.from({ length: MAX_OBSERVED }, (_, i) => `n${i}`), used: [] });
  settle(cs);
  t.equal(cs[0]!.sm.view(meshKind).declaration('noisy')?.observed.size, MAX_OBSERVED, 'full');
  const entries = log.entries.length;
  const dropped = cs[0]!.hub.meshReports.dropped;
  // Each message settled on its own: before, each became a report the apply then ignored.
  for (let i = 0; i < 50; i++) {
    a.send({ type: 'usage', missed: [`late${i}`], used: [] });
    settle(cs);
  }
  t.equal(meshEntries(log, entries), 0, 'no mesh entry for 50 messages of new names');
  t.equal(cs[0]!.hub.meshReports.dropped - dropped, 50, 'each name dropped and counted');
});

void t.test('at the quota, a publish that would create services is held back and goes once there is room', async (t) => {
  const { log, clock, cs } = stage();
  cs[0]!.atQuota = true;
  const squatter = new SimAgent('squatter', ['http', 'tcp'], 'boot', { hosts: [host('s1', 'http', [1]), host('s2', 'http', [2])] });
  squatter.connect(cs[0]!);
  settle(cs);
  const entries = log.entries.length;
  t.equal(service(cs[0]!, 's1'), null, 'no service created');
  t.equal(cs[0]!.hub.counters.publishesHeld, 1, 'held back, and counted once');
  t.match(cs[0]!.logs.join('\n'), /agent publishes new services while the state is at its quota/);
  squatter.disconnect();
  advance(clock, cs, TAKEOVER_MIN_INTERVAL_MS);
  squatter.connect(cs[0]!);
  settle(cs);
  t.equal(meshEntries(log, entries), 0, 'a reconnect at the quota writes nothing either');
  cs[0]!.atQuota = false;
  squatter.disconnect();
  advance(clock, cs, TAKEOVER_MIN_INTERVAL_MS);
  squatter.connect(cs[0]!);
  settle(cs);
  t.match(service(cs[0]!, 's1'), { status: { endpoints: [{ agent: 'squatter' }] } }, 'with room, the next connection publishes');
});

void t.test('a publish that would grow the mesh past controller.max_mesh_bytes is held back, logged, audited, counted, and goes once there is room', async (t) => {
  const { log, clock, cs } = stage();
  const c = cs[0]!;
  const first = new SimAgent('first', ['http', 'tcp'], 'boot', { hosts: [host('s0', 'http', [1])] });
  first.connect(c);
  settle(cs);
  const used = c.sm.view(meshKind).resourceBytes;
  t.ok(service(c, 's0') !== null, `a publish that fits is applied (the mesh is ${used} bytes)`);
  for (const x of cs) x.maxMeshBytes = used + 50;
  const squatter = new SimAgent('squatter', ['http', 'tcp'], 'boot', { hosts: [host('s1', 'http', [1]), host('s2', 'http', [2])] });
  squatter.connect(c);
  settle(cs);
  const entries = log.entries.length;
  t.equal(service(c, 's1'), null, 'no service created');
  t.equal(c.sm.view(meshKind).declaration('squatter'), null, 'nor its declaration');
  t.equal(c.hub.counters.publishesOverMesh, 1, 'held back, and counted once');
  t.match(c.logs.join('\n'), /agent publishes services that do not fit the mesh \(controller\.max_mesh_bytes\)/);
  t.match(c.audits.filter((e) => e.type === 'service.publish.refused'), [{ subject: 's1', to: 'squatter', reason: /publish of 2 service\(s\) held back: the mesh would pass its bound \(about \d+ bytes of controller\.max_mesh_bytes \d+, and this adds \d+\)/ }]);
  const joiner = new SimAgent('joiner', ['http', 'tcp'], 'boot', { hosts: [host('s0', 'http', [1])] });
  joiner.connect(c);
  settle(cs);
  t.same(service(c, 's0')?.status.endpoints?.map((e) => e.agent), ['first'], 'a join that would pass the bound is held back too');
  squatter.disconnect();
  advance(clock, cs, TAKEOVER_MIN_INTERVAL_MS);
  squatter.connect(c);
  settle(cs);
  t.equal(c.hub.counters.publishesOverMesh, 3, 'each connection is judged (and counted) once: no loop');
  t.equal(meshEntries(log, entries), 0, 'nothing reached the log');
  for (const x of cs) x.maxMeshBytes = used + 100_000;
  squatter.disconnect();
  advance(clock, cs, TAKEOVER_MIN_INTERVAL_MS);
  squatter.connect(c);
  settle(cs);
  t.match(service(c, 's1'), { status: { endpoints: [{ agent: 'squatter' }] } }, 'with room, the next connection publishes');
});

void t.test('hosts refused for an exhausted range are published once services.vip_cidr is widened, without a reconnect, and nothing is proposed meanwhile', async (t) => {
  const { log, clock, cs } = stage();
  log.propose(setCommand('services.vip_cidr', '10.1.0.0/30'));
  log.propose(applyCmd(svc('a'), svc('b')));
  settle(cs);
  const pub = new SimAgent('pub1', ['http', 'tcp'], 'boot', { hosts: [host('web', 'http', [8080])] });
  pub.connect(cs[0]!);
  settle(cs);
  advance(clock, cs, 3000);
  t.equal(service(cs[0]!, 'web'), null, 'the range is full: web is refused');
  t.equal(cs[0]!.logs.filter((l) => l.includes('agent publishes services the cluster refuses')).length, 1, 'the refusal is logged');
  const standing = (c: SimController, id: string): unknown => c.hub.live(c.clock.now).find((r) => r.id === id)?.publish;
  t.same(standing(cs[0]!, 'pub1'), { refusedHosts: [{ name: 'web', reason: 'range exhausted: no virtual IP is free in services.vip_cidr' }], held: null }, 'and list agents says which and why');
  const entries = log.entries.length;
  advance(clock, cs, 10_000);
  t.equal(log.entries.length, entries, 'while the range stays full, the re-checks propose nothing');
  t.equal(cs[0]!.logs.filter((l) => l.includes('the cluster refuses')).length, 1, 'nor log it again');
  log.propose(setCommand('services.vip_cidr', '10.2.0.0/24'));
  settle(cs);
  advance(clock, cs, 2500);
  t.match(service(cs[0]!, 'web'), { status: { vip: '10.2.0.1', endpoints: [{ agent: 'pub1' }] } }, 'within a state_sync_interval of the wider range, web exists with the agent as its endpoint');
  t.same(standing(cs[0]!, 'pub1'), { refusedHosts: [], held: null }, 'and list agents no longer names it refused');
  const after = log.entries.length;
  advance(clock, cs, 10_000);
  t.equal(meshEntries(log, after), 0, 'and once published, nothing more is proposed');
});

void t.test('a publish held back at the quota or past controller.max_mesh_bytes goes once there is room, without a reconnect', async (t) => {
  const { log, clock, cs } = stage();
  const c = cs[0]!;
  c.atQuota = true;
  const a = new SimAgent('held-quota', ['http', 'tcp'], 'boot', { hosts: [host('q1', 'http', [1])] });
  a.connect(c);
  settle(cs);
  advance(clock, cs, 5000);
  t.equal(service(c, 'q1'), null, 'held at the quota');
  t.equal(c.hub.counters.publishesHeld, 1, 'counted once, however often it is checked again');
  const held = (id: string): string | null | undefined => c.hub.live(c.clock.now).find((r) => r.id === id)?.publish?.held;
  t.match(held('held-quota'), /controller\.quota_bytes/, 'list agents says why it is held');
  c.atQuota = false;
  advance(clock, cs, 2500);
  t.match(service(c, 'q1'), { status: { endpoints: [{ agent: 'held-quota' }] } }, 'published once the state is below its quota');
  t.equal(held('held-quota'), null, 'and no longer held');

  const used = c.sm.view(meshKind).resourceBytes;
  for (const x of cs) x.maxMeshBytes = used + 50;
  const b = new SimAgent('held-mesh', ['http', 'tcp'], 'boot', { hosts: [host('m1', 'http', [1])] });
  b.connect(c);
  settle(cs);
  const entries = log.entries.length;
  advance(clock, cs, 5000);
  t.equal(service(c, 'm1'), null, 'held past the mesh bound');
  t.equal(meshEntries(log, entries), 0, 'and the re-checks propose nothing');
  t.equal(c.hub.counters.publishesOverMesh, 1, 'counted once');
  t.match(held('held-mesh'), /controller\.max_mesh_bytes/, 'list agents says why it is held');
  for (const x of cs) x.maxMeshBytes = used + 100_000;
  advance(clock, cs, 2500);
  t.match(service(c, 'm1'), { status: { endpoints: [{ agent: 'held-mesh' }] } }, 'published once the bound leaves room');
});

void t.test('publishes proposed and not yet applied count against controller.max_mesh_bytes: agents publishing at once cannot all pass on the same room', async (t) => {
  const { cs } = stage();
  const c = cs[0]!;
  new SimAgent('first', ['http', 'tcp'], 'boot', { hosts: [host('s0', 'http', [1])] }).connect(c);
  settle(cs);
  const used = c.sm.view(meshKind).resourceBytes;
  // Room for one more service like s0, not for two.
  for (const x of cs) x.maxMeshBytes = Math.floor(used * 2.5);
  const a = new SimAgent('a', ['http', 'tcp'], 'boot', { hosts: [host('s1', 'http', [1])] });
  const b = new SimAgent('b', ['http', 'tcp'], 'boot', { hosts: [host('s2', 'http', [1])] });
  a.connect(c);
  b.connect(c);
  settle(cs);
  const created = ['s1', 's2'].filter((name) => service(c, name) !== null);
  t.equal(created.length, 1, `one of the two publishes applied (${created.join(', ')})`);
  t.equal(c.hub.counters.publishesOverMesh, 1, 'the other was held back while the first was in flight');
  t.ok(c.sm.view(meshKind).resourceBytes <= Math.floor(used * 2.5), 'the mesh stays within its bound');
});

void t.test('attack round 10 (A3): a publish in a protocol agents that get every service do not speak is held back; the fleet keeps its configuration', async (t) => {
  const { log, clock, cs } = stage();
  const c = cs[0]!;
  log.propose(applyCmd(svc('web')));
  settle(cs);
  const fleet = ['a1', 'a2'].map((id) => new SimAgent(id, ['http', 'tcp'], `${id}-boot`));
  for (const a of fleet) a.connect(c);
  settle(cs);
  const poisoner = new SimAgent('poisoner', ['quic'], 'boot', { lazy: true, hosts: [host('poison', 'quic', [443])] });
  poisoner.connect(c);
  settle(cs);
  t.equal(service(c, 'poison'), null, 'the service is not created');
  t.equal(c.hub.counters.publishesUnspoken, 1, 'held back, counted once');
  t.match(c.audits.filter((e) => e.type === 'service.publish.refused'), [{ subject: 'poison', to: 'poisoner', reason: /service "poison" uses protocol "quic", which "a1", "a2" do not speak and would NACK/ }]);
  log.propose(applyCmd(svc('web', 'tcp')));
  settle(cs);
  for (const a of fleet) t.match(a.config.get(resourceKey('service', 'web')), { spec: { protocol: 'tcp', ports: [80] } }, `${a.id} has the operator's change`);
  t.same(fleet.map((a) => c.hub.localState(a.id) ?? cs[1]!.hub.localState(a.id)), ['SYNCED', 'SYNCED'], 'nobody NACKs');
  const ok = new SimAgent('ok', ['http', 'tcp'], 'boot', { hosts: [host('api', 'http', [8080])] });
  ok.connect(c);
  settle(cs);
  t.ok(service(c, 'api') !== null, 'a service in a protocol the fleet speaks is published as before');
  // The operator may still add it: the NACKs that follow are the operator's to see.
  log.propose(applyCmd(svc('poison', 'quic', [443])));
  settle(cs);
  t.same(fleet.map((a) => c.hub.localState(a.id) ?? cs[1]!.hub.localState(a.id)), ['NACKED', 'NACKED'], 'an operator-applied quic service is NACKed as the contract says');
  poisoner.disconnect();
  advance(clock, cs, TAKEOVER_MIN_INTERVAL_MS);
  poisoner.connect(c);
  settle(cs);
  t.match(service(c, 'poison'), { status: { endpoints: [{ agent: 'poisoner' }] } }, 'once the service exists, its publisher joins it as an endpoint (no new protocol)');
});

void t.test('attack round 16: an agent that cannot run the mesh as it is (no protocol of it) holds no publish back, online or gone', async (t) => {
  const { log, clock, cs } = stage();
  const c = cs[0]!;
  log.propose(applyCmd(svc('web')));
  settle(cs);
  const old = new SimAgent('old', ['http'], 'old-boot', { protocols: ['http'] });
  old.connect(c);
  // Declares it speaks nothing: it NACKs web, and any service.
  const mute = new SimAgent('mute', [], 'mute-boot', { protocols: [] });
  mute.connect(c);
  settle(cs);
  mute.disconnect();
  advance(clock, cs, 3000);
  const fresh = new SimAgent('fresh-pub', ['http', 'tcp'], 'boot', { hosts: [host('fresh', 'http', [8080])] });
  fresh.connect(c);
  settle(cs);
  t.match(service(c, 'fresh'), { status: { endpoints: [{ agent: 'fresh-pub' }] } }, 'an http service is published: the mute agent NACKs web already (before: held back for it, for as long as its record stayed)');
  t.equal(c.hub.counters.publishesUnspoken, 0, 'nothing held back');
  const grpc = new SimAgent('grpc-pub', ['grpc', 'http', 'tcp'], 'boot', { protocols: ['grpc', 'http', 'tcp'], hosts: [host('rpc', 'grpc', [9000])] });
  grpc.connect(c);
  settle(cs);
  t.equal(service(c, 'rpc'), null, 'a new protocol is still held back for an agent that runs the mesh as it is and would NACK it');
  t.match(c.audits.filter((e) => e.type === 'service.publish.refused'), [{ subject: 'rpc', reason: /uses protocol "grpc", which "fresh-pub", "old" do not speak/ }], 'naming the agents that run the mesh as it is, not the mute one');
});
