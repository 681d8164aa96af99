/** The status truth from the harness's faults, and the accuracy and convergence computed from samples. */
import t from 'tap';
import { LinkTable } from '../../chaos/link-faults.js';
import { analyzeStatus, percentiles, type StatusSample, type World } from '../../chaos/status-analysis.js';
import { computeTruth, type NodeCondition } from '../../chaos/truth.js';

const healthy: NodeCondition = { running: true, member: true, voter: true };

function nodes(n: number, overrides: Record<string, Partial<NodeCondition>> = {}): Map<string, NodeCondition> {
  return new Map(Array.from({ length: n }, (_, i) => `c${i + 1}`).map((id) => [id, { ...healthy, ...overrides[id] }]));
}

const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `c${i + 1}`);

function online(truth: ReturnType<typeof computeTruth>): string[] {
  return [...truth.online].filter(([, on]) => on).map(([id]) => id);
}

void t.test('the truth follows the faults the harness made', async (t) => {
  const links = new LinkTable();
  let truth = computeTruth(nodes(3), links);
  t.same(online(truth), ['c1', 'c2', 'c3'], 'healthy: all online');
  t.same([...truth.majoritySide], ['c1', 'c2', 'c3']);

  truth = computeTruth(nodes(3, { c1: { running: false } }), links);
  t.same(online(truth), ['c2', 'c3'], 'killed or paused: offline');
  t.same([...truth.majoritySide], ['c2', 'c3']);

  links.setCut(['c1'], ['c2', 'c3'], true);
  links.setCut(['c2', 'c3'], ['c1'], true);
  truth = computeTruth(nodes(3), links);
  t.same(online(truth), ['c2', 'c3'], 'isolated: offline');
  t.same([...truth.majoritySide], ['c2', 'c3'], 'and not on the majority side');

  links.clear();
  links.setCut(['c1'], ['c2', 'c3'], true);
  truth = computeTruth(nodes(3), links);
  t.same(online(truth), ['c2', 'c3'], 'cannot send: nobody hears it, offline');

  links.clear();
  links.setCut(['c2', 'c3'], ['c1'], true);
  truth = computeTruth(nodes(3), links);
  t.equal(truth.online.get('c1'), null, 'cannot receive: undetermined (see the last test)');
  t.same([...truth.majoritySide], ['c2', 'c3'], 'and its own view is stale');

  links.clear();
  links.setCut(['c1'], ['c2'], true);
  truth = computeTruth(nodes(3), links);
  t.same(online(truth), ['c1', 'c2', 'c3'], 'one bad link flips nobody (a tie keeps online)');
  t.same([...truth.majoritySide], ['c1', 'c2', 'c3']);

  links.clear();
  links.setCut(['c1', 'c2'], ['c3', 'c4', 'c5'], true);
  links.setCut(['c3', 'c4', 'c5'], ['c1', 'c2'], true);
  truth = computeTruth(nodes(5), links);
  t.same(online(truth), ['c3', 'c4', 'c5'], 'a minority side is offline as a whole');
  t.same([...truth.majoritySide], ['c3', 'c4', 'c5']);

  links.clear();
  truth = computeTruth(nodes(3, { c1: { running: false, unsettled: true } }), links);
  t.equal(truth.online.get('c1'), null, 'starting (spawned, API not answering yet): undetermined');
  t.same([...truth.majoritySide], ['c2', 'c3']);
  truth = computeTruth(nodes(3, { c1: { unsettled: true } }), links);
  t.equal(truth.online.get('c1'), null, 'being removed (the conf change is in flight): undetermined');
  t.same([...truth.majoritySide], ['c2', 'c3']);

  truth = computeTruth(nodes(4, { c4: { member: false, voter: false } }), links);
  t.notOk(truth.online.has('c4'), 'a removed member is not expected in the list');
  t.same([...truth.majoritySide], ['c1', 'c2', 'c3']);
});

function world(atMs: number, offline: string[], cause: string, absent: string[] = []): World {
  const links = new LinkTable();
  const conds = new Map(ids(3).map((id) => [id, { running: !offline.includes(id), member: !absent.includes(id), voter: !absent.includes(id) }]));
  return { atMs, truth: computeTruth(conds, links), cause, kind: cause === 'start' ? 'start' : cause.startsWith('remove') ? 'membership' : 'fault' };
}

function sample(sampler: string, sentMs: number, offline: string[], absent: string[] = []): StatusSample {
  return {
    sampler,
    sentMs,
    receivedMs: sentMs + 2,
    rows: ids(3)
      .filter((id) => !absent.includes(id))
      .map((id) => ({ id, online: !offline.includes(id), leader: id === 'c2' })),
    stale: false,
  };
}

void t.test('accuracy counts what majority-side nodes report outside the grace window', async (t) => {
  const worlds = [world(0, [], 'start'), world(1000, ['c1'], 'kill c1'), world(6000, [], 'restart c1')];
  const samples: StatusSample[] = [];
  for (let at = 0; at < 9000; at += 100) {
    for (const s of ['c1', 'c2', 'c3']) {
      if (s === 'c1' && at >= 1000 && at < 6000) continue; // dead: no answers
      // c2 notices at 2000, c3 at 2400; both notice the restart 500 ms after it.
      const sees = (s === 'c2' && at >= 2000) || (s === 'c3' && at >= 2400) || s === 'c1';
      const off = at >= 1000 && at < 6500 && sees ? ['c1'] : [];
      samples.push(sample(s, at, off));
    }
  }
  // One wrong answer outside any grace window.
  samples.push(sample('c3', 4000.5, []));
  const a = analyzeStatus(worlds, samples, 1500, 9000);
  t.equal(a.mismatchCount, 1, 'only the late wrong answer counts');
  t.match(a.mismatches[0], { sampler: 'c3', subject: 'c1', expected: 'offline', reported: 'online' });
  t.ok(a.excluded > 0, 'answers within the grace window are excluded');
  t.ok(a.accuracy < 1 && a.accuracy > 0.99, `accuracy ${a.accuracy}`);
  t.same(
    a.changes.map((c) => [c.subject, c.to, c.convergedMs]),
    [
      ['c1', 'offline', 1402],
      ['c1', 'online', 502],
    ],
    'convergence: until the slowest majority-side node reported it',
  );
  t.same(a.convergenceMs, { p50: 502, p99: 1402, max: 1402 });
});

void t.test('a change nobody reports in time is unconverged, and a removed member must disappear', async (t) => {
  const worlds = [world(0, [], 'start'), world(1000, [], 'remove c3', ['c3'])];
  const samples: StatusSample[] = [];
  for (let at = 0; at < 5000; at += 100) {
    samples.push(sample('c1', at, [], at > 1300 ? ['c3'] : []));
    samples.push(sample('c2', at, [])); // c2 keeps listing c3
  }
  const a = analyzeStatus(worlds, samples, 1000, 5000);
  t.equal(a.unconverged, 1);
  t.equal(a.changes[0]?.to, 'absent');
  t.equal(a.changes[0]?.kind, 'membership', 'a removal is a membership change, converging apart from the faults');
  t.ok(a.mismatches.every((m) => m.sampler === 'c2' && m.reported === 'online' && m.expected === 'absent'));
});

void t.test('a node that dies before it could report a change is not required to report it', async (t) => {
  // Five nodes: c1 dies at 1000; c5 dies at 1300, before any detector could have fired, and
  // comes back at 7000, after c1 did. c2-c4 report c1 offline from 1800 to 6200, c5 from 2100
  // to 7200.
  const at = (atMs: number, down: string[], cause: string): World => ({
    atMs,
    truth: computeTruth(nodes(5, Object.fromEntries(down.map((id) => [id, { running: false }]))), new LinkTable()),
    cause,
    kind: cause === 'start' ? 'start' : 'fault',
  });
  const worlds = [at(0, [], 'start'), at(1000, ['c1'], 'kill c1'), at(1300, ['c1', 'c5'], 'kill c5'), at(6000, ['c5'], 'restart c1'), at(7000, [], 'restart c5')];
  const row = (id: string, down: readonly string[]) => ({ id, online: !down.includes(id), leader: id === 'c2' });
  const samples: StatusSample[] = [];
  for (let t0 = 0; t0 < 9000; t0 += 100) {
    for (const sampler of ['c2', 'c3', 'c4']) {
      const down = [...(t0 >= 1800 && t0 < 6200 ? ['c1'] : []), ...(t0 >= 2100 && t0 < 7200 ? ['c5'] : [])];
      samples.push({ sampler, sentMs: t0, receivedMs: t0 + 2, rows: ids(5).map((id) => row(id, down)), stale: false });
    }
    if (t0 < 1000 || t0 >= 6000) samples.push({ sampler: 'c1', sentMs: t0, receivedMs: t0 + 2, rows: ids(5).map((id) => row(id, t0 < 7200 && t0 >= 6000 ? ['c5'] : [])), stale: false });
    if (t0 < 1300 || t0 >= 7000) samples.push({ sampler: 'c5', sentMs: t0, receivedMs: t0 + 2, rows: ids(5).map((id) => row(id, [])), stale: false });
  }
  const a = analyzeStatus(worlds, samples, 1000, 9000);
  t.equal(a.unconverged, 0, 'c5 is not held to a change it died before seeing');
  t.match(a.changes.find((c) => c.subject === 'c1' && c.to === 'offline'), { convergedMs: 802, samplers: 3 }, 'c1 offline: c2-c4 only');
  t.match(a.changes.find((c) => c.subject === 'c1' && c.to === 'online'), { convergedMs: 202, samplers: 4 }, 'c1 back: c5 is still down');
});

void t.test('a change overtaken within the grace window is superseded, not unconverged', async (t) => {
  // c3 is added (offline: not started yet) and comes up 300 ms later; c2 never lists it offline.
  const worlds = [world(0, [], 'start', ['c3']), world(1000, ['c3'], 'add c3'), world(1300, [], 'c3 joined')];
  const samples: StatusSample[] = [];
  for (let at = 0; at < 4000; at += 100) {
    samples.push(sample('c1', at, at >= 1000 && at < 1300 ? ['c3'] : [], at < 1000 ? ['c3'] : []));
    samples.push(sample('c2', at, [], at < 1400 ? ['c3'] : []));
    if (at >= 1300) samples.push(sample('c3', at, []));
  }
  const a = analyzeStatus(worlds, samples, 1000, 4000);
  t.equal(a.unconverged, 0);
  t.match(a.changes[0], { subject: 'c3', to: 'offline', convergedMs: null, superseded: true });
  t.match(a.changes[1], { subject: 'c3', to: 'online' });
  t.ok(a.changes[1]!.convergedMs !== null);
});

void t.test('percentiles are nearest-rank', async (t) => {
  t.same(percentiles([]), { p50: 0, p99: 0, max: 0 });
  t.same(percentiles([5]), { p50: 5, p99: 5, max: 5 });
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  t.same(percentiles(hundred), { p50: 50, p99: 99, max: 100 });
});

void t.test('a node that can send but not receive is undetermined: TCP makes one-way cuts leak both ways', async (t) => {
  const links = new LinkTable();
  links.setCut(['c2', 'c3', 'c4', 'c5'], ['c1'], true);
  const truth = computeTruth(nodes(5), links);
  t.equal(truth.online.get('c1'), null, 'cut-in: undetermined');
  t.notOk(truth.majoritySide.has('c1'));
  links.clear();
  links.setCut(['c1'], ['c2'], true);
  const one = computeTruth(nodes(3), links);
  t.same([...one.online.values()], [true, true, true], 'a single directed link: both ends stay online whichever way it leaks');
});

void t.test('an answer whose request and response straddle a change is excused', async (t) => {
  const worlds = [world(0, [], 'start'), world(1000.5, ['c1'], 'kill c1')];
  // Sent before the kill, answered after it, showing the new state: not wrong.
  const straddling: StatusSample = { ...sample('c2', 1000, ['c1']), receivedMs: 1001 };
  const a = analyzeStatus(worlds, [sample('c2', 900, []), straddling], 1500, 3000);
  t.equal(a.mismatchCount, 0);
  t.equal(a.excluded, 1, 'its row for c1 is excused; the others still count');
});
