/** `config get|set` handlers against a fake consensus port: parse where it arrives, check on the leader, write only a change. */
import { encodeAddContext } from '../../src/statemachine/add-context.js';
import t from 'tap';
import { configOps } from '../../src/api/config-ops.js';
import { onLeaderOf } from '../../src/api/on-leader.js';
import { ServiceFailure } from '../../src/api/service-error.js';
import { defaultSettings } from '../../src/settings/index.js';
import { encodeCommand } from '../../src/statemachine/index.js';
import { initCommand } from '../../src/statemachine/settings.js';
import { FakeConsensus } from './fake-consensus.js';

function setup(leader: string | null) {
  const port = new FakeConsensus('c1', { leader, voters: ['c1', 'c2', 'c3'] });
  const forwarded: string[] = [];
  const onLeader = onLeaderOf({
    id: 'c1',
    host: port,
    addressOf: (id) => `${id}:1`,
    forwarder: {
      call: <Res>(_address: string, method: string): Promise<Res> => {
        forwarded.push(method);
        return Promise.resolve({ key: 'k', value: 'v', changed: true } as Res);
      },
    },
  });
  return { port, forwarded, ops: configOps('c1', port, port.sm, onLeader, HEARTBEAT_MS) };
}

const soon = (): number => Date.now() + 1000;
/** The leader's raft.heartbeat_interval. */
const HEARTBEAT_MS = 100;

async function failureOf(p: Promise<unknown>): Promise<ServiceFailure> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ServiceFailure) return err;
    throw err;
  }
  throw new Error('expected a ServiceFailure');
}

void t.test('before the first leader writes the settings, a set is refused as retriable and get says so', async (t) => {
  const { ops, port } = setup('c1');
  const get = await ops.get({ key: '' }, soon());
  t.equal(get.initialized, false);
  t.equal(port.readBarriers, 1, 'a get waits for a read barrier');
  const f = await failureOf(ops.set({ key: 'autopilot.min_quorum', value: '2', forwarded: false }, Date.now() + 100));
  t.equal(f.code, 'NO_LEADER');
});

void t.test('a set that changes nothing proposes nothing; a change proposes once', async (t) => {
  const { ops, port } = setup('c1');
  await port.propose(encodeCommand(initCommand(defaultSettings({ electionTimeoutMs: 1000 }))));
  const before = port.proposals.length;
  t.same(await ops.set({ key: 'services.vip_cidr', value: '241.0.0.0/8', forwarded: false }, soon()), {
    key: 'services.vip_cidr',
    value: '241.0.0.0/8',
    changed: false,
  });
  t.equal(port.proposals.length, before, 'no proposal for an unchanged value');
  t.same(await ops.set({ key: 'agents.dependency_ttl', value: '600s', forwarded: false }, soon()), {
    key: 'agents.dependency_ttl',
    value: '10m',
    changed: false,
  }, '600s is the same duration as the 10m in force');
  t.same(await ops.set({ key: 'services.vip_cidr', value: '10.0.0.0/8', forwarded: false }, soon()), { key: 'services.vip_cidr', value: '10.0.0.0/8', changed: true });
  t.equal(port.proposals.length, before + 1);
  t.equal((await ops.get({ key: 'services.vip_cidr' }, soon())).settings[0]?.value, '10.0.0.0/8');
});

void t.test('a bad key or value is refused where it arrives, before any forwarding', async (t) => {
  const { ops, forwarded } = setup('c2');
  t.equal((await failureOf(ops.set({ key: 'bogus', value: '1', forwarded: false }, soon()))).code, 'INVALID_ARGUMENT');
  t.equal((await failureOf(ops.set({ key: 'autopilot.max_trailing_logs', value: 'many', forwarded: false }, soon()))).code, 'INVALID_ARGUMENT');
  t.equal((await failureOf(ops.get({ key: 'bogus' }, soon()))).code, 'INVALID_ARGUMENT');
  t.same(forwarded, [], 'nothing reached the leader');
  await ops.set({ key: 'autopilot.max_trailing_logs', value: '10', forwarded: false }, soon());
  t.same(forwarded, ['configSet'], 'a valid set on a follower is forwarded to the leader');
});

void t.test('a preferred leader that is not a member is refused as not found, naming the members it could be', async (t) => {
  const port = new FakeConsensus('c1', { leader: 'c1', voters: ['c1', 'c2', 'c3'], records: true });
  const ops = configOps('c1', port, port.sm, onLeaderOf({ id: 'c1', host: port, addressOf: (id) => `${id}:1`, forwarder: { call: () => Promise.reject(new Error('not forwarded')) } }), HEARTBEAT_MS);
  await port.propose(encodeCommand(initCommand(defaultSettings({ electionTimeoutMs: 1000 }))));
  const f = await failureOf(ops.set({ key: 'cluster.preferred_leader', value: 'c9', forwarded: false }, soon()));
  t.equal(f.code, 'UNKNOWN_NODE');
  t.equal(f.message, 'cluster.preferred_leader: c9 is not a member; it could be c1, c2, c3 or none');
  t.same(await ops.set({ key: 'cluster.preferred_leader', value: 'c2', forwarded: false }, soon()), { key: 'cluster.preferred_leader', value: 'c2', changed: true });
});

void t.test('a preferred leader that is a learner is refused: only a voter can lead', async (t) => {
  const port = new FakeConsensus('c1', { leader: 'c1', voters: ['c1', 'c2', 'c3'], records: true });
  const ops = configOps('c1', port, port.sm, onLeaderOf({ id: 'c1', host: port, addressOf: (id) => `${id}:1`, forwarder: { call: () => Promise.reject(new Error('not forwarded')) } }), HEARTBEAT_MS);
  await port.propose(encodeCommand(initCommand(defaultSettings({ electionTimeoutMs: 1000 }))));
  await port.proposeConfChange({ type: 'add-learner', node: 'c4', context: encodeAddContext({ address: 'c4.example:7000', autoPromote: false }) });
  t.ok(port.sm.members.list().some((m) => m.id === 'c4'), 'c4 is a member, a learner');
  const f = await failureOf(ops.set({ key: 'cluster.preferred_leader', value: 'c4', forwarded: false }, soon()));
  t.equal(f.code, 'FAILED_PRECONDITION');
  t.equal(f.message, 'cluster.preferred_leader: c4 is a learner, and only a voter can lead; promote it first (ctl member promote c4)');
  t.same(await ops.set({ key: 'cluster.preferred_leader', value: 'none', forwarded: false }, soon()), { key: 'cluster.preferred_leader', value: 'none', changed: false }, 'none is always taken');
});

void t.test("a last_contact_threshold a healthy follower cannot meet is refused on the leader, naming its heartbeat interval", async (t) => {
  const { ops, port } = setup('c1');
  await port.propose(encodeCommand(initCommand(defaultSettings({ electionTimeoutMs: 1000 }))));
  const before = port.proposals.length;
  for (const value of ['1ms', '100ms']) {
    const f = await failureOf(ops.set({ key: 'autopilot.last_contact_threshold', value, forwarded: false }, soon()));
    t.equal(f.code, 'INVALID_ARGUMENT', value);
    t.match(f.message, /^autopilot\.last_contact_threshold: .*must be at least 2 x raft\.heartbeat_interval \(100ms\) = 200ms/, value);
  }
  t.equal(port.proposals.length, before, 'nothing proposed');
  t.same(await ops.set({ key: 'autopilot.last_contact_threshold', value: '200ms', forwarded: false }, soon()), { key: 'autopilot.last_contact_threshold', value: '200ms', changed: true });
});

void t.test('a min_quorum above the voter count is accepted, as Consul does: it only holds cleanup, and get says so', async (t) => {
  const { ops, port } = setup('c1');
  await port.propose(encodeCommand(initCommand(defaultSettings({ electionTimeoutMs: 1000 }))));
  t.same(await ops.set({ key: 'autopilot.min_quorum', value: '99', forwarded: false }, soon()), { key: 'autopilot.min_quorum', value: '99', changed: true });
  t.same(await ops.set({ key: 'autopilot.cleanup_dead_servers', value: 'true', forwarded: false }, soon()), { key: 'autopilot.cleanup_dead_servers', value: 'true', changed: true });
  const help = (await ops.get({ key: 'autopilot.min_quorum' }, soon())).settings[0]?.help;
  t.match(help, /only while at least this many voters remain/);
  t.match(help, /above the voter count, cleanup removes nothing/);
  t.match(help, /ctl member remove is not limited/);
});

void t.test('services.agent_publish is refused on the leader below cluster version 0.12, naming it; a bad word is refused where it arrives', async (t) => {
  const { ops, port } = setup('c1');
  await port.propose(encodeCommand(initCommand(defaultSettings({ electionTimeoutMs: 1000 }))));
  const before = port.proposals.length;
  const early = await failureOf(ops.set({ key: 'services.agent_publish', value: 'declared', forwarded: false }, soon()));
  t.equal(early.code, 'FAILED_PRECONDITION');
  t.match(early.message, /^services.agent_publish: needs cluster version 0.12, and the cluster is at 0.1: upgrade every controller/);
  const bad = await failureOf(ops.set({ key: 'services.agent_publish', value: 'closed', forwarded: false }, soon()));
  t.equal(bad.code, 'INVALID_ARGUMENT');
  t.equal(bad.message, 'services.agent_publish: expected one of "open", "declared", found "closed"');
  t.equal(port.proposals.length, before, 'nothing proposed');
  await port.propose(encodeCommand({ kind: 'cluster', op: 'set-version', version: '0.12' }));
  t.same(await ops.set({ key: 'services.agent_publish', value: 'declared', forwarded: false }, soon()), { key: 'services.agent_publish', value: 'declared', changed: true });
  t.same((await ops.get({ key: 'services.agent_publish' }, soon())).settings.map((s) => [s.value, s.defaultValue]), [['declared', 'open']]);
});

void t.test('services.agent_publish below 0.12 is refused where it arrives, not forwarded to a leader that may not know the key; a node behind the raise catches up first', async (t) => {
  const { ops, port, forwarded } = setup('c1');
  await port.propose(encodeCommand(initCommand(defaultSettings({ electionTimeoutMs: 1000 }))));
  port.setLeader('c2');
  const f = await failureOf(ops.set({ key: 'services.agent_publish', value: 'declared', forwarded: false }, soon()));
  t.equal(f.code, 'FAILED_PRECONDITION', 'not "unknown setting" from a 0.11 leader');
  t.match(f.message, /^services.agent_publish: needs cluster version 0.12/);
  t.same(forwarded, [], 'not forwarded');
  // The leader has raised the version; this node applies it at its read barrier, then forwards.
  port.catchUpOnReadBarrier.push(encodeCommand({ kind: 'cluster', op: 'set-version', version: '0.12' }));
  await ops.set({ key: 'services.agent_publish', value: 'declared', forwarded: false }, soon());
  t.same(forwarded, ['configSet'], 'forwarded to the leader once caught up');
});
