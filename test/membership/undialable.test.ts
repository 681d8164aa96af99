/**
 * attack-37b B5 on simulated time (membership-sim.ts, the production membership driver): a member
 * its peers cannot dial (listening where they do not connect, or behind a firewall that refuses
 * new inbound connections) still dials out, so its pings reach everyone and the pongs ride back
 * on its own connections. Before, every node counted those pings as contact and showed it online
 * for good, while nothing could reach it. Now a node that cannot dial a member for longer than
 * max(its timeout, DIAL_GRACE_MS) does not count it as heard: when a quorum of voters cannot dial
 * it, it is offline on every non-stale node and committed so, and online again once dialable.
 * One node that cannot dial it costs it one hearer only, like any bad link.
 */
import t from 'tap';
import { Sim, type DialFault } from './membership-sim.js';
import { DIAL_GRACE_MS } from '../../src/node/membership-driver.js';

const BASE_MS = 2000;
const SAMPLE_MS = 50;

function newSim(seed: number): Sim {
  const sim = new Sim({ n: 5, seed, baseTimeoutMs: BASE_MS, dynamic: true, jitter: [50, 200], electionTimeoutMs: 1000 });
  sim.runUntil(10_000);
  return sim;
}

/** Each running node's non-stale answer for `id`'s online column. */
function answers(sim: Sim, id: string): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const n of sim.ids) {
    if (sim.node(n).state !== 'up') continue;
    const rows = sim.rowsAt(n);
    const row = rows.find((r) => r.id === id);
    if (row !== undefined && !row.stale) out.set(n, row.online);
  }
  return out;
}

/** Runs until every non-stale answer for `id` is `online` (and there is one from a quorum), or `deadline`; returns when, or null. */
function runUntilShown(sim: Sim, id: string, online: boolean, deadline: number): number | null {
  while (sim.now < deadline) {
    sim.runUntil(sim.now + SAMPLE_MS);
    const a = answers(sim, id);
    if (a.size >= 3 && [...a.values()].every((v) => v === online)) return sim.now;
  }
  return null;
}

/**
 * Nobody can reach x at its address, while x's own messages arrive on its own connections: no
 * connection opens there, or another process answers there: a copy of its data dir that holds
 * its id, another data dir, another cluster (seed 47: its pong refused for identity); another
 * member that refuses the ping as misdirected (seed 48), another cluster's node that refuses our
 * cluster id (seed 49). Before, the refused pong, or the refused ping, failed as RPC_FAILED, "our
 * dials work", and x was counted heard for good. `says`: the warning each other node logs once.
 */
const CASES: ReadonlyArray<{ readonly seed: number; readonly how: DialFault; readonly what: string; readonly says: (x: string) => RegExp }> = [
  ...[41, 42, 43].map((seed) => ({
    seed,
    how: 'no-connection' as const,
    what: 'a quorum cannot dial',
    says: (x: string) => new RegExp(`^cannot dial ${x} at ${x}\\.sim:7001 for \\d+ms \\(UNAVAILABLE: connect ECONNREFUSED\\), .* Check ${x}'s listen address`),
  })),
  {
    seed: 47,
    how: 'another-process',
    what: 'whose address answers as another process (its pong refused for identity) to a quorum',
    says: (x) => new RegExp(`^cannot dial ${x} at ${x}\\.sim:7001 for \\d+ms: another process answers there \\(refused the pong: DUPLICATE_PROCESS: .*\\(a copy of ${x}'s data dir, another member, another cluster's controller\\)`),
  },
  {
    seed: 48,
    how: 'misdirected',
    what: 'whose address answers as another member (it refuses the ping as misdirected) to a quorum',
    says: (x) =>
      new RegExp(`^cannot dial ${x} at ${x}\\.sim:7001 for \\d+ms: another process answers there \\(it is (c\\d), which refused the ping as misdirected: INVALID_ARGUMENT: misdirected: expected to="\\1", found "${x}"\\), .* \\(member \\1 does, by its own word: `),
  },
  {
    seed: 49,
    how: 'other-cluster',
    what: "whose address answers as another cluster's node (it refuses our cluster id) to a quorum",
    says: (x) =>
      new RegExp(`^cannot dial ${x} at ${x}\\.sim:7001 for \\d+ms: another process answers there \\(it is a node of another cluster, which refused the ping: PERMISSION_DENIED: CLUSTER_ID: .*\\(another cluster's controller does: it refuses this cluster's id \\(CLUSTER_ID\\); if every peer is refused so, this node's cluster.name or data dir is the odd one\\): ${x} itself must accept connections there$`),
  },
];

for (const { seed, how, what, says } of CASES) {
  void t.test(`a member ${what} is shown offline on every node and committed offline, and online again once reachable (5 nodes, base 2 s, seed ${seed})`, async (t) => {
    const sim = newSim(seed);
    const x = sim.ids.find((id) => id !== sim.leader && id !== 'c1')!;
    const others = sim.ids.filter((id) => id !== x);
    t.same([...answers(sim, x).values()].every(Boolean), true, `${x} online before the fault`);

    const faultAt = sim.now;
    sim.dialFail(others, [x], true, how);
    t.equal(sim.truth(x), 'offline', `the definition: nobody who cannot reach ${x} at its address hears it`);
    // The first ping to x after the fault, x's next message (one interval: the grace starts there,
    // not at the failed ping), plus max(timeout, grace), plus the views' travel.
    const bound = DIAL_GRACE_MS + 1500 + BASE_MS / 4;
    const shownAt = runUntilShown(sim, x, false, faultAt + 10_000);
    t.ok(shownAt !== null && shownAt - faultAt <= bound, `${x} offline on every non-stale node ${shownAt === null ? 'never' : `${shownAt - faultAt}ms`} after the fault (bound ${bound}ms)`);
    sim.runUntil(sim.now + 3000);
    t.equal(sim.committed.get(x)?.status, 'offline', `the leader committed ${x} offline`);
    // It stays offline for good, and nobody else is shown offline meanwhile.
    let flips = 0;
    let collateral = 0;
    for (let end = sim.now + 30_000; sim.now < end; ) {
      sim.runUntil(sim.now + 250);
      for (const [n, online] of answers(sim, x)) {
        if (!online) continue;
        flips++;
        t.comment(`${n} shows ${x} online at ${sim.now}`);
      }
      for (const o of others) for (const online of answers(sim, o).values()) if (!online) collateral++;
    }
    t.equal(flips, 0, `${x} never shown online again while it cannot be reached at its address (30 s)`);
    t.equal(collateral, 0, 'no other member shown offline');
    for (const o of others) {
      const warned = sim.warnings.filter((w) => w.node === o && w.msg.startsWith(`cannot dial ${x} `)).map((w) => w.msg);
      t.equal(warned.length, 1, `${o} warned once of ${x}`);
      t.match(warned[0], says(x), `${o}'s warning names what answers at ${x}'s address`);
    }
    // x's own side: it hears everyone, and their views, on its own connections, show it offline.
    const unheard = sim.warnings.filter((w) => w.node === x && w.msg.includes(`not hear ${x} (this node)`)).map((w) => w.msg);
    t.equal(unheard.length, 1, `${x} warned once that its peers do not hear it`);
    t.match(unheard[0], new RegExp(`^${others.join(', ')} do not hear ${x} \\(this node\\) for \\d+ms, .* cannot dial ${x} at ${x}\\.sim:7001, .* Check ${x}'s listen address`), `${x}'s warning names every peer and its address`);
    t.equal(sim.warnings.filter((w) => w.node !== x && w.msg.includes('(this node)')).length, 0, 'nobody else warned that it is not heard');

    const healAt = sim.now;
    sim.dialFail(others, [x], false);
    const backAt = runUntilShown(sim, x, true, healAt + 10_000);
    t.ok(backAt !== null && backAt - healAt <= 1500, `${x} online again on every node ${backAt === null ? 'never' : `${backAt - healAt}ms`} once it answers at its address`);
    sim.runUntil(sim.now + 3000);
    t.equal(sim.committed.get(x)?.status, 'online', `the leader committed ${x} online again`);
  });
}

void t.test('one or two nodes that cannot dial a member cost it one hearer each: it stays online everywhere (5 nodes)', async (t) => {
  for (const cannot of [1, 2]) {
    const sim = newSim(44 + cannot);
    const x = sim.ids.find((id) => id !== sim.leader && id !== 'c1')!;
    // The leader among them: its own link is the bad one.
    const from = [sim.leader, ...sim.ids.filter((id) => id !== x && id !== sim.leader)].slice(0, cannot);
    sim.dialFail(from, [x], true);
    t.equal(sim.truth(x), 'online', `${x} is heard by itself and ${4 - cannot} others`);
    let wrong = 0;
    for (let end = sim.now + 30_000; sim.now < end; ) {
      sim.runUntil(sim.now + 250);
      for (const online of answers(sim, x).values()) if (!online) wrong++;
    }
    t.equal(wrong, 0, `${from.join(', ')} cannot dial ${x}: never shown offline in 30 s`);
    const unheard = sim.warnings.filter((w) => w.msg.includes('(this node)'));
    t.same(unheard.map((w) => w.node), [x], `only ${x} warned that it is not heard, once`);
    t.match(unheard[0]?.msg, new RegExp(`^${[...from].sort().join(', ')} do(es)? not hear ${x} \\(this node\\)`), 'naming exactly the nodes that cannot dial it');
    t.equal(sim.committed.get(x)?.status, 'online', `${x} committed online`);
  }
});

void t.test('a member dialable again whose pings are lost is counted again from its own messages (5 nodes, base 2 s, seed 46)', async (t) => {
  const sim = newSim(46);
  const x = sim.ids.find((id) => id !== sim.leader && id !== 'c1')!;
  const others = sim.ids.filter((id) => id !== x);
  sim.dialFail(others, [x], true);
  t.not(runUntilShown(sim, x, false, sim.now + 10_000), null, `${x} offline while nobody can dial it`);
  // Dials work again, but what the others send x is lost: their pings fail on open connections,
  // none is answered, while x's own messages arrive. Before, only an answered ping ended the
  // streak, and x stayed offline for good.
  const healAt = sim.now;
  sim.dialFail(others, [x], false);
  for (const o of others) sim.cut(o, x, 1);
  t.equal(sim.truth(x), 'online', `the definition: every other member hears ${x}`);
  const backAt = runUntilShown(sim, x, true, healAt + 10_000);
  t.ok(backAt !== null, `${x} online again on every node ${backAt === null ? 'never' : `${backAt - healAt}ms`} after its dials work again`);
});

void t.test('a member that cannot dial anyone: the others, each named by it as not hearing them, are told it may be its own fault (5 nodes)', async (t) => {
  // An egress firewall or a bad route on x: its dials all fail, its peers' dials to it work. Each
  // peer hears x, and x's view, on their own connections, shows that peer offline: each warns
  // that x does not hear it. Without more, four healthy members each said to check their own
  // listen address; x's view shows every one of them offline, which points at x.
  const sim = newSim(61);
  const x = sim.ids.find((id) => id !== sim.leader)!;
  const others = sim.ids.filter((id) => id !== x);
  sim.runUntil(sim.now + 8000);
  sim.dialFail([x], others, true);
  sim.runUntil(sim.now + 20_000);
  for (const o of others) {
    const unheard = sim.warnings.filter((w) => w.node === o && w.msg.includes(`not hear ${o} (this node)`)).map((w) => w.msg);
    t.equal(unheard.length, 1, `${o} warned once that ${x} does not hear it`);
    t.match(unheard[0], new RegExp(`^${x} does not hear ${o} \\(this node\\) .* ${x} hears no other member either\\b.* ${x}'s own dials`), `${o}'s warning says ${x} may be the odd one out`);
  }
  // One peer that cannot dial a member is no such case: its view shows only that member offline.
  const one = newSim(62);
  const y = one.ids.find((id) => id !== one.leader)!;
  const z = one.ids.find((id) => id !== y && id !== one.leader)!;
  one.runUntil(one.now + 8000);
  one.dialFail([z], [y], true);
  one.runUntil(one.now + 20_000);
  const alone = one.warnings.filter((w) => w.msg.includes('(this node)')).map((w) => w.msg);
  t.equal(alone.length, 1, `${y} warned that ${z} does not hear it`);
  t.notMatch(alone[0], /hears no other member/, 'without blaming the peer');
});
