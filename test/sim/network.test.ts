/**
 * The simulated network: every behaviour the simulation relies on, driven by a seed.
 */
import t from 'tap';
import type { Message } from '../../src/raft/index.js';
import { seededRng } from '../../src/util/rng.js';
import { RELIABLE, SimNetwork, type DropReason, type FaultSettings } from './network.js';

const hb = (from: string, to: string, n: number): Message => ({ type: 'Heartbeat', from, to, term: 1, commit: n, context: '' });

/** Sends `count` heartbeats a->b (commit = sequence number), runs the clock, returns what arrived. */
function run(seed: number, faults: FaultSettings, count = 50): { order: number[]; drops: DropReason[] } {
  const net = new SimNetwork(seededRng(seed), faults);
  const drops: DropReason[] = [];
  net.onDrop = (_f, reason) => drops.push(reason);
  for (let i = 0; i < count; i++) net.send(hb('a', 'b', i), 1);
  const order: number[] = [];
  for (let tick = 0; tick <= faults.maxDelay; tick++) {
    for (let f = net.takeDue(); f; f = net.takeDue()) order.push(f.msg.type === 'Heartbeat' ? f.msg.commit : -1);
    net.now++;
  }
  return { order, drops };
}

void t.test('without faults, messages arrive at once and in order', async (t) => {
  const { order, drops } = run(1, RELIABLE, 10);
  t.same(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'in send order');
  t.same(drops, [], 'none lost');
});

void t.test('random delays reorder messages, the same way for the same seed', async (t) => {
  const faults = { minDelay: 0, maxDelay: 5, dropRate: 0, dupRate: 0 };
  const a = run(7, faults);
  t.equal(a.order.length, 50, 'everything arrives');
  t.not(a.order.join(), [...a.order].sort((x, y) => x - y).join(), 'not in send order');
  t.same(run(7, faults).order, a.order, 'the same seed replays the same order');
  t.not(run(8, faults).order.join(), a.order.join(), 'another seed reorders differently');
});

void t.test('loss and duplication follow their rates', async (t) => {
  const lossy = run(3, { minDelay: 0, maxDelay: 0, dropRate: 0.3, dupRate: 0 }, 1000);
  t.ok(lossy.order.length > 600 && lossy.order.length < 800, `${lossy.order.length} of 1000 arrived at 30% loss`);
  t.ok(lossy.drops.every((r) => r === 'random') && lossy.drops.length === 1000 - lossy.order.length, 'each loss is reported');
  const dup = run(3, { minDelay: 0, maxDelay: 0, dropRate: 0, dupRate: 0.2 }, 1000);
  t.ok(dup.order.length > 1150 && dup.order.length < 1250, `${dup.order.length} copies of 1000 at 20% duplication`);
  t.equal(new Set(dup.order).size, 1000, 'every message arrives');
});

void t.test('a cut drops traffic both ways, including messages already in flight; heal restores it', async (t) => {
  const net = new SimNetwork(seededRng(1), { minDelay: 2, maxDelay: 2, dropRate: 0, dupRate: 0 });
  const drops: string[] = [];
  net.onDrop = (f, reason) => drops.push(`${f.msg.from}->${f.msg.to}:${reason}`);
  net.send(hb('a', 'b', 1), 1); // in flight when the cut happens
  net.send(hb('a', 'c', 2), 1);
  net.cut('a', 'b');
  net.send(hb('b', 'a', 3), 1);
  net.now += 2;
  const arrived: string[] = [];
  for (let f = net.takeDue(); f; f = net.takeDue()) arrived.push(`${f.msg.from}->${f.msg.to}`);
  t.same(arrived, ['a->c'], 'only a->c arrives');
  t.same(drops.sort(), ['a->b:partition', 'b->a:partition'], 'both directions are lost');
  t.notOk(net.connected('b', 'a'), 'b and a are cut');
  net.heal();
  t.ok(net.connected('a', 'b'), 'healed');
  t.notOk(net.partitioned(), 'no partition left');
});

void t.test('isolate cuts a node off from everyone', async (t) => {
  const net = new SimNetwork(seededRng(1));
  net.isolate('c');
  t.notOk(net.connected('a', 'c'), 'a cannot reach c');
  t.notOk(net.connected('c', 'zz'), 'including nodes added later');
  t.ok(net.connected('a', 'b'), 'the others still talk');
  t.ok(net.partitioned(), 'a partition is in force');
});

void t.test('a hook can rewrite or drop any message', async (t) => {
  const net = new SimNetwork(seededRng(1));
  const drops: DropReason[] = [];
  net.onDrop = (_f, reason) => drops.push(reason);
  net.hook = (m) => (m.to === 'c' ? null : m.type === 'Heartbeat' ? { ...m, commit: 99 } : m);
  net.send(hb('a', 'b', 1), 1);
  net.send(hb('a', 'c', 1), 1);
  const f = net.takeDue();
  t.equal(f?.msg.type === 'Heartbeat' ? f.msg.commit : null, 99, 'rewritten');
  t.equal(net.takeDue(), null, 'the other was dropped');
  t.same(drops, ['hook'], 'reported as dropped by the hook');
});

void t.test('fault settings are validated', async (t) => {
  const net = new SimNetwork(seededRng(1));
  t.throws(() => net.setFaults({ minDelay: 3, maxDelay: 1, dropRate: 0, dupRate: 0 }), /minDelay <= maxDelay/);
  t.throws(() => net.setFaults({ minDelay: 0, maxDelay: 1, dropRate: 1, dupRate: 0 }), /rates in \[0, 1\)/);
});
