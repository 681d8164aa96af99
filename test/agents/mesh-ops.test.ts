/** The Mesh service's operations on a fake consensus: what reaches the log and what is answered. */
import t from 'tap';
import { meshOps, meshReportOutcome, meshReportRequest, reportRequest } from '../../src/api/mesh-ops.js';
import { kvOps } from '../../src/api/kv-ops.js';
import { onLeaderOf } from '../../src/api/on-leader.js';
import { ServiceFailure, toServiceFailure } from '../../src/api/service-error.js';
import { agentsKind, encodeCommand, meshKind } from '../../src/statemachine/index.js';
import { FakeConsensus } from '../api/fake-consensus.js';
import { MeshBound } from '../../src/api/mesh-bound.js';
import { claim, clusterVersion, host as hostOf, initSettings, publishOf, report, setSetting } from '../statemachine/mesh-helpers.js';

function setup(maxMeshBytes?: number) {
  const host = new FakeConsensus('c1', { leader: 'c1', voters: ['c1', 'c2', 'c3'] });
  const onLeader = onLeaderOf({ id: 'c1', host, addressOf: () => null, forwarder: { call: () => Promise.reject(new Error('no forwarding in this test')) } });
  const meshBound = maxMeshBytes === undefined ? undefined : new MeshBound(maxMeshBytes, () => host.sm.view(meshKind));
  const ops = meshOps({ host, stateMachine: host.sm, onLeader, isMember: (id) => ['c1', 'c2', 'c3'].includes(id), self: 'c1', ...(meshBound === undefined ? {} : { meshBound }) });
  return { host, ops, meshBound };
}
const file = (resources: unknown[]) => ({ resources: Buffer.from(JSON.stringify(resources)), clientId: 'ctl-1', clientSeq: 1, forwarded: false });
const web = { kind: 'service', name: 'web', spec: { protocol: 'http', ports: [80] } };
const deadline = () => Date.now() + 2000;
/** What the client sees: the code and message the service sends for the error. */
const answer = (p: Promise<unknown>): Promise<{ code: string; message: string }> =>
  p.then(
    () => ({ code: 'OK', message: '' }),
    (err: unknown) => {
      const f = toServiceFailure(err);
      return { code: f.code, message: f.message };
    },
  );

void t.test('a file that changes nothing writes nothing, not even a log entry, and answers the current revision', async (t) => {
  const { host, ops } = setup();
  const first = await ops.apply(file([web]), deadline());
  t.equal(first.revision, 1);
  t.equal(host.proposals.length, 1);
  const again = await ops.apply({ ...file([{ ...web, labels: {} }]), clientSeq: 2 }, deadline());
  t.equal(again.revision, 1);
  t.equal(host.proposals.length, 1, 'nothing proposed');
  t.same(JSON.parse(again.results.toString()), [{ kind: 'service', name: 'web', action: 'unchanged' }]);
  t.equal(host.readBarriers, 1, 'the unchanged answer came after a read barrier; the change was proposed without one');
});

void t.test('a file unchanged by a lagging leader\'s state is proposed once the barrier shows it changed since', async (t) => {
  const { host, ops } = setup();
  await ops.apply(file([web]), deadline());
  // What another leader committed meanwhile (web on port 81), which this one applies while its barrier waits.
  const elsewhere = setup();
  await elsewhere.ops.apply({ ...file([{ ...web, spec: { protocol: 'http', ports: [81] } }]), clientId: 'ctl-2' }, deadline());
  host.catchUpOnReadBarrier.push(elsewhere.host.proposals[0] as Uint8Array);
  const again = await ops.apply({ ...file([web]), clientSeq: 2 }, deadline());
  t.equal(host.readBarriers, 1, 'unchanged by the state applied here: the barrier first');
  t.equal(host.proposals.length, 2, 'changed by the state after the barrier: proposed');
  t.same(host.sm.view(meshKind).get('service', 'web')?.spec, { protocol: 'http', ports: [80] }, 'the file is what holds now');
  t.equal(again.revision, 3);
});

void t.test('a dangling reference is a failed precondition (exit 1), bad input an invalid argument (exit 2)', async (t) => {
  const { ops } = setup();
  await t.rejects(ops.apply(file([{ kind: 'route', name: 'r', spec: { from: 'a', to: 'b' } }]), deadline()), { code: 'FAILED_PRECONDITION', message: /route "r" names "a" and "b"/ });
  t.match(await answer(ops.apply(file([{ kind: 'service', name: 'Web', spec: { protocol: 'http' } }]), deadline())), { code: 'INVALID_ARGUMENT', message: /resources\[0\].*lower-case/ });
  await t.rejects(ops.apply({ ...file([]), resources: Buffer.from('not json') }, deadline()), { code: 'INVALID_ARGUMENT', message: /expected UTF-8 JSON/ });
  await t.rejects(ops.apply({ ...file([]), resources: Buffer.from('['.repeat(900_000)) }, deadline()), { code: 'INVALID_ARGUMENT', message: /expected JSON nested at most 64 levels deep/ });
  await t.rejects(ops.delete({ kind: 'service', name: 'nope', clientId: '', clientSeq: 0, forwarded: false }, deadline()), { code: 'NOT_FOUND' });
  await t.rejects(ops.get({ kind: 'gateway', name: '', serializable: true }, deadline()), ServiceFailure);
});

void t.test('agent reports come only from members and are checked before they are proposed', async (t) => {
  const { host, ops } = setup();
  await t.rejects(ops.report(reportRequest('intruder', [], { id: 'x', seq: 1 }), deadline()), { code: 'UNKNOWN_NODE' });
  t.match(await answer(ops.report({ ...reportRequest('c2', [], { id: 'x', seq: 1 }), entries: Buffer.from('[{"op":"connect"}]') }, deadline())), { code: 'INVALID_ARGUMENT', message: /entries\[0\]/ });
  t.equal(host.proposals.length, 0);
  const entry = { op: 'disconnect' as const, id: 'a1', session: 's', reason: 'gone', pushes: 2 };
  t.same(await ops.report(reportRequest('c2', [entry], { id: 'x', seq: 1 }), deadline()), { applied: 0 });
  t.same(await ops.report(reportRequest('c2', [entry], { id: 'x', seq: 1 }), deadline()), { applied: 0 }, 'a retry (same seq) is applied once');
  t.equal(host.sm.view(agentsKind).size, 0);
});

void t.test("a follower forwards a report's bytes as they came: parsed, checked and encoded only on the leader", async (t) => {
  const host = new FakeConsensus('c2', { leader: 'c1', voters: ['c1', 'c2', 'c3'] });
  const forwarded: { method: string; request: unknown }[] = [];
  const forwarder = {
    call: <Res>(_address: string, method: string, request: object): Promise<Res> => {
      forwarded.push({ method, request });
      return Promise.reject(new ServiceFailure('INVALID_ARGUMENT', 'the leader refused it'));
    },
  };
  const onLeader = onLeaderOf({ id: 'c2', host, addressOf: () => 'c1:1', forwarder });
  const ops = meshOps({ host, stateMachine: host.sm, onLeader, isMember: (id) => ['c1', 'c2', 'c3'].includes(id), self: 'c2' });
  const bad = { ...reportRequest('c2', [], { id: 'x', seq: 1 }), entries: Buffer.from('[{"op":"connect"}]') };
  t.match(await answer(ops.report(bad, deadline())), { code: 'INVALID_ARGUMENT', message: /the leader refused it/ }, "the leader's answer, not the follower's own check");
  t.equal(forwarded.length, 1);
  t.equal(forwarded[0]!.method, 'ReportAgents');
  t.equal(forwarded[0]!.request, bad, 'the request itself, its bytes untouched');
  t.equal(host.proposals.length, 0);
});

void t.test('mesh reports come only from members, as a report of their own, and the leader stamps its clock', async (t) => {
  const { host, ops } = setup();
  const body = { kind: 'mesh', op: 'report', controller: 'c2', publish: [], usage: [{ agent: 'a1', missed: ['db'], used: [] }], health: [], expire: false } as const;
  const req = meshReportRequest(body, { id: 'x', seq: 1 });
  await t.rejects(ops.reportMesh({ ...req, controller: 'intruder' }, deadline()), { code: 'UNKNOWN_NODE' });
  t.match(await answer(ops.reportMesh({ ...req, controller: 'c3' }, deadline())), { code: 'INVALID_ARGUMENT', message: /names controller "c2", sent by "c3"/ });
  t.match(await answer(ops.reportMesh({ ...req, report: Buffer.from(JSON.stringify({ ...body, at: 5 })) }, deadline())), { code: 'INVALID_ARGUMENT', message: /"at" is the leader's to stamp/ });
  t.match(await answer(ops.reportMesh({ ...req, report: Buffer.from(JSON.stringify({ kind: 'mesh', op: 'delete', type: 'service', name: 'web' })) }, deadline())), { code: 'INVALID_ARGUMENT', message: /expected op "report"/ });
  t.match(await answer(ops.reportMesh({ ...req, report: Buffer.from(JSON.stringify({ ...body, usage: [{ agent: 'a1', missed: ['Bad Name'] }] })) }, deadline())), { code: 'INVALID_ARGUMENT', message: /usage\[0\]\.missed\[0\]: expected a service name/ });
  t.equal(host.proposals.length, 0, 'nothing refused reaches the log');
  const before = Date.now();
  const res = await ops.reportMesh(req, deadline());
  t.match(meshReportOutcome(res), { observed: 1 });
  t.ok(host.sm.view(meshKind).clock >= before, 'log time is the leader\'s clock at the proposal');
  t.same(host.sm.view(meshKind).declaration('a1')?.observedNames, ['db']);
});

void t.test('apply and delete carry the leader\'s clock: a deleted service\'s quarantine starts then', async (t) => {
  const { host, ops } = setup();
  const before = Date.now();
  await ops.apply(file([web]), deadline());
  t.ok(host.sm.view(meshKind).clock >= before);
  const applied = host.sm.view(meshKind).clock;
  await ops.delete({ kind: 'service', name: 'web', clientId: 'ctl-1', clientSeq: 2, forwarded: false }, deadline());
  t.ok(host.sm.view(meshKind).clock >= applied);
  await ops.apply({ ...file([{ ...web, name: 'api' }]), clientSeq: 3 }, deadline());
  const api = host.sm.view(meshKind).get('service', 'api');
  t.equal(api?.kind === 'service' ? api.status.vip : null, '241.0.0.2', 'not the quarantined 241.0.0.1');
});

void t.test('ctl delete agent: an offline agent is forgotten; unknown, online and too-old clusters are refused with their cause', async (t) => {
  const { host, ops } = setup();
  const del = (id: string, seq: number) => ops.delete({ kind: 'agent', name: id, clientId: 'ctl-1', clientSeq: seq, forwarded: false }, deadline());
  const report = (...entries: unknown[]) => ops.report(reportRequest('c2', entries as never, { id: '', seq: 0 }), deadline());
  const connect = { op: 'connect', id: 'a1', session: 's1', epoch: { boot: 'b', seq: 1 }, info: { protocols: ['http'], lazy: false, dependencies: [], hosts: [] }, sync: { sentVersion: null, ackedVersion: null, nackedVersion: null, lastError: null, resources: 0 }, timeoutMs: 1000, pushes: 0 };
  await report(connect);
  t.match(await answer(del('a1', 1)), { code: 'FAILED_PRECONDITION', message: /cluster version is 0\.1; forgetting an agent needs 0\.2/ });
  await host.propose(encodeCommand({ kind: 'cluster', op: 'set-version', version: '0.2' }));
  t.match(await answer(del('a1', 2)), { code: 'FAILED_PRECONDITION', message: /agent "a1" is online \(connected to c2\); only an offline agent can be forgotten/ });
  await report({ op: 'disconnect', id: 'a1', session: 's1', reason: 'closed', pushes: 0 });
  const proposed = host.proposals.length;
  t.match(await answer(del('a1', 3)), { code: 'OK' });
  t.equal(host.proposals.length, proposed + 1, 'one entry');
  t.equal(host.sm.view(agentsKind).get('a1'), null);
  t.match(host.sm.view(agentsKind).transitionsSince(0).items.at(-1), { type: 'forgotten', id: 'a1', controller: 'c1', reason: 'forgotten by an operator (ctl delete agent)' });
  t.match(await answer(del('a1', 4)), { code: 'NOT_FOUND', message: /agent "a1" not found/ }, 'a repeat: exit 4, as for any name that is not there');
  t.match(await answer(del('../etc', 5)), { code: 'INVALID_ARGUMENT', message: /invalid agent id/ });
  // The agent reconnects (and leaves again) between the leader's read and the forget's commit.
  await report({ ...connect, session: 's2', epoch: { boot: 'b', seq: 2 } });
  await report({ op: 'disconnect', id: 'a1', session: 's2', reason: 'closed', pushes: 0 });
  const propose = host.propose.bind(host);
  host.propose = async (data) => {
    host.propose = propose;
    await propose(encodeCommand({ kind: 'agents', op: 'report', controller: 'c3', entries: [{ ...connect, session: 's3', epoch: { boot: 'b', seq: 3 } }] }));
    return propose(data);
  };
  t.match(await answer(del('a1', 6)), { code: 'FAILED_PRECONDITION', message: /agent "a1" reconnected before the forget committed; its record is kept/ });
  t.match(host.sm.view(agentsKind).get('a1'), { online: true, session: 's3' });
  t.match(await answer(ops.delete({ kind: 'gateway', name: 'x', clientId: '', clientSeq: 0, forwarded: false }, deadline())), { code: 'INVALID_ARGUMENT', message: /kind must be service, route or agent/ });
});

void t.test("the controllers' report client ids are theirs: the client API refuses them, and a report refused as stale says so", async (t) => {
  const { host, ops } = setup();
  const kv = kvOps(host, host.sm, onLeaderOf({ id: 'c1', host, addressOf: () => null, forwarder: { call: () => Promise.reject(new Error('no forwarding in this test')) } }));
  const attack = { key: 'x', value: Buffer.from('y'), hasIfRevision: false, ifRevision: 0, client: { id: 'agents/0123456789ab', seq: 2 ** 50 }, forwarded: false };
  t.match(await answer(kv.put(attack, deadline())), { code: 'INVALID_ARGUMENT', message: /ids starting with "agents\/" are the controllers' own/ }, 'a KV put');
  t.match(await answer(kv.delete({ key: 'x', hasIfRevision: false, ifRevision: 0, client: attack.client, forwarded: false }, deadline())), { code: 'INVALID_ARGUMENT' }, 'a KV delete');
  t.match(await answer(ops.apply({ ...file([web]), clientId: 'agents/0123456789ab/mesh' }, deadline())), { code: 'INVALID_ARGUMENT' }, 'an apply');
  t.match(await answer(ops.delete({ kind: 'service', name: 'web', clientId: 'agents/x', clientSeq: 9, forwarded: false }, deadline())), { code: 'INVALID_ARGUMENT' }, 'a delete');
  t.match(await answer(ops.delete({ kind: 'agent', name: 'edge', clientId: 'agents/x', clientSeq: 9, forwarded: false }, deadline())), { code: 'INVALID_ARGUMENT' }, 'a forget');
  t.equal(host.proposals.length, 0, 'none of them reached the log');
  t.match(await answer(kv.put({ ...attack, client: { id: 'my-agents/1', seq: 1 } }, deadline())), { code: 'OK' }, 'the prefix only at the start');

  // Had a client used the id anyway (a cluster from before the check), the report is refused as
  // STALE_REQUEST, which the reporting controller reads as "go on under a new id".
  await host.propose(encodeCommand({ kind: 'kv', op: 'put', key: 'x', value: 'y', client: { id: 'agents/old', seq: 2 ** 50 } }));
  t.match(await answer(ops.report(reportRequest('c2', [], { id: 'agents/old', seq: 1 }), deadline())), { code: 'STALE_REQUEST' });
});

void t.test('reads of an unchanged mesh share one answer; a change makes a new one', async (t) => {
  const { ops } = setup();
  await ops.apply(file([web, { kind: 'route', name: 'r', spec: { from: 'web', to: 'web' } }]), deadline());
  const read = (kind: string) => ops.get({ kind, name: '', serializable: true }, deadline());
  const [a, b] = await Promise.all([read('service'), read('service')]);
  t.equal(a.resources, b.resources, 'the same bytes, built once');
  t.same(JSON.parse((await read('route')).resources.toString()).map((r: { name: string }) => r.name), ['r'], 'per kind');
  await ops.apply({ ...file([{ ...web, spec: { protocol: 'http', ports: [81] } }]), clientSeq: 2 }, deadline());
  const c = await read('service');
  t.not(c.resources, a.resources);
  t.match(JSON.parse(c.resources.toString()), [{ name: 'web', spec: { ports: [81] } }]);
});

void t.test('controller.max_mesh_bytes: an apply that would grow the mesh past it is refused whole (NO_SPACE) before proposing; deletes and shrinking applies pass', async (t) => {
  const { host, ops, meshBound } = setup(4_096);
  const labelled = (name: string, size: number) => ({ kind: 'service', name, spec: { protocol: 'http', ports: [80] }, labels: { note: 'x'.repeat(size) } });
  await ops.apply(file([labelled('a', 200), labelled('b', 200)]), deadline());
  const mesh = host.sm.view(meshKind);
  const used = mesh.resourceBytes;
  t.equal(used, Buffer.byteLength(JSON.stringify(mesh.list())) + 1, 'the mesh counts its resources as their JSON (within a byte)');
  const proposals = host.proposals.length;
  const big = [labelled('c', 250), ...Array.from({ length: 12 }, (_, i) => labelled(`d${i}`, 250))];
  const refused = await answer(ops.apply({ ...file(big), clientSeq: 2 }, deadline()));
  t.equal(refused.code, 'NO_SPACE', 'refused NO_SPACE (exit 1)');
  t.match(refused.message, new RegExp(`^apply of 13 resources refused, nothing applied: the mesh would pass its bound \\(about ${used} bytes of controller\\.max_mesh_bytes 4096, and this adds \\d+\\); delete services or routes, or raise controller\\.max_mesh_bytes on every controller$`));
  t.equal(host.proposals.length, proposals, 'nothing proposed');
  t.equal(mesh.get('service', 'c'), null, 'nothing applied');
  t.equal(meshBound!.appliesRefused, 1, 'counted');
  await t.resolves(ops.apply({ ...file([labelled('a', 10)]), clientSeq: 3 }, deadline()), 'a shrinking apply passes');
  await t.resolves(ops.delete({ kind: 'service', name: 'b', clientId: 'ctl-1', clientSeq: 4, forwarded: false }, deadline()), 'a delete passes');
  await t.resolves(ops.apply({ ...file(big.slice(0, 6)), clientSeq: 5 }, deadline()), 'and with room made, growth that fits passes');
  t.ok(mesh.resourceBytes <= 4_096, `the mesh stays within its bound (${mesh.resourceBytes} bytes)`);
  t.equal(meshBound!.appliesRefused, 1);
});

void t.test('controller.max_mesh_bytes: the growth of applies proposed and not yet applied is reserved, so applies sent at once cannot all pass on the same room', async (t) => {
  const { host } = setup();
  const bound = new MeshBound(4_096, () => host.sm.view(meshKind));
  const labelled = (name: string) => ({ kind: 'service' as const, name, spec: { protocol: 'http', ports: [80] }, labels: { note: 'x'.repeat(2_000) } });
  let release: () => void = () => undefined;
  const held = new Promise<string>((resolve) => (release = () => resolve('applied')));
  const first = bound.guardApply([labelled('a')], () => held);
  const second = await answer(bound.guardApply([labelled('b')], () => Promise.resolve('applied')));
  t.equal(second.code, 'NO_SPACE', 'the second is refused while the first is in flight');
  t.match(second.message, /of controller\.max_mesh_bytes 4096, \d+ more proposed and not yet applied, and this adds \d+\)/);
  release();
  t.equal(await first, 'applied');
  t.equal(await bound.guardApply([labelled('b')], () => Promise.resolve('applied')), 'applied', 'once the first settled (here: applied nothing), its room is free again');
  t.equal(bound.appliesRefused, 1);
});

void t.test("from 0.7 an unchanged apply of an agents' service is proposed: only the log makes it the operator's", async (t) => {
  const { host, ops } = setup();
  await host.propose(encodeCommand(clusterVersion('0.7')));
  await host.propose(encodeCommand(claim('a1', 'a1-s1')));
  await host.propose(encodeCommand(report(1_700_000_000_000, { publish: [publishOf('a1', 'a1-s1', [hostOf('web')])] })));
  t.ok(host.sm.view(meshKind).publishedSpec('web'), "the agent's");
  const proposed = host.proposals.length;
  const r = await ops.apply(file([{ ...web, spec: { protocol: 'http', ports: [80] }, labels: {} }]), deadline());
  t.same(JSON.parse(r.results.toString()), [{ kind: 'service', name: 'web', action: 'unchanged' }]);
  t.equal(host.proposals.length, proposed + 1, 'proposed, not answered from the state');
  t.notOk(host.sm.view(meshKind).publishedSpec('web'), "the operator's now: never expired as an agents' service, no agent joins it unless allowed");
  t.same(host.sm.view(meshKind).unlistedPublished('declarations'), []);
  // The operator's service unchanged again: answered from the state, as ever.
  await ops.apply({ ...file([web]), clientSeq: 2 }, deadline());
  t.equal(host.proposals.length, proposed + 1, 'nothing proposed');
});

void t.test("with services.agent_publish declared an unchanged apply of an operator's service that keeps an endpoint its label does not allow is proposed: it takes it off", async (t) => {
  const { host, ops } = setup();
  for (const c of [initSettings(), clusterVersion('0.13'), claim('rogue', 'rogue-s1')]) await host.propose(encodeCommand(c));
  await host.propose(encodeCommand(report(1_700_000_000_000, { publish: [publishOf('rogue', 'rogue-s1', [hostOf('web')])] })));
  // Adopted while open: the squatter stays an endpoint, as from 0.7.
  await ops.apply(file([web]), deadline());
  const endpoints = (): unknown => {
    const svc = host.sm.view(meshKind).get('service', 'web');
    return svc?.kind === 'service' ? (svc.status.endpoints ?? []) : null;
  };
  t.same(endpoints(), [{ agent: 'rogue', healthy: true }]);
  await host.propose(encodeCommand(setSetting('services.agent_publish', 'declared')));
  const proposed = host.proposals.length;
  const before = host.sm.revision();
  const taken = await ops.apply({ ...file([web]), clientSeq: 2 }, deadline());
  t.equal(host.proposals.length, proposed + 1, 'proposed, not answered from the state');
  t.same(endpoints(), [], 'the squatter is taken off');
  t.ok(taken.revision > before, 'the revision moved');
  t.same(JSON.parse(taken.results.toString()), [{ kind: 'service', name: 'web', action: 'configured' }], 'and the answer (ctl apply -o json) says configured (from 0.13)');
  const again = await ops.apply({ ...file([web]), clientSeq: 3 }, deadline());
  t.equal(host.proposals.length, proposed + 1, 'nothing left to take off: answered from the state');
  t.same(JSON.parse(again.results.toString()), [{ kind: 'service', name: 'web', action: 'unchanged' }]);
});
