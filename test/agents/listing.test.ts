/** `list agents` rows: reconciled online, the serving controller, states from the records. */
import t from 'tap';
import { agentRows, AGENT_FIELDS } from '../../src/agents/listing.js';
import { decodeAgentRow } from '../../src/api/mesh-client.js';
import { agentState } from '../../src/agents/push-tracker.js';
import type { AgentDeclarationView, AgentRecord } from '../../src/statemachine/index.js';
import type { PublishStanding } from '../../src/agents/types.js';

const rec = (over: Partial<AgentRecord>): AgentRecord => ({
  id: 'a1',
  online: true,
  controller: 'c1',
  session: 's1',
  epoch: { boot: 'b', seq: 1 },
  statusReason: 'connected to c1',
  pushes: 2,
  timeoutMs: 2100,
  protocols: ['http'],
  lazy: false,
  dependencies: ['db'],
  hosts: ['web'],
  sentVersion: 5,
  ackedVersion: 5,
  nackedVersion: null,
  lastError: null,
  resources: 3,
  ...over,
});

const rows = (
  records: AgentRecord[],
  online: Record<string, boolean>,
  live: Record<string, { controller: string; session: string; departing?: boolean; publish?: PublishStanding | null }[]> = {},
  silent: Record<string, number> = {},
  answered: string[] = Object.values(live).flatMap((ls) => ls.map((l) => l.controller)),
  declarations: Record<string, AgentDeclarationView> = {},
) =>
  agentRows({
    records,
    wantedVersion: () => 5,
    controller: (id) => ({ online: online[id] ?? false, silentMs: online[id] === true ? 0 : (silent[id] ?? null) }),
    graceMs: (timeout) => timeout / 2,
    live: new Map(Object.entries(live).map(([id, ls]) => [id, ls.map((l) => ({ id, departing: false, publish: null, ...l, lastContactMs: 12, heartbeatTimeoutMs: 2050 }))])),
    answered: new Set(answered),
    declaration: (id) => declarations[id] ?? null,
  });

void t.test('online follows the committed record while its controller is heard from', async (t) => {
  const [r] = rows([rec({})], { c1: true }, { a1: [{ controller: 'c1', session: 's1' }] });
  t.match(r, { online: true, controller: 'c1', state: 'SYNCED', lastContactMs: 12, heartbeatTimeoutMs: 2050 });
  t.same(Object.keys(r!), [...AGENT_FIELDS], "the contract's fields in order");
});

void t.test('an agent whose controller died shows online on its new controller before its claim commits', async (t) => {
  const [r] = rows([rec({})], { c1: false, c2: true }, { a1: [{ controller: 'c2', session: 's2' }] });
  t.match(r, { online: true, controller: 'c2' });
});

void t.test('an agent whose controller went silent has its timeout plus grace to show up elsewhere', async (t) => {
  const [moving] = rows([rec({})], { c1: false, c2: true }, {}, { c1: 3000 });
  t.equal(moving?.online, true, 'silent 3000 ms of 2100 + 1050: still moving, not an outage');
  const [gone] = rows([rec({})], { c1: false, c2: true }, {}, { c1: 3200 });
  t.match(gone, { online: false, controller: 'c1', lastContactMs: null, heartbeatTimeoutMs: 2100 });
});

void t.test('a stream on a controller nobody hears from does not make an agent online', async (t) => {
  const [r] = rows([rec({ online: false })], { c1: false }, { a1: [{ controller: 'c1', session: 's9' }] });
  t.equal(r?.online, false);
});

void t.test('states from the recorded versions against the version the cluster has', async (t) => {
  const f = { sentVersion: 5, ackedVersion: 5, nackedVersion: null, lastError: null, resources: 1 };
  t.equal(agentState(f, 5), 'SYNCED');
  t.equal(agentState({ ...f, ackedVersion: 4 }, 5), 'STALE');
  t.equal(agentState({ ...f, ackedVersion: 4, nackedVersion: 5, lastError: 'x' }, 5), 'NACKED');
  t.equal(agentState({ ...f, sentVersion: null, ackedVersion: null }, 5), 'NOT_SENT');
  t.equal(agentState(f, 6), 'NOT_SENT', 'a newer version not sent yet');
  t.equal(agentState({ ...f, sentVersion: null }, 5), 'SYNCED', 'reconnected holding the current version');
});

void t.test('the serving controller answers for its agent: there, in its grace, or gone before the record says so', async (t) => {
  const [departing] = rows([rec({})], { c1: true }, { a1: [{ controller: 'c1', session: 's1', departing: true }] });
  t.match(departing, { online: true, lastContactMs: null }, 'within its grace: not an outage');
  const [gone] = rows([rec({})], { c1: true }, {}, {}, ['c1']);
  t.equal(gone?.online, false, 'c1 answered without it: gone, though the disconnect is not committed yet');
  const [unknown] = rows([rec({})], { c1: true }, {}, {}, []);
  t.equal(unknown?.online, true, 'c1 did not answer: the record and its health decide');
});

void t.test('dependencies are the static ones and those observed, as one sorted list; publishes are counted', async (t) => {
  const observed = new Map([['cache', { since: 1, lastUsed: 1, expiring: false }], ['auth', { since: 1, lastUsed: 1, expiring: true }]]);
  const decl: AgentDeclarationView = { agent: 'a1', lazy: true, hosts: [], dependencies: ['db'], observed, observedNames: ['auth', 'cache'], revision: 5, publishWrites: 3, publishRevisions: 1, refused: new Map() };
  const [r] = rows([rec({ dependencies: ['db'] })], { c1: true }, { a1: [{ controller: 'c1', session: 's1' }] }, {}, ['c1'], { a1: decl });
  t.match(r, { dependencies: ['auth', 'cache', 'db'], publishWrites: 3, publishRevisions: 1 });
  const [none] = rows([rec({})], { c1: true });
  t.match(none, { publishWrites: 0, publishRevisions: 0 });
});

void t.test("what is refused of an agent's publish comes from the row of the stream the record names; null when no controller says", async (t) => {
  const said: PublishStanding = { refusedHosts: [{ name: 'web', reason: 'range exhausted: no virtual IP is free in services.vip_cidr' }], held: null };
  const [served] = rows([rec({})], { c1: true, c2: true }, { a1: [{ controller: 'c2', session: 'old', publish: { refusedHosts: [], held: null } }, { controller: 'c1', session: 's1', publish: said }] });
  t.same(served!.publish, said, "the current session's word, not an older stream's");
  const [unsaid] = rows([rec({})], { c1: true }, {});
  t.equal(unsaid!.publish, null, 'no live row: nothing said');
});

void t.test("ctl's decoder takes a row as listed, and leaves out fields a newer controller added", async (t) => {
  const [r] = rows([rec({})], { c1: true }, { a1: [{ controller: 'c1', session: 's1' }] });
  const wire = JSON.parse(JSON.stringify(r)) as Record<string, unknown>;
  t.same(decodeAgentRow(wire, 0), r, 'the row round-trips through its JSON');
  t.same(decodeAgentRow({ ...wire, endpointsHeld: true }, 0), r, 'an unknown field is left out, not refused');
  t.throws(() => decodeAgentRow({ ...wire, state: 'MAYBE' }, 0), /state/, 'a known field is still checked');
});
