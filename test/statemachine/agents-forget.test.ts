/** Forgetting agents: the agents kind's `forget` entry and the mesh report's `forget`, each behind the cluster version. */
import t from 'tap';
import { StateMachine, agentsKind, encodeCommand, meshKind, validateReport, type AgentsReportOutcome, type ApplyResult } from '../../src/statemachine/index.js';
import { claim, cluster, clusterVersion, forgetRecord, host, offline, outcome, publishOf, report, run, svcOf } from './mesh-helpers.js';

const T0 = 1_700_000_000_000;

const applied = (r: ApplyResult): AgentsReportOutcome => {
  if (!r.ok) throw new Error(`report failed: ${r.message}`);
  return r.value as AgentsReportOutcome;
};

/** A cluster at the forget level with agents `ids` connected (stream `${id}-s1`). */
function withAgents(version: string | null, ...ids: string[]): StateMachine {
  const sm = cluster();
  if (version !== null) run(sm, clusterVersion(version));
  for (const id of ids) run(sm, claim(id, `${id}-s1`));
  return sm;
}

void t.test('a forget entry parses strictly', async (t) => {
  t.match(validateReport('c1', [{ op: 'forget', id: 'a1', session: 's1', reason: 'gone' }]).entries, [{ op: 'forget', id: 'a1', session: 's1', reason: 'gone' }]);
  t.throws(() => validateReport('c1', [{ op: 'forget', id: 'a1', session: 's1', reason: 'gone', pushes: 1 }]), /pushes/, 'no pushes: a forgotten record counts nothing');
  t.throws(() => validateReport('c1', [{ op: 'forget', id: 'a1', session: 's1', reason: '' }]), /reason/, 'a forget says why');
  t.throws(() => validateReport('c1', [{ op: 'forget', id: '../x', session: 's1', reason: 'gone' }]), /id/);
});

void t.test('an offline record on the named stream is forgotten, and the transition says why', async (t) => {
  const sm = withAgents('0.2', 'a1', 'a2');
  run(sm, offline('a1', 'a1-s1'));
  const before = sm.revision();
  t.same(applied(run(sm, forgetRecord('a1', 'a1-s1', 'offline for more than 1h'))), { applied: 1, ignored: 0 });
  const agents = sm.view(agentsKind);
  t.equal(agents.get('a1'), null);
  t.same(agents.list().map((r) => r.id), ['a2'], 'the sorted list follows');
  t.equal(agents.size, 1);
  t.equal(sm.revision(), before, 'records never advance the revision');
  const last = agents.transitionsSince(0).items.at(-1);
  t.match(last, { type: 'forgotten', id: 'a1', controller: 'c1', reason: 'offline for more than 1h' });
  t.same(applied(run(sm, forgetRecord('a1', 'a1-s1'))), { applied: 0, ignored: 1 }, 'a repeat finds nothing');
});

void t.test('a forget changes nothing when the agent is online or on another stream', async (t) => {
  const sm = withAgents('0.2', 'a1');
  t.same(applied(run(sm, forgetRecord('a1', 'a1-s1'))), { applied: 0, ignored: 1 }, 'online: kept');
  run(sm, offline('a1', 'a1-s1'));
  run(sm, claim('a1', 'a1-s2', 2));
  run(sm, offline('a1', 'a1-s2'));
  t.same(applied(run(sm, forgetRecord('a1', 'a1-s1'))), { applied: 0, ignored: 1 }, 'the agent came back on a new stream since: kept');
  t.match(sm.view(agentsKind).get('a1'), { online: false, session: 'a1-s2' });
});

void t.test('below the forget level a forget is ignored on every replica alike', async (t) => {
  const sm = withAgents(null, 'a1');
  run(sm, offline('a1', 'a1-s1'));
  t.same(applied(run(sm, forgetRecord('a1', 'a1-s1'))), { applied: 0, ignored: 1 });
  t.not(sm.view(agentsKind).get('a1'), null);
  run(sm, clusterVersion('0.2'));
  t.same(applied(run(sm, forgetRecord('a1', 'a1-s1'))), { applied: 1, ignored: 0 }, 'the same entry applies once the level is reached');
});

void t.test('a forgotten agent that returns starts a fresh record', async (t) => {
  const sm = withAgents('0.2', 'a1');
  run(sm, offline('a1', 'a1-s1'));
  run(sm, forgetRecord('a1', 'a1-s1'));
  run(sm, claim('a1', 'a1-s9', 9));
  t.match(sm.view(agentsKind).get('a1'), { online: true, session: 'a1-s9', pushes: 0 });
  const status = sm.view(agentsKind).transitionsSince(0).items.filter((x) => x.type === 'status').map((x) => (x.type === 'status' ? `${x.from}->${x.to}` : ''));
  t.same(status, ['null->online', 'online->offline', 'null->online'], 'its return is a first connect again');
});

void t.test('the snapshot holds no forgotten record', async (t) => {
  const sm = withAgents('0.2', 'a1', 'a2');
  run(sm, offline('a1', 'a1-s1'));
  run(sm, forgetRecord('a1', 'a1-s1'));
  const copy = new StateMachine();
  copy.restore(sm.snapshot());
  t.same(copy.view(agentsKind).list().map((r) => r.id), ['a2']);
  t.same(Buffer.from(copy.snapshot()), Buffer.from(sm.snapshot()), 'byte-identical');
});

/** An agent that published service `web` and went offline: its endpoint is there, unhealthy. */
function publishedThenOffline(version: string | null): StateMachine {
  const sm = withAgents(version, 'a1', 'a2');
  outcome(run(sm, report(T0, { publish: [publishOf('a1', 'a1-s1', [host('web')]), publishOf('a2', 'a2-s1', [host('web')])] })));
  run(sm, offline('a1', 'a1-s1'));
  run(sm, report(T0 + 1, { health: ['a1'] }));
  return sm;
}

void t.test('the mesh forgets an agent without a record: endpoints leave, the declaration goes', async (t) => {
  const sm = publishedThenOffline('0.2');
  t.same(svcOf(sm, 'web')?.status.endpoints, [{ agent: 'a1', healthy: false }, { agent: 'a2', healthy: true }]);
  t.equal(outcome(run(sm, report(T0 + 2, { forget: ['a1'] }))).forgotten, 0, 'a1 still has its record: nothing goes');
  t.not(sm.view(meshKind).declaration('a1'), null);
  run(sm, forgetRecord('a1', 'a1-s1'));
  const rev = sm.revision();
  t.equal(outcome(run(sm, report(T0 + 3, { forget: ['a1'] }))).forgotten, 1);
  t.same(svcOf(sm, 'web')?.status.endpoints, [{ agent: 'a2', healthy: true }], "a2's endpoint stays");
  t.equal(sm.view(meshKind).declaration('a1'), null);
  t.same(sm.view(meshKind).declaredAgents(), ['a2']);
  t.same(sm.view(meshKind).endpointAgents(), ['a2']);
  t.equal(sm.revision(), rev + 1, "the service's endpoints changed: one revision, for the agents that receive it");
  t.match(sm.view(meshKind).transitionsSince(0).items.at(-1), { type: 'declaration.forgotten', agent: 'a1', endpoints: ['web'] });
  t.equal(outcome(run(sm, report(T0 + 4, { forget: ['a1'] }))).forgotten, 0, 'a repeat changes nothing');
  t.equal(sm.revision(), rev + 1);
});

void t.test('below the forget level the mesh keeps a declaration without a record', async (t) => {
  // A usage report opens a declaration for an agent the agents kind does not record.
  const sm = cluster();
  run(sm, report(T0, { usage: [{ agent: 'ghost', missed: ['db'], used: [] }] }));
  t.not(sm.view(meshKind).declaration('ghost'), null);
  t.equal(outcome(run(sm, report(T0 + 1, { forget: ['ghost'] }))).forgotten, 0, 'at 0.1: kept');
  t.not(sm.view(meshKind).declaration('ghost'), null);
  run(sm, clusterVersion('0.2'));
  t.equal(outcome(run(sm, report(T0 + 2, { forget: ['ghost'] }))).forgotten, 1, 'at 0.2: gone');
  t.equal(sm.view(meshKind).declaration('ghost'), null);
});

void t.test('a report carries `forget` only when it holds something, and checks each id', async (t) => {
  const sm = cluster();
  const r = sm.apply(sm.appliedIndex + 1, encodeCommand({ kind: 'mesh', op: 'report', controller: 'c1', publish: [], usage: [], health: [], expire: false, forget: ['bad id'], at: T0 }));
  t.match(r, { ok: false, code: 'INVALID', message: /forget\[0\]/ });
  const empty = sm.apply(sm.appliedIndex + 1, encodeCommand({ kind: 'mesh', op: 'report', controller: 'c1', publish: [], usage: [], health: [], expire: false, forget: [], at: T0 }));
  t.match(empty, { ok: true });
});
