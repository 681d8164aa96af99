/**
 * Cluster version 0.8 (PUBLISH_SHARE_VERSION), in the state machine alone: an agent holds at most
 * MAX_SERVICES_PER_AGENT services by its publishes, those expired counting while their VIP is
 * quarantined, so one agent certificate publishing new names again and again can no longer fill
 * the VIP range (session 51). Below the level every entry is applied as 0.7.0 members apply it,
 * and the snapshot is one they read.
 */
import t, { type Test } from 'tap';
import { MAX_SERVICES_PER_AGENT, PUBLISH_SHARE_VERSION, StateMachine, meshKind } from '../../src/statemachine/index.js';
import { apply, claim, cluster, clusterVersion, del, host, outcome, publishOf, report, run, service, setSetting, svcOf } from './mesh-helpers.js';

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;

/** `n` hosted services named `<prefix>0`, `<prefix>1`, ... */
const names = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const hosts = (list: readonly string[]): ReturnType<typeof host>[] => list.map((n) => host(n));

function meshAt(version: string): StateMachine {
  const sm = cluster();
  run(sm, clusterVersion(version));
  for (const a of ['rogue', 'honest']) run(sm, claim(a, `${a}-s1`));
  return sm;
}

const refusals = (sm: StateMachine): { service: string; agent: string; reason: string }[] =>
  sm
    .view(meshKind)
    .transitionsSince(0)
    .items.filter((x) => x.type === 'publish.refused')
    .map((x) => x as { service: string; agent: string; reason: string });

/** How many services one publish may list. */
const PER_PUBLISH = 256;

/**
 * The attack's steps: rogue lists 256 new names at each publish (the ones before unlisted, kept
 * through the leader's grace), four times: it holds MAX_SERVICES_PER_AGENT. Returns the names.
 */
function fill(t: Test, sm: StateMachine, at: number): string[] {
  const all: string[] = [];
  for (let set = 0; set * PER_PUBLISH < MAX_SERVICES_PER_AGENT; set++) {
    const list = names(`s${set}-`, PER_PUBLISH);
    t.equal(outcome(run(sm, report(at, { publish: [publishOf('rogue', 'rogue-s1', hosts(list))] }))).refused, 0, `set ${set}: created`);
    all.push(...list);
  }
  return all;
}

void t.test('from 0.8 an agent holding MAX services by its publishes is refused new ones, audited; another agent still gets its own', async (t) => {
  t.equal(PUBLISH_SHARE_VERSION, '0.8');
  t.equal(MAX_SERVICES_PER_AGENT, 1_024);
  const sm = meshAt('0.8');
  fill(t, sm, T0);
  const r = run(sm, report(T0, { publish: [publishOf('rogue', 'rogue-s1', hosts(['extra']))] }));
  t.match(outcome(r), { published: 1, refused: 1 });
  t.equal(svcOf(sm, 'extra'), null, 'no service, no VIP');
  t.match(refusals(sm), [{ service: 'extra', agent: 'rogue', reason: /^agent "rogue" holds 1024 services by its publishes .* at most 1024: new ones are refused until some expire/ }]);
  t.equal(outcome(run(sm, report(T0, { publish: [publishOf('honest', 'honest-s1', [host('web')])] }))).refused, 0, "another agent's new service is created");
  t.ok(svcOf(sm, 'web')?.status.vip, 'with a VIP');
  // Joining a service another agent created is not counted against the joiner.
  t.equal(outcome(run(sm, report(T0, { publish: [publishOf('rogue', 'rogue-s1', hosts(['web']))] }))).refused, 0, 'rogue may still join web');
  t.same(svcOf(sm, 'web')?.status.endpoints?.map((e) => e.agent), ['honest', 'rogue']);
});

void t.test('from 0.8 names rotated out still count through the grace and the quarantine: new ones wait until the quarantine ends', async (t) => {
  const sm = meshAt('0.8');
  const all = fill(t, sm, T0);
  // The leader expires the unlisted names after its grace: their VIPs go into quarantine, still charged to rogue.
  const unlisted = all.slice(0, MAX_SERVICES_PER_AGENT - PER_PUBLISH);
  t.equal(outcome(run(sm, report(T0 + 11 * 60_000, { expireServices: unlisted }))).servicesExpired, unlisted.length);
  t.equal(svcOf(sm, unlisted[0]!), null, 'the unlisted names expired');
  t.equal(outcome(run(sm, report(T0 + 11 * 60_000, { publish: [publishOf('rogue', 'rogue-s1', hosts(['n0']))] }))).refused, 1, 'their VIPs quarantined: still refused');
  // The quarantine (services.vip_quarantine, 1 h) ends: room again.
  const r = run(sm, report(T0 + 11 * 60_000 + HOUR, { publish: [publishOf('rogue', 'rogue-s1', hosts(['n0']))] }));
  t.equal(outcome(r).refused, 0);
  t.ok(svcOf(sm, 'n0')?.status.vip, 'created once the quarantine ended');
});

void t.test("from 0.8 an operator's delete keeps the VIP charged for its quarantine; an operator's apply makes the service the operator's", async (t) => {
  const sm = meshAt('0.8');
  const all = fill(t, sm, T0);
  run(sm, del(T0, 'service', all[0]!));
  t.equal(outcome(run(sm, report(T0, { publish: [publishOf('rogue', 'rogue-s1', hosts(['n0']))] }))).refused, 1, 'deleting junk makes no room for more');
  t.ok(run(sm, apply(T0, service(all[1]!))).ok);
  t.equal(outcome(run(sm, report(T0, { publish: [publishOf('rogue', 'rogue-s1', hosts(['n0']))] }))).refused, 0, 'the applied one is the operator\'s now: one place free');
});

void t.test('at 0.7 (a cluster with a 0.7.0 member) nothing is bounded nor recorded: the entries apply and snapshot as 0.7.0 members do', async (t) => {
  const sm = meshAt('0.7');
  const all = fill(t, sm, T0);
  t.equal(outcome(run(sm, report(T0, { publish: [publishOf('rogue', 'rogue-s1', hosts(['extra']))] }))).refused, 0, 'a fifth set is created at once');
  t.equal(outcome(run(sm, report(T0 + 11 * 60_000, { expireServices: all.slice(0, 500) }))).servicesExpired, 500);
  const text = Buffer.from(sm.snapshot()).toString();
  t.notOk(text.includes('"publishers"'), 'no publishers field in the snapshot');
  t.ok(/"quarantine":\[\["241\./.test(text), 'the expired names are quarantined');
  t.notOk(/\["241\.[0-9.]+",[0-9]+,"/.test(text), 'as [address, releasedAt] pairs');
  t.equal(refusals(sm).length, 0);
});

void t.test('from 0.8 a replica restored from a snapshot counts and decides alike', async (t) => {
  const live = meshAt('0.8');
  const all = fill(t, live, T0);
  run(live, report(T0 + 11 * 60_000, { expireServices: all.slice(0, 10) }));
  const replica = new StateMachine();
  replica.restore(live.snapshot());
  t.same(replica.snapshot(), live.snapshot(), 'the same state');
  const next = report(T0 + 20 * 60_000, { publish: [publishOf('rogue', 'rogue-s1', hosts(['z0']))] });
  t.same(outcome(run(replica, next)), outcome(run(live, next)), 'the same outcome');
  t.equal(svcOf(replica, 'z0'), null, 'refused on the replica too: the quarantined ten still count');
  t.same(replica.snapshot(), live.snapshot(), 'and the same state after');
});

void t.test('services created before the raise to 0.8 have no recorded creator: they are not counted, and expire as before', async (t) => {
  const sm = meshAt('0.7');
  const all = fill(t, sm, T0);
  run(sm, clusterVersion(PUBLISH_SHARE_VERSION));
  t.equal(outcome(run(sm, report(T0, { publish: [publishOf('rogue', 'rogue-s1', hosts(['after']))] }))).refused, 0, 'a new name after the raise is created');
  t.equal(outcome(run(sm, report(T0 + 11 * 60_000, { expireServices: all.slice(0, 10) }))).servicesExpired, 10, 'the old names expire as before');
  const text = Buffer.from(sm.snapshot()).toString();
  t.ok(text.includes('"publishers":[["after","rogue"]]'), 'only the service created after the raise has its creator recorded');
  t.notOk(/\["241\.[0-9.]+",[0-9]+,"/.test(text), 'and the old names\' quarantined addresses are charged to no one');
});

void t.test("an operator frees a stuck agent's share as docs/agents.md says: apply then delete at once, a lower services.vip_quarantine for the quarantined", async (t) => {
  const sm = meshAt('0.8');
  const all = fill(t, sm, T0);
  const retry = (at: number): number => outcome(run(sm, report(at, { publish: [publishOf('rogue', 'rogue-s1', hosts(['n0']))] }))).refused;
  t.ok(run(sm, del(T0, 'service', all[0]!)).ok);
  t.equal(retry(T0), 1, 'a delete alone frees nothing');
  t.ok(run(sm, apply(T0, service(all[1]!))).ok);
  t.ok(run(sm, del(T0, 'service', all[1]!)).ok);
  t.equal(retry(T0), 0, 'apply then delete frees the place at once');
  t.equal(retry(T0), 0, 'n0 exists now: the agent is at the bound again');
  t.equal(outcome(run(sm, report(T0, { publish: [publishOf('rogue', 'rogue-s1', hosts(['n1']))] }))).refused, 1);
  // all[0]'s VIP, deleted at T0, is still quarantined for the hour; lowered to 5 minutes it is free 5 minutes on.
  run(sm, setSetting('services.vip_quarantine', 300_000));
  t.equal(outcome(run(sm, report(T0 + 299_999, { publish: [publishOf('rogue', 'rogue-s1', hosts(['n1']))] }))).refused, 1, 'not before the lowered quarantine ends');
  t.equal(outcome(run(sm, report(T0 + 300_000, { publish: [publishOf('rogue', 'rogue-s1', hosts(['n1']))] }))).refused, 0, 'freed when it ends, at the boundary');
});
