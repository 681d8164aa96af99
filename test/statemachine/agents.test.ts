import t from 'tap';
import {
  StateMachine,
  agentsKind,
  cutError,
  encodeCommand,
  type AgentReportEntry,
  type AgentSyncFields,
  type ApplyResult,
} from '../../src/statemachine/index.js';

const info = { protocols: ['http'], lazy: false, dependencies: [], hosts: [] };
const none: AgentSyncFields = { sentVersion: null, ackedVersion: null, nackedVersion: null, lastError: null, resources: 0 };

function report(sm: StateMachine, controller: string, ...entries: AgentReportEntry[]): ApplyResult {
  return sm.apply(sm.appliedIndex + 1, encodeCommand({ kind: 'agents', op: 'report', controller, entries }));
}
const connect = (id: string, session: string, seq = 1, boot = 'b1', pushes = 0, sync = none): AgentReportEntry => ({
  op: 'connect',
  id,
  session,
  epoch: { boot, seq },
  info,
  sync,
  timeoutMs: 2000,
  pushes,
});
const sync = (id: string, session: string, fields: Partial<AgentSyncFields>, pushes = 0): AgentReportEntry => ({
  op: 'sync',
  id,
  session,
  sync: { ...none, ...fields },
  timeoutMs: 2100,
  pushes,
});
const disconnect = (id: string, session: string, reason = 'stream closed', pushes = 0): AgentReportEntry => ({ op: 'disconnect', id, session, reason, pushes });

void t.test('agent records never advance the cluster revision', async (t) => {
  const sm = new StateMachine();
  sm.apply(1, encodeCommand({ kind: 'kv', op: 'put', key: 'k', value: 'v' }));
  t.match(report(sm, 'c1', connect('a1', 's1', 1, 'b1', 1, { ...none, sentVersion: 0 })), { ok: true, revision: 1 });
  t.match(report(sm, 'c1', sync('a1', 's1', { sentVersion: 0, ackedVersion: 0 })), { ok: true, revision: 1 });
  t.match(report(sm, 'c1', disconnect('a1', 's1')), { ok: true, revision: 1 });
  t.equal(sm.revision(), 1);
});

void t.test('a connect claims the agent; a move to another controller is no status change', async (t) => {
  const sm = new StateMachine();
  report(sm, 'c1', connect('a1', 's1', 1));
  const agents = sm.view(agentsKind);
  t.match(agents.get('a1'), { online: true, controller: 'c1', session: 's1', statusReason: 'connected to c1' });
  report(sm, 'c2', connect('a1', 's2', 2));
  t.match(agents.get('a1'), { online: true, controller: 'c2', session: 's2' });
  const status = agents.transitionsSince(0).items.filter((x) => x.type === 'status');
  t.same(
    status.map((x) => (x.type === 'status' ? `${x.from}->${x.to}@${x.controller}` : '')),
    ['null->online@c1'],
    'one transition: the first connect',
  );
});

void t.test('a controller the agent has left cannot take it offline or rewrite its versions', async (t) => {
  const sm = new StateMachine();
  report(sm, 'c1', connect('a1', 's1', 1));
  report(sm, 'c2', connect('a1', 's2', 2));
  t.match(report(sm, 'c1', sync('a1', 's1', { ackedVersion: 9 }, 1), ), { value: { applied: 0, ignored: 1 } });
  t.match(report(sm, 'c1', disconnect('a1', 's1', 'heartbeat timeout', 2)), { value: { applied: 0, ignored: 1 } });
  const a1 = sm.view(agentsKind).get('a1');
  t.match(a1, { online: true, controller: 'c2', ackedVersion: null });
  t.equal(a1?.pushes, 3, 'pushes count whatever stream sent them');
});

void t.test('a late claim from an older connection of the same process loses to the newer one', async (t) => {
  const sm = new StateMachine();
  report(sm, 'c2', connect('a1', 's2', 5));
  t.match(report(sm, 'c1', connect('a1', 's1', 4, 'b1', 1)), { value: { applied: 0, ignored: 1 } });
  t.match(sm.view(agentsKind).get('a1'), { controller: 'c2', session: 's2', pushes: 1 });
  // A restarted process (new boot) wins by order of commit.
  report(sm, 'c1', connect('a1', 's3', 1, 'b2'));
  t.match(sm.view(agentsKind).get('a1'), { controller: 'c1', session: 's3' });
});

void t.test('disconnect by the owning stream takes the agent offline and is logged once', async (t) => {
  const sm = new StateMachine();
  report(sm, 'c1', connect('a1', 's1'));
  report(sm, 'c1', disconnect('a1', 's1', 'heartbeat timeout 2230ms'));
  t.match(sm.view(agentsKind).get('a1'), { online: false, controller: 'c1', statusReason: 'heartbeat timeout 2230ms' });
  t.match(report(sm, 'c1', disconnect('a1', 's1')), { value: { applied: 0 } }, 'a repeat changes nothing');
  const items = sm.view(agentsKind).transitionsSince(2).items;
  t.same(items.map((x) => x.type === 'status' && `${x.from}->${x.to}`), ['online->offline']);
});

void t.test('a NACK is recorded once with its error; a later ACK clears it', async (t) => {
  const sm = new StateMachine();
  report(sm, 'c1', connect('a1', 's1', 1, 'b1', 1, { ...none, sentVersion: 3, ackedVersion: 3, resources: 2 }));
  report(sm, 'c1', sync('a1', 's1', { sentVersion: 4, ackedVersion: 3, nackedVersion: 4, lastError: 'protocol grpc unsupported', resources: 2 }, 1));
  report(sm, 'c1', sync('a1', 's1', { sentVersion: 4, ackedVersion: 3, nackedVersion: 4, lastError: 'protocol grpc unsupported', resources: 2 }));
  const nacks = sm.view(agentsKind).transitionsSince(0).items.filter((x) => x.type === 'nack');
  t.equal(nacks.length, 1);
  t.match(nacks[0], { id: 'a1', ackedVersion: 3, nackedVersion: 4, error: 'protocol grpc unsupported' });
  report(sm, 'c1', sync('a1', 's1', { sentVersion: 5, ackedVersion: 5, resources: 3 }, 1));
  t.match(sm.view(agentsKind).get('a1'), { ackedVersion: 5, nackedVersion: null, lastError: null, pushes: 3 });
});

void t.test('an endless NACK error is cut to a bounded record, marked, and the command refuses anything longer', async (t) => {
  const long = 'x'.repeat(100_000) + '\u{1F600}';
  const cut = cutError(long);
  t.ok(Buffer.byteLength(cut) <= 1024);
  t.match(cut, /\.\.\. \(100004 bytes, cut\)$/);
  const sm = new StateMachine();
  report(sm, 'c1', connect('a1', 's1'));
  t.match(report(sm, 'c1', sync('a1', 's1', { lastError: long, nackedVersion: 1 })), { ok: false, code: 'INVALID', message: /lastError" must be at most 1024 bytes/ });
  t.match(report(sm, 'c1', sync('a1', 's1', { lastError: cut, nackedVersion: 1 })), { ok: true });
});

void t.test('report entries are validated: ids, duplicates, sizes', async (t) => {
  const sm = new StateMachine();
  t.match(report(sm, 'c1', connect('bad id', 's1')), { ok: false, code: 'INVALID', message: /field "id" must be letters/ });
  t.match(report(sm, 'c1', connect('a1', 's1'), sync('a1', 's1', {})), { ok: false, message: /"a1" appears twice/ });
  t.equal(sm.view(agentsKind).size, 0);
});

void t.test('the transition log reports what a reader missed', async (t) => {
  const sm = new StateMachine();
  for (let i = 0; i < 9000; i++) report(sm, 'c1', connect(`a${i}`, 's'));
  const agents = sm.view(agentsKind);
  t.equal(agents.transitionSeq, 18000, 'a claim and a status change each');
  t.equal(agents.transitionsSince(0).missed, true);
  const recent = agents.transitionsSince(17990);
  t.equal(recent.missed, false);
  t.equal(recent.items.length, 10);
  t.equal(recent.items[0]?.seq, 17991);
});

void t.test('snapshots round-trip byte for byte; a restored log says it missed what came before', async (t) => {
  const sm = new StateMachine();
  report(sm, 'c1', connect('b', 's1'), connect('a', 's2', 1, 'b1', 2, { ...none, sentVersion: 1 }));
  report(sm, 'c1', disconnect('b', 's1'));
  const copy = new StateMachine();
  copy.restore(sm.snapshot());
  t.same(Buffer.from(copy.snapshot()), Buffer.from(sm.snapshot()));
  t.same(copy.view(agentsKind).get('a'), sm.view(agentsKind).get('a'));
  t.equal(copy.view(agentsKind).transitionsSince(0).missed, true);
  t.equal(copy.view(agentsKind).transitionsSince(5).missed, false);
});
