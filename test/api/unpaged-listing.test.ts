/**
 * Unpaged `GetResources` (src/api/unpaged-listing.ts): the answer is the whole kind as before, byte
 * for byte, but it is written and handed out across turns of the event loop, so concurrent
 * listings of a big mesh no longer serialize back to back in one turn.
 */
import t from 'tap';
import { meshOps } from '../../src/api/mesh-ops.js';
import { onLeaderOf } from '../../src/api/on-leader.js';
import { AnswerTurns, BYTES_PER_TURN, UnpagedListings, type NextTurn } from '../../src/api/unpaged-listing.js';
import { encodeCommand, meshKind, resourceJson, StateMachine, type KindCommand } from '../../src/statemachine/index.js';
import { FakeConsensus } from './fake-consensus.js';

const services = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ kind: 'service', name: `${prefix}-${i}`, spec: { protocol: 'http', ports: [1 + i] }, labels: { team: `t${i % 7}`, note: 'a "quoted" \u00e9 label' } }));

function meshOf(batches: number, perBatch: number): StateMachine {
  const sm = new StateMachine();
  for (let b = 0; b < batches; b++) sm.apply(sm.appliedIndex + 1, encodeCommand({ kind: 'mesh', op: 'apply', resources: services(`b${b}`, perBatch) } as KindCommand));
  sm.apply(sm.appliedIndex + 1, encodeCommand({ kind: 'mesh', op: 'apply', resources: [{ kind: 'route', name: 'r', spec: { from: 'b0-1', to: 'b0-2' }, labels: {} }] } as KindCommand));
  return sm;
}

/** Turns run by hand: `run()` runs what the last turn scheduled, as one turn of the loop. */
function manualTurns(): { nextTurn: NextTurn; run: () => number } {
  let queued: (() => void)[] = [];
  return {
    nextTurn: (f) => void queued.push(f),
    run: () => {
      const now = queued;
      queued = [];
      for (const f of now) f();
      return now.length;
    },
  };
}

const flushMicrotasks = () => new Promise<void>((resolve) => setImmediate(resolve));

void t.test('the unpaged answer is the whole kind as one JSON list wrote it, at the revision read with it', async (t) => {
  const sm = meshOf(3, 1000);
  const turns = manualTurns();
  const listings = new UnpagedListings(() => sm.view(meshKind), () => sm.revision(), { nextTurn: turns.nextTurn, resourcesPerSlice: 700 });
  const pending = listings.answer('service');
  const again = listings.answer('service');
  let ran = 0;
  for (let done = false; !done; ) {
    await flushMicrotasks();
    done = turns.run() === 0;
    ran++;
  }
  const [one, two] = await Promise.all([pending, again]);
  const whole = Buffer.from(JSON.stringify(sm.view(meshKind).list().filter((r) => r.kind === 'service').map(resourceJson)));
  t.ok(one.resources.equals(whole), 'the bytes JSON.stringify of the whole list gives');
  t.equal(one.resources, two.resources, 'built once for both');
  t.equal(one.revision, sm.revision());
  t.ok(ran >= 4, `3,000 services at 700 a slice: written over ${ran} turns`);
  const routes = listings.answer('route');
  await flushMicrotasks();
  turns.run();
  t.same(JSON.parse((await routes).resources.toString()).map((r: { name: string }) => r.name), ['r']);
  const empty = new UnpagedListings(() => new StateMachine().view(meshKind), () => 0);
  t.equal((await empty.answer('service')).resources.toString(), '[]');
});

void t.test('large answers go a bounded number of bytes per turn, oldest first, one at least', async (t) => {
  const turns = manualTurns();
  const pacer = new AnswerTurns(10, turns.nextTurn);
  const order: string[] = [];
  const sizes: [string, number][] = [['a', 6], ['b', 4], ['c', 30], ['d', 1], ['e', 9]];
  const all = Promise.all(sizes.map(([name, bytes]) => pacer.wait(bytes).then(() => void order.push(name))));
  const perTurn: string[][] = [];
  while (pacer.size > 0 || order.length < sizes.length) {
    const before = order.length;
    turns.run();
    await flushMicrotasks();
    perTurn.push(order.slice(before));
  }
  await all;
  t.same(perTurn.filter((names) => names.length > 0), [['a', 'b'], ['c'], ['d', 'e']]);
});

void t.test('concurrent unpaged listings of a big mesh are answered over several turns of the loop, not in one', async (t) => {
  const host = new FakeConsensus('c1', { leader: 'c1', voters: ['c1', 'c2', 'c3'] });
  const onLeader = onLeaderOf({ id: 'c1', host, addressOf: () => null, forwarder: { call: () => Promise.reject(new Error('no forwarding in this test')) } });
  const ops = meshOps({ host, stateMachine: host.sm, onLeader, isMember: () => true, self: 'c1' });
  for (let b = 0; b < 4; b++) {
    await ops.apply({ resources: Buffer.from(JSON.stringify(services(`b${b}`, 4000))), clientId: 'ctl-1', clientSeq: b + 1, forwarded: false }, Date.now() + 10_000);
  }
  // A turn counter: one step per turn of the loop.
  let turn = 0;
  let spinning = true;
  const spin = (): void => {
    turn++;
    if (spinning) setImmediate(spin);
  };
  setImmediate(spin);
  const answeredAt: { turn: number; bytes: number }[] = [];
  const listings = Array.from({ length: 8 }, () =>
    ops.get({ kind: 'service', name: '', serializable: true }, Date.now() + 10_000).then((a) => {
      answeredAt.push({ turn, bytes: a.resources.byteLength });
      return a;
    }),
  );
  const answers = await Promise.all(listings);
  spinning = false;
  const size = answers[0]!.resources.byteLength;
  t.ok(size > 2 * 1024 * 1024, `a big answer (${size} bytes)`);
  t.same(JSON.parse(answers[0]!.resources.toString()).length, 16_000, 'the whole kind');
  const bytesByTurn = new Map<number, number>();
  for (const a of answeredAt) bytesByTurn.set(a.turn, (bytesByTurn.get(a.turn) ?? 0) + a.bytes);
  const most = Math.max(...bytesByTurn.values());
  // The old service answered all eight (16 MB and more) in the turn their reads resumed.
  t.ok(most <= Math.max(BYTES_PER_TURN, size), `at most ${BYTES_PER_TURN} bytes of answers a turn, or one answer (${most} in the busiest)`);
  t.ok(bytesByTurn.size >= 4, `answered over ${bytesByTurn.size} turns`);
});
