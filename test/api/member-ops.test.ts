/**
 * Membership steps are safe to repeat: run twice, the second run changes nothing and says so;
 * an id that was never a member is UNKNOWN_NODE (ctl exit 4). Against a fake consensus port
 * whose configuration changes update the members records, as a node's do.
 */
import t from 'tap';
import { memberOps } from '../../src/api/member-ops.js';
import { onLeaderOf } from '../../src/api/on-leader.js';
import { decodeAddContext } from '../../src/statemachine/add-context.js';
import { encodeCommand } from '../../src/statemachine/index.js';
import { RaftError } from '../../src/raft/errors.js';
import { FakeConsensus } from './fake-consensus.js';

/** `silent`: peers the leader has not heard from within an election timeout. */
function setup(silent: readonly string[] = [], voters: readonly string[] = ['c1', 'c2', 'c3']) {
  const port = new FakeConsensus('c1', { leader: 'c1', voters: [...voters], records: true });
  const onLeader = onLeaderOf({ id: 'c1', host: port, addressOf: () => null, forwarder: { call: () => Promise.reject(new Error('no forwarding here')) } });
  return { port, ops: memberOps('c1', port, port.sm, onLeader, (id) => !silent.includes(id)) };
}

const soon = (): number => Date.now() + 2000;
const add = (id: string, address: string, learner = false) => ({ id, address, learner, forwarded: false });
const ref = (id: string) => ({ id, forwarded: false });

void t.test('a plain add: one learner with the intent to promote it, and the next step in the answer', async (t) => {
  const { port, ops } = setup();
  const first = await ops.add(add('c4', '10.0.0.14:7101'), soon());
  t.match(first, { unchanged: false, learners: ['c4'] });
  t.match(first.detail, /start it with `controller --config FILE --id c4 --join`; the leader promotes it to voter once it has caught up/);
  t.equal(port.proposals.length, 1, 'one entry');
  const change = port.proposals[0] as { type: string; context: string };
  t.equal(change.type, 'add-learner');
  t.strictSame(decodeAddContext(change.context), { address: '10.0.0.14:7101', autoPromote: true }, 'the intent travels with the add');
  t.match(port.sm.members.get('c4'), { role: 'learner', autoPromote: true });

  const again = await ops.add(add('c4', '10.0.0.14:7101'), soon());
  t.match(again, { unchanged: true, learners: ['c4'] });
  t.match(again.detail, /^c4 is already a learner; nothing changed; the leader promotes it/);
  t.equal(port.proposals.length, 1, 'nothing proposed the second time');

  // The same endpoint spelled another way is the same address (the careless-operator test's F10).
  const loop = await ops.add(add('c5', '127.0.0.1:7105'), soon());
  t.match(loop, { unchanged: false });
  t.match(await ops.add(add('c5', 'localhost:7105'), soon()), { unchanged: true }, 'c5 again, as localhost: nothing changed');
  t.match(await ops.add(add('c6', '[::ffff:127.0.0.1]:7105'), soon()).catch((e: unknown) => e), {
    code: 'CONFLICT',
    message: /^\[::ffff:127\.0\.0\.1\]:7105 is already the address of c5 \(as 127\.0\.0\.1:7105\)/,
  });
  t.equal(port.proposals.length, 2, 'only c5 proposed');
});

void t.test('the answer names the stabilization time when one is set', async (t) => {
  const { port, ops } = setup();
  port.sm.apply(100, encodeCommand({ kind: 'settings', op: 'set', key: 'autopilot.server_stabilization_time', value: 10_000 }));
  t.match((await ops.add(add('c4', '10.0.0.14:7101'), soon())).detail, /once it has caught up and stayed so for 10s/);
});

void t.test('an add with --learner leaves the promotion to the operator, and says how', async (t) => {
  const { port, ops } = setup();
  const first = await ops.add(add('c4', '10.0.0.14:7101', true), soon());
  t.match(first.detail, /promote it with `ctl member promote c4` once it has caught up/);
  t.strictSame(decodeAddContext((port.proposals[0] as { context: string }).context), { address: '10.0.0.14:7101', autoPromote: false });
  t.match((await ops.add(add('c4', '10.0.0.14:7101', true), soon())).detail, /already a learner; nothing changed; promote it with/);
});

void t.test('adding a member that is there at another address is a conflict, not a silent success', async (t) => {
  const { port, ops } = setup();
  t.match(await ops.add(add('c2', '10.9.9.9:7101'), soon()).catch((e: unknown) => e), { code: 'CONFLICT', message: /c2 is already a member at c2\.example:7000, not 10\.9\.9\.9:7101/ });
  t.match(await ops.add(add('c2', 'c2.example:7000'), soon()), { unchanged: true, detail: 'c2 is already a voter; nothing changed' });
  t.equal(port.proposals.length, 0);
});

void t.test('attack round 10 (B7): adding a voter again as a learner is a conflict, not "nothing changed"', async (t) => {
  const { port, ops } = setup();
  t.match(await ops.add(add('c2', 'c2.example:7000', true), soon()).catch((e: unknown) => e), { code: 'CONFLICT', message: /c2 is already a voter, not a learner: member add does not demote/ });
  t.equal(port.proposals.length, 0, 'nothing proposed');
});

void t.test('promote twice: the second says it is already a voter; an unknown id is UNKNOWN_NODE', async (t) => {
  const { port, ops } = setup();
  await ops.add(add('c4', '10.0.0.14:7101', true), soon());
  port.match.set('c4', 10_000);
  port.recordIncarnation('c4', '00000000000000c4');
  t.match(await ops.promote(ref('c4'), soon()), { unchanged: false, voters: ['c1', 'c2', 'c3', 'c4'] });
  t.match(await ops.promote(ref('c4'), soon()), { unchanged: true, detail: 'c4 is already a voter; nothing changed' });
  t.match(await ops.promote(ref('c9'), soon()).catch((e: unknown) => e), { code: 'UNKNOWN_NODE', message: 'c9 is not a member' });
});

void t.test('promote waits for the cluster to record the learner\'s data dir, and says so when it never does', async (t) => {
  const { port, ops } = setup();
  await ops.add(add('c4', '10.0.0.14:7101', true), soon());
  port.match.set('c4', 10_000);
  const proposed = port.proposals.length;
  const failed = await ops.promote(ref('c4'), Date.now() + 300).catch((e: unknown) => e);
  t.match(failed, { code: 'TIMEOUT', message: /c4 has caught up, but the cluster has not recorded its data dir yet, and until it has it could not vote/ });
  t.equal(port.proposals.length, proposed, 'no promotion proposed');
  const promoted = ops.promote(ref('c4'), soon());
  setTimeout(() => port.recordIncarnation('c4', '00000000000000c4'), 100);
  t.match(await promoted, { unchanged: false, voters: ['c1', 'c2', 'c3', 'c4'] }, 'promoted once the record is applied');
});

void t.test('remove twice: the second says it was already removed; an id never present is UNKNOWN_NODE', async (t) => {
  const { port, ops } = setup();
  t.match(await ops.remove(ref('c3'), soon()), { unchanged: false, voters: ['c1', 'c2'] });
  t.match(await ops.remove(ref('c3'), soon()), { unchanged: true, detail: 'c3 was already removed; nothing changed' });
  t.equal(port.proposals.length, 1, 'one removal proposed');
  t.match(await ops.remove(ref('c9'), soon()).catch((e: unknown) => e), { code: 'UNKNOWN_NODE', message: 'c9 is not a member and never was' });
});

void t.test('ids and addresses are checked before anything is proposed', async (t) => {
  const { port, ops } = setup();
  t.match(await ops.add(add('../x', '10.0.0.14:7101'), soon()).catch((e: unknown) => e), {
    code: 'INVALID_ARGUMENT',
    // The rule, as the cluster file states it for cluster.nodes[].id: the operator learns what to type.
    message: `invalid member id "../x": expected 1-63 letters, digits, '_', '.' or '-' starting with a letter or digit, as cluster.nodes[].id`,
  });
  t.match(await ops.add(add('c4', 'nowhere'), soon()).catch((e: unknown) => e), { code: 'INVALID_ARGUMENT', message: /expected host:port/ });
  t.equal(port.proposals.length, 0);
});

void t.test('an add takes the addresses the cluster file takes, and refuses the ones it refuses', async (t) => {
  const { port, ops } = setup();
  for (const [address, reason] of [
    ['0.0.0.0:7104', /0\.0\.0\.0:7104 is a wildcard address that peers cannot dial/],
    ['[::]:7104', /wildcard address/],
    ['10.0.0.14:0', /the port must be in 1\.\.65535/],
    ['10.0.0.14:99999', /the port must be in 1\.\.65535/],
    ['300.0.0.1:7104', /malformed IPv4 address/],
  ] as const) {
    t.match(await ops.add(add('c4', address), soon()).catch((e: unknown) => e), { code: 'INVALID_ARGUMENT', message: reason }, address);
  }
  t.match(await ops.add(add('c4', 'C2.example:7000'), soon()).catch((e: unknown) => e), { code: 'CONFLICT', message: /C2\.example:7000 is already the address of c2/ }, "another member's address");
  t.equal(port.proposals.length, 0, 'nothing proposed');
  t.match(await ops.add(add('c4', '[::1]:7104'), soon()), { unchanged: false, learners: ['c4'] }, 'a bracketed IPv6 address, as in the file');
});

void t.test('a removal that would leave no quorum the leader hears is refused (etcd\'s strict reconfig check); the last voter cannot go', async (t) => {
  const { port, ops } = setup(['c3']);
  const refused = await ops.remove(ref('c2'), soon()).catch((e: unknown) => e);
  t.match(refused, { code: 'FAILED_PRECONDITION', message: /removing c2 would leave voters c1, c3, of which the leader hears only c1 \(c3 silent for an election timeout\); a quorum of them is 2/ });
  t.equal(port.proposals.length, 0, 'nothing proposed');
  t.match(await ops.remove(ref('c3'), soon()), { unchanged: false, voters: ['c1', 'c2'] }, 'removing the silent one is fine: c1 and c2 are a quorum of two');

  const five = setup(['c4', 'c5'], ['c1', 'c2', 'c3', 'c4', 'c5']);
  t.match(await five.ops.remove(ref('c2'), soon()).catch((e: unknown) => e), { code: 'FAILED_PRECONDITION' }, 'five with two down: removing a live one leaves 2 of 4 heard, 3 needed');
  t.match(await five.ops.remove(ref('c5'), soon()), { unchanged: false }, 'removing a down one leaves 3 of 4 heard');
  t.notMatch((await five.ops.remove(ref('c5'), soon())).detail, /warning/, 'and says nothing more');

  const alone = setup([], ['c1']);
  t.match(await alone.ops.remove(ref('c1'), soon()).catch((e: unknown) => e), { code: 'FAILED_PRECONDITION', message: /c1 is the last voter; a cluster needs one/ }, 'at once, not after waiting for a hand-off');
});

void t.test('a step that meets another membership change in flight waits for it and runs again from its checks', async (t) => {
  const { port, ops } = setup();
  // The core refuses while another change is not applied; twice, then the way is clear.
  const pending = (): RaftError => new RaftError('CONF_CHANGE_PENDING', 'a membership change at index 7 is not applied yet');
  port.proposeFailures.push(pending(), pending());
  const added = await ops.add(add('c4', '10.0.0.14:7101'), soon());
  t.match(added, { unchanged: false, learners: ['c4'] }, 'made once the other change applied');
  t.equal(port.proposals.length, 1, 'one entry');
  // Still pending at the deadline: the answer says why and that running it again is safe.
  for (let i = 0; i < 100; i++) port.proposeFailures.push(pending());
  const late = await ops.remove(ref('c4'), Date.now() + 300).catch((e: unknown) => e);
  t.match(late, { code: 'CONF_CHANGE_PENDING', message: /^a membership change at index 7 is not applied yet: another membership change is still being applied, and this one was not made; it is safe to run again$/ });
  port.proposeFailures.splice(0);
});

// attack-operator round 16: five voters, c5 dead, and the operator removes c1 by mistake: it
// commits (3 of the 4 left answer), and the cluster then tolerates no further failure, silently.
void t.test('removing a live voter while another is silent, leaving no failure tolerance: done, with a warning and the way back', async (t) => {
  const five = setup(['c5'], ['c1', 'c2', 'c3', 'c4', 'c5']);
  const wrong = await five.ops.remove(ref('c2'), soon());
  t.match(wrong, { unchanged: false, voters: ['c1', 'c3', 'c4', 'c5'] });
  t.match(
    wrong.detail,
    /; warning: c2 answered but c5 is silent for an election timeout, so the voters left \(c1, c3, c4, c5\) tolerate no further failure\. If c5 was the member to remove, remove it too \(ctl member remove c5\), then add c2 back as a new member/,
  );
  const right = setup(['c5'], ['c1', 'c2', 'c3', 'c4', 'c5']);
  t.notMatch((await right.ops.remove(ref('c5'), soon())).detail, /warning/, 'removing the silent one: no warning');
  const roomy = setup(['c5'], ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7']);
  t.notMatch((await roomy.ops.remove(ref('c2'), soon())).detail, /warning/, 'seven voters, one silent: the six left still tolerate one failure');
});

void t.test('operator round 17: an id that differs from a member\'s only in case is refused as a typo, not added as a second member', async (t) => {
  const { port, ops } = setup();
  const refused = await ops.add(add('C1', '10.0.0.14:7101'), soon()).catch((e: unknown) => e);
  t.match(refused, { code: 'CONFLICT', message: /^C1 differs from member c1 only in case, and member ids are case-sensitive: this would add a second member beside c1 \(a typo of c1\?\)/ });
  t.equal(port.proposals.length, 0, 'nothing proposed');
  t.match(await ops.remove(ref('C2'), soon()).catch((e: unknown) => e), { code: 'UNKNOWN_NODE', message: 'C2 is not a member and never was (member c2 differs only in case: ids are case-sensitive)' });
  t.match(await ops.promote(ref('C3'), soon()).catch((e: unknown) => e), { code: 'UNKNOWN_NODE', message: 'C3 is not a member (member c3 differs only in case: ids are case-sensitive)' });
});

void t.test('operator round 17: a cluster whose ids already differ only in case keeps working, a rebuild of such a member included', async (t) => {
  const { port, ops } = setup([], ['c1', 'C1', 'c2']);
  t.match(await ops.add(add('C1', 'C1.example:7000'), soon()), { unchanged: true, detail: 'C1 is already a voter; nothing changed' });
  t.match(await ops.remove(ref('C1'), soon()), { unchanged: false, voters: ['c1', 'c2'] });
  t.match(await ops.add(add('C1', '10.0.0.14:7101'), soon()), { unchanged: false, learners: ['C1'] }, 'an id the cluster had before is a rebuild');
  t.equal(port.proposals.length, 2);
});
