/**
 * Cluster version 0.9 (LISTER_SHARE_VERSION), in the state machine alone: an agent's share counts
 * every agents' service it lists (created or joined), and the last lister of one stays charged
 * through the grace and its VIP's quarantine; a publish past MAX_SERVICES_PER_AGENT is refused for
 * what it would create or join. Under 0.8 a certificate that joined another agent's services and
 * kept listing them pinned that agent's share at the bound (session 52); each scenario runs at
 * 0.8 too, where it must show the old behaviour.
 */
import t, { type Test } from 'tap';
import { ALLOWED_AGENTS_LABEL, LISTER_SHARE_VERSION, MAX_SERVICES_PER_AGENT, StateMachine, clusterKind, keptByFor, meshKind, shareRuleOf } from '../../src/statemachine/index.js';
import { apply, claim, cluster, clusterVersion, del, forgetRecord, host, offline, outcome, publishOf, report, run, service, svcOf } from './mesh-helpers.js';

const T0 = 1_700_000_000_000;
const MINUTE = 60_000;
const HOUR = 3_600_000;
/** How many services one publish may list. */
const PER_PUBLISH = 256;

const names = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const hosts = (list: readonly string[]): ReturnType<typeof host>[] => list.map((n) => host(n));

function meshAt(version: string, agents: readonly string[]): StateMachine {
  const sm = cluster();
  run(sm, clusterVersion(version));
  for (const a of agents) run(sm, claim(a, `${a}-s1`));
  return sm;
}

/** `agent` publishes exactly `list` at log time `at`; returns how many hosts were refused. */
const publish = (sm: StateMachine, agent: string, list: readonly string[], at = T0): number => outcome(run(sm, report(at, { publish: [publishOf(agent, `${agent}-s1`, hosts(list))] }))).refused;

/** What `agent` holds by the rule in force at log time `at` (the hour's quarantine). */
function held(sm: StateMachine, agent: string, at = T0): number {
  const rule = shareRuleOf(sm.view(clusterKind));
  if (rule === null) throw new Error('no share rule below 0.8');
  return sm.view(meshKind).heldBy(agent, rule, HOUR, at);
}

const refusals = (sm: StateMachine): { service: string; agent: string; reason: string }[] =>
  sm
    .view(meshKind)
    .transitionsSince(0)
    .items.filter((x) => x.type === 'publish.refused')
    .map((x) => x as { service: string; agent: string; reason: string });

/** Agents' services that exist, and quarantined VIPs: what the certificates hold of the range. */
function vipsHeld(sm: StateMachine): number {
  const mesh = meshSnapshot(sm) as { published: string[]; allocator: { quarantine: unknown[] } };
  return mesh.published.length + mesh.allocator.quarantine.length;
}

/** The mesh kind's part of a snapshot (after its format byte). */
const meshSnapshot = (sm: StateMachine): object => (JSON.parse(new TextDecoder().decode(sm.snapshot().subarray(1))) as { kinds: { mesh: object } }).kinds.mesh;

/**
 * The pin: `victim` creates four sets of 256 services, each joined by another certificate that
 * goes on listing it, then stops listing everything. Returns how many hosts of its next publish,
 * one new service, are refused.
 */
function pin(t: Test, sm: StateMachine, victim: string, joiners: readonly string[]): number {
  for (const [i, joiner] of joiners.entries()) {
    const set = names(`${victim}-set${i}-`, PER_PUBLISH);
    t.equal(publish(sm, victim, set), 0, `${victim} creates set ${i}`);
    t.equal(publish(sm, joiner, set), 0, `${joiner} joins set ${i}`);
  }
  publish(sm, victim, []);
  return publish(sm, victim, ['fresh']);
}

void t.test('the pin: services another certificate joined and keeps listing stay charged to their creator at 0.8, to their listers from 0.9', async (t) => {
  t.equal(LISTER_SHARE_VERSION, '0.9');
  const joiners = ['b0', 'b1', 'b2', 'b3'];
  const old = meshAt('0.8', ['a', ...joiners]);
  t.equal(pin(t, old, 'a', joiners), 1, 'at 0.8 the creator is refused a new service');
  t.match(refusals(old).at(-1), { service: 'fresh', agent: 'a', reason: /^agent "a" holds 1024 services by its publishes/ });
  // Nothing expires (the joiners list them), so hours later it is still pinned.
  t.same(old.view(meshKind).unlistedPublished('declarations'), []);
  t.equal(publish(old, 'a', ['fresh'], T0 + 5 * HOUR), 1, 'and still five hours on');

  const sm = meshAt('0.9', ['a', ...joiners]);
  t.equal(pin(t, sm, 'a', joiners), 0, 'from 0.9 the creator creates again at once');
  t.ok(svcOf(sm, 'fresh')?.status.vip, 'with a VIP');
  t.equal(held(sm, 'a'), 1, 'it holds what it lists, no more');
  for (const b of joiners) t.equal(held(sm, b), PER_PUBLISH, `${b} pays for the 256 it lists`);
  t.same(sm.view(meshKind).unlistedPublished('endpoints'), [], 'none of the joined services is unlisted');
});

void t.test('laundering: two certificates creating, joining each other and leaving hold at most 2 x 1,024 VIPs, however long they go on', async (t) => {
  for (const version of ['0.8', '0.9']) {
    const sm = meshAt(version, ['x', 'y']);
    let refused = 0;
    let most = 0;
    for (let round = 0; round < 24; round++) {
      const [creator, joiner] = round % 2 === 0 ? ['x', 'y'] : ['y', 'x'];
      const at = T0 + round * 5 * MINUTE;
      const fresh = names(`r${round}-`, PER_PUBLISH);
      // The creator lists only new names (leaving what it listed), the other joins them and leaves its own.
      refused += publish(sm, creator, fresh, at);
      refused += publish(sm, joiner, fresh, at);
      // The leader expires whatever no agent lists (their VIPs go into quarantine, still charged).
      run(sm, report(at, { expireServices: sm.view(meshKind).unlistedPublished(version === '0.9' ? 'endpoints' : 'declarations') }));
      most = Math.max(most, vipsHeld(sm));
      t.ok(held(sm, 'x', at) <= MAX_SERVICES_PER_AGENT && held(sm, 'y', at) <= MAX_SERVICES_PER_AGENT, `${version} round ${round}: each within its share (${held(sm, 'x', at)}, ${held(sm, 'y', at)})`);
      t.ok(vipsHeld(sm) <= held(sm, 'x', at) + held(sm, 'y', at), `${version} round ${round}: every VIP they hold is charged to one of them`);
    }
    t.ok(refused > 0, `${version}: refused once the shares are full (${refused} hosts)`);
    t.ok(most <= 2 * MAX_SERVICES_PER_AGENT, `${version}: at most ${2 * MAX_SERVICES_PER_AGENT} VIPs held at once (${most})`);
  }
});

void t.test("from 0.9 a join past the bound is refused as a creation is, audited saying so; at 0.8 it goes through", async (t) => {
  for (const version of ['0.8', '0.9']) {
    const sm = meshAt(version, ['a', 'c']);
    // a fills its share with its own services: three sets unlisted (within the grace), the fourth listed.
    const sets = [0, 1, 2, 3].map((i) => names(`s${i}-`, PER_PUBLISH));
    for (const set of sets) t.equal(publish(sm, 'a', set), 0);
    t.equal(held(sm, 'a'), MAX_SERVICES_PER_AGENT, `${version}: a holds ${MAX_SERVICES_PER_AGENT}`);
    t.equal(publish(sm, 'c', ['web']), 0, "c's own service");
    const joining = [...sets[3]!.slice(1), 'web'];
    if (version === '0.8') {
      t.equal(publish(sm, 'a', joining), 0, 'at 0.8 joins are not counted');
      t.same(svcOf(sm, 'web')?.status.endpoints?.map((e) => e.agent), ['a', 'c']);
      continue;
    }
    t.equal(publish(sm, 'a', joining), 1, 'the join is refused');
    t.same(svcOf(sm, 'web')?.status.endpoints?.map((e) => e.agent), ['c'], 'a is not an endpoint');
    t.match(refusals(sm).at(-1), { service: 'web', agent: 'a', reason: /^agent "a" holds 1024 services by its publishes \(those it lists, created or joined, .*at most 1024: joining an agents' service is refused/ });
    t.equal(publish(sm, 'a', ['brand-new']), 1);
    t.match(refusals(sm).at(-1), { service: 'brand-new', reason: /at most 1024: creating a new service is refused/ });
    // Listing again a service it is charged for is no new charge: a rolling change keeps its VIP.
    const vip = svcOf(sm, sets[0]![0]!)?.status.vip;
    t.equal(publish(sm, 'a', [sets[0]![0]!]), 0, 'an unlisted service of its own is listed again');
    t.equal(svcOf(sm, sets[0]![0]!)?.status.vip, vip);
    t.equal(held(sm, 'a'), MAX_SERVICES_PER_AGENT, 'still at the bound, not past it');
    // An operator's service the agent is allowed to serve is not counted.
    t.ok(run(sm, apply(T0, service('ops', 'http', [80], { [ALLOWED_AGENTS_LABEL]: 'a' }))).ok);
    t.equal(publish(sm, 'a', [sets[0]![0]!, 'ops']), 0, "joining an operator's service is never refused for the share");
    // Leaving a service others list frees its place at once: the join goes through.
    t.equal(publish(sm, 'c', ['web', sets[0]![0]!]), 0, 'c joins the service a lists');
    t.equal(publish(sm, 'a', ['web']), 0, 'a leaves it (c pays on) and joins web in the same publish');
    t.same(svcOf(sm, 'web')?.status.endpoints?.map((e) => e.agent), ['a', 'c']);
    t.equal(held(sm, 'a'), MAX_SERVICES_PER_AGENT);
  }
});

void t.test('from 0.9 the last lister pays through the grace and the quarantine, also when forgotten; at 0.8 the creator does', async (t) => {
  for (const version of ['0.8', '0.9']) {
    const sm = meshAt(version, ['a', 'b']);
    t.equal(publish(sm, 'a', ['s']), 0);
    const vip = svcOf(sm, 's')!.status.vip!;
    t.equal(publish(sm, 'b', ['s']), 0);
    t.equal(publish(sm, 'a', []), 0, 'a stops listing s');
    t.equal(held(sm, 'a'), version === '0.9' ? 0 : 1, `${version}: a released while b lists it`);
    t.equal(publish(sm, 'b', []), 0, 'b stops listing s: no agent lists it');
    const payer = version === '0.9' ? 'b' : 'a';
    t.equal(sm.view(meshKind).unlistedPayer('s'), payer, `${version}: charged to ${payer} through the grace`);
    t.equal(held(sm, payer), 1);
    t.equal(outcome(run(sm, report(T0 + 11 * MINUTE, { expireServices: ['s'] }))).servicesExpired, 1);
    t.equal(held(sm, payer, T0 + 11 * MINUTE), 1, 'and through the quarantine');
    t.ok(Buffer.from(sm.snapshot()).toString().includes(`["${vip}",${T0 + 11 * MINUTE},"${payer}"]`), 'the quarantine entry names it');
    t.equal(held(sm, payer, T0 + 11 * MINUTE + HOUR), 0, 'until the quarantine ends');
  }
  // Forgotten while the last lister: charged as a leave is.
  const sm = meshAt('0.9', ['a', 'b']);
  publish(sm, 'a', ['s']);
  publish(sm, 'b', ['s']);
  publish(sm, 'a', []);
  run(sm, offline('b', 'b-s1'));
  run(sm, forgetRecord('b', 'b-s1'));
  t.equal(outcome(run(sm, report(T0, { forget: ['b'] }))).forgotten, 1);
  t.same(svcOf(sm, 's')?.status.endpoints ?? [], [], 'no endpoint left');
  t.equal(sm.view(meshKind).unlistedPayer('s'), 'b', 'charged to the forgotten last lister');
  t.equal(held(sm, 'a'), 0);
  // An operator's delete of a service still listed charges its quarantine to its first lister.
  publish(sm, 'a', ['t']);
  run(sm, claim('c', 'c-s1'));
  publish(sm, 'c', ['t']);
  t.ok(run(sm, del(T0, 'service', 't')).ok);
  t.equal(held(sm, 'a'), 1, "the quarantine of t's VIP is a's (first by id)");
  t.equal(held(sm, 'c'), 0);
});

void t.test('from 0.9 only endpoints keep an agents\' service: a refused listing no longer keeps it charged to the last lister for good', async (t) => {
  for (const version of ['0.8', '0.9']) {
    const sm = meshAt(version, ['a', 'b']);
    publish(sm, 'a', ['s']);
    // b lists s with another spec: refused, but its declaration names s.
    t.equal(outcome(run(sm, report(T0, { publish: [publishOf('b', 'b-s1', [host('s', 'tcp', [9000])])] }))).refused, 1);
    publish(sm, 'a', []);
    const keptBy = keptByFor(shareRuleOf(sm.view(clusterKind)));
    if (version === '0.8') {
      t.same(sm.view(meshKind).unlistedPublished(keptBy), [], "at 0.8 b's refused listing keeps s, charged to a");
      t.equal(outcome(run(sm, report(T0 + 11 * MINUTE, { expireServices: ['s'] }))).servicesExpired, 0);
      continue;
    }
    t.same(sm.view(meshKind).unlistedPublished(keptBy), ['s'], 'from 0.9 s is unlisted: no endpoint');
    t.equal(outcome(run(sm, report(T0 + 11 * MINUTE, { expireServices: ['s'] }))).servicesExpired, 1, 'and expires after the grace');
    t.equal(held(sm, 'a', T0 + 11 * MINUTE + HOUR), 0, "a's charge ends with the quarantine");
  }
});

void t.test('the raise from 0.8 to 0.9: creators recorded at 0.8 give way to the listers at once; snapshots round-trip on both sides of it', async (t) => {
  const live = meshAt('0.8', ['a', 'b']);
  const set = names('s-', 10);
  publish(live, 'a', set);
  publish(live, 'b', set.slice(0, 5));
  publish(live, 'a', set.slice(5));
  publish(live, 'b', []);
  t.equal(held(live, 'a'), 10, 'at 0.8: a created all ten');
  t.equal(held(live, 'b'), 0);
  // Before the raise: a replica restored from the 0.8 snapshot raises and decides alike.
  const before = new StateMachine();
  before.restore(live.snapshot());
  t.same(before.snapshot(), live.snapshot());
  for (const sm of [live, before]) run(sm, clusterVersion(LISTER_SHARE_VERSION));
  t.same(before.snapshot(), live.snapshot(), 'the raise changes no state');
  t.equal(held(live, 'a'), 10, 'a lists five, and is the last lister of five b left at 0.8 (charged to a, their creator, then)');
  t.equal(held(live, 'b'), 0);
  const steps = [
    report(T0, { publish: [publishOf('b', 'b-s1', hosts(set.slice(5)))] }),
    report(T0, { publish: [publishOf('a', 'a-s1', [])] }),
    report(T0 + 11 * MINUTE, { expireServices: set.slice(0, 5) }),
  ];
  for (const step of steps) t.same(outcome(run(before, step)), outcome(run(live, step)));
  t.same(before.snapshot(), live.snapshot(), 'the same state after entries under the new rule');
  t.equal(held(live, 'a', T0 + 11 * MINUTE), 5, 'a: the five expired, quarantined');
  t.equal(held(live, 'b', T0 + 11 * MINUTE), 5, 'b: the five it joined');
  // After the raise: a replica restored from the 0.9 snapshot counts and decides alike.
  const after = new StateMachine();
  after.restore(live.snapshot());
  t.same(after.snapshot(), live.snapshot());
  for (const agent of ['a', 'b']) t.equal(held(after, agent, T0 + 11 * MINUTE), held(live, agent, T0 + 11 * MINUTE), `${agent} holds the same`);
  const next = report(T0 + 12 * MINUTE, { publish: [publishOf('b', 'b-s1', [])] });
  t.same(outcome(run(after, next)), outcome(run(live, next)));
  t.same(after.snapshot(), live.snapshot(), 'and the same state after');
  t.equal(held(after, 'b', T0 + 12 * MINUTE), 5, 'b, their last lister, pays on');
  const fields = Object.keys(meshSnapshot(live)).sort();
  t.same(fields, ['agents', 'allocator', 'clock', 'lastChange', 'published', 'publishers', 'resources', 'transitionSeq'], "no field 0.8's reader does not know");
});
