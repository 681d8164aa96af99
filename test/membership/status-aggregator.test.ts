import t from 'tap';
import { assess, decide, entryVote, quorumOf, slowLinkReporters, type Assessment, type ViewAging } from '../../src/membership/status-aggregator.js';
import type { ReceivedView } from '../../src/membership/view-table.js';
import type { MemberStatus } from '../../src/membership/types.js';
import { seededRng } from '../../src/util/rng.js';

const TTL = 1500;

/** `sees[r]` = the members reporter r hears from; everyone else in `members` it sees offline. */
function viewsFrom(members: readonly string[], sees: Record<string, readonly string[]>, receivedAt: Record<string, number> = {}, now = 10_000) {
  const views = new Map<string, ReceivedView>();
  for (const [reporter, heard] of Object.entries(sees)) {
    views.set(reporter, {
      receivedAt: receivedAt[reporter] ?? now,
      direct: true,
      via: reporter,
      view: {
        reporter,
        incarnation: 1,
        appliedIndex: 0,
        version: null,
        seq: 1,
        connected: true,
        entries: members.map((id) => ({
          id,
          status: id === reporter || heard.includes(id) ? ('online' as const) : ('offline' as const),
          lastContactAgoMs: 0,
          timeoutMs: 2230,
        })),
      },
    });
  }
  return views;
}

const statusOf = (a: Assessment, id: string): MemberStatus | 'undecided' => {
  if (a.kind !== 'quorum') return 'undecided';
  const v = a.verdicts.get(id);
  return v?.kind === 'decided' ? v.status : 'undecided';
};

const all = (ids: readonly string[], except: readonly string[] = []): string[] => ids.filter((i) => !except.includes(i));
const allOnline = (ids: readonly string[]) => new Map(ids.map((i) => [i, 'online' as MemberStatus]));

void t.test('one bad link (either direction, leader included) never flips a healthy member', async (t) => {
  const ids = ['c1', 'c2', 'c3'];
  // The c2-c3 link is down both ways: c2 and c3 each see the other offline.
  const a = assess({ voters: ids, members: ids, now: 10_000, viewTtlMs: TTL, views: viewsFrom(ids, { c1: ids, c2: ['c1'], c3: ['c1'] }) });
  for (const id of ids) t.equal(statusOf(a, id), 'online', `${id} stays online`);
  t.same(decide(a, allOnline(ids)), []);
  // The leader's own link to c3 is down: c1 (the assessing leader) sees c3 offline, c2 online.
  const b = assess({ voters: ids, members: ids, now: 10_000, viewTtlMs: TTL, views: viewsFrom(ids, { c1: ['c2'], c2: ids }) });
  t.equal(statusOf(b, 'c3'), 'online', 'a tie keeps a member online');
  t.same(decide(b, allOnline(ids)), []);
});

void t.test('an isolated member goes offline, with a reason naming the timeout and the voters', async (t) => {
  const ids = ['c1', 'c2', 'c3'];
  const a = assess({ voters: ids, members: ids, now: 10_000, viewTtlMs: TTL, views: viewsFrom(ids, { c1: ['c2'], c2: ['c1'] }) });
  t.equal(statusOf(a, 'c3'), 'offline');
  t.same(decide(a, allOnline(ids)), [{ id: 'c3', status: 'offline', reason: 'heartbeat timeout 2230ms (heard by 0 of 3 voters, 2 needed; silent for c1, c2)' }]);
  t.same(decide(a, new Map([...allOnline(ids), ['c3', 'offline']])), [], 'nothing to change once committed');
  const back = assess({ voters: ids, members: ids, now: 10_000, viewTtlMs: TTL, views: viewsFrom(ids, { c1: ids, c2: ids, c3: ids }) });
  t.same(decide(back, new Map([...allOnline(ids), ['c3', 'offline']])), [
    { id: 'c3', status: 'online', reason: 'heartbeat resumed (heard by 3 of 3 voters counting itself, 2 needed)' },
  ]);
});

void t.test('an isolated leader decides nothing; the new leader takes the old one offline', async (t) => {
  const ids = ['c1', 'c2', 'c3'];
  const now = 10_000;
  // c1 was leader and got isolated at t=7000: the views it holds from c2, c3 are 3 s old and
  // its own detector now sees both offline.
  const atOld = assess({
    voters: ids,
    members: ids,
    now,
    viewTtlMs: TTL,
    views: viewsFrom(ids, { c1: [], c2: ids, c3: ids }, { c2: 7000, c3: 7000 }),
  });
  t.equal(atOld.kind, 'no-quorum', 'only its own view is fresh');
  t.same(decide(atOld, allOnline(ids)), [], 'so it proposes nothing, least of all its stale view');
  // c2 won the election; it holds fresh views from itself and c3, and c1's last view expired.
  const atNew = assess({
    voters: ids,
    members: ids,
    now,
    viewTtlMs: TTL,
    views: viewsFrom(ids, { c1: ids, c2: ['c3'], c3: ['c2'] }, { c1: 7000 }),
  });
  t.same(decide(atNew, allOnline(ids)).map((d) => [d.id, d.status]), [['c1', 'offline']]);
});

void t.test('views older than the TTL do not vote, and a learner is judged but does not vote', async (t) => {
  const voters = ['c1', 'c2', 'c3'];
  const members = [...voters, 'l1'];
  // c3 is dead; its last view (seeing everyone online) arrived 1.6 s ago and must not vote.
  const a = assess({
    voters,
    members,
    now: 10_000,
    viewTtlMs: TTL,
    views: viewsFrom(members, { c1: ['c2', 'l1'], c2: ['c1', 'l1'], c3: members, l1: ['c1'] }, { c3: 8400 }),
  });
  t.equal(statusOf(a, 'c3'), 'offline');
  t.equal(statusOf(a, 'c2'), 'online', 'the learner l1 seeing c2 offline has no vote');
  t.equal(statusOf(a, 'l1'), 'online');
  // A reporter that does not know a member yet abstains.
  const b = assess({ voters, members: [...members, 'new'], now: 10_000, viewTtlMs: TTL, views: viewsFrom(members, { c1: members, c2: members }) });
  t.same(b.kind === 'quorum' ? b.verdicts.get('new') : null, { kind: 'no-electorate' });
});

void t.test('asymmetric links: a member counts as online when the quorum hears it', async (t) => {
  const ids = ['c1', 'c2', 'c3', 'c4', 'c5'];
  // c5 can send but not receive: everyone hears it, it hears no one (and its views still arrive).
  const a = assess({ voters: ids, members: ids, now: 10_000, viewTtlMs: TTL, views: viewsFrom(ids, { c1: ids, c2: ids, c3: ids, c4: ids, c5: [] }) });
  for (const id of ids) t.equal(statusOf(a, id), 'online', `${id} online`);
  // c5 can receive but not send: nobody hears it; its own view never arrives.
  const b = assess({ voters: ids, members: ids, now: 10_000, viewTtlMs: TTL, views: viewsFrom(ids, { c1: all(ids, ['c5']), c2: all(ids, ['c5']), c3: all(ids, ['c5']), c4: all(ids, ['c5']) }) });
  t.equal(statusOf(b, 'c5'), 'offline');
  t.equal(quorumOf(5), 3);
});

void t.test('11 nodes with random node and link failures: every decision matches the definition of online', async (t) => {
  const ids = Array.from({ length: 11 }, (_, i) => `c${i + 1}`);
  const rng = seededRng(20261123);
  let decided = 0;
  let offlineByLinks = 0;
  let undetermined = 0;
  let judged = 0;
  for (let round = 0; round < 500; round++) {
    const shuffled = [...ids].sort(() => rng.next() - 0.5);
    const faulty = new Set(shuffled.slice(0, rng.int(0, 5))); // up to 4 dead or isolated
    const healthy = ids.filter((i) => !faulty.has(i));
    // Each healthy node has at most 2 bad directed links to other healthy nodes.
    const bad = new Set<string>();
    const degree = new Map(ids.map((i) => [i, 0]));
    for (let k = 0; k < rng.int(0, 12); k++) {
      const a = healthy[rng.int(0, healthy.length)]!;
      const b = healthy[rng.int(0, healthy.length)]!;
      if (a === b || degree.get(a)! >= 2 || degree.get(b)! >= 2) continue;
      degree.set(a, degree.get(a)! + 1);
      degree.set(b, degree.get(b)! + 1);
      bad.add(`${a}>${b}`);
      if (rng.next() < 0.5) bad.add(`${b}>${a}`);
    }
    const hears = (r: string, x: string): boolean => !faulty.has(x) && !bad.has(`${x}>${r}`);
    // The definition: online when a quorum of voters, itself included, hears it.
    const truth = (x: string): MemberStatus => (!faulty.has(x) && 1 + healthy.filter((r) => r !== x && hears(r, x)).length >= quorumOf(ids.length) ? 'online' : 'offline');
    // Every healthy node assesses, as a leader would; views reach it over working links,
    // first-hand or relayed by one node that received them first-hand.
    for (const assessor of healthy) {
      const sees: Record<string, string[]> = {};
      for (const r of healthy) {
        const reaches = r === assessor || hears(assessor, r) || healthy.some((q) => q !== r && hears(q, r) && hears(assessor, q));
        if (reaches) sees[r] = ids.filter((x) => hears(r, x));
      }
      const a = assess({ voters: ids, members: ids, now: 10_000, viewTtlMs: TTL, views: viewsFrom(ids, sees) });
      const heard = Object.keys(sees).length;
      if (a.kind !== 'quorum') {
        t.ok(heard < quorumOf(ids.length), `round ${round}: no quorum at ${assessor} only when it holds fewer than 6 views (${heard})`);
        continue;
      }
      // A view that cannot reach the assessor even relayed is a hearer it cannot count.
      if (heard < healthy.length) continue;
      decided++;
      for (const id of ids) {
        judged++;
        if (!faulty.has(id) && truth(id) === 'offline') offlineByLinks++;
        if (statusOf(a, id) === 'undecided') {
          // Rule 5: the voters whose views it lacks (the dead ones) might hear the member.
          const hearers = (faulty.has(id) ? 0 : 1) + healthy.filter((r) => r !== id && hears(r, id)).length;
          const unknown = [...faulty].filter((f) => f !== id).length;
          if (truth(id) !== 'offline' || hearers + unknown < quorumOf(ids.length)) {
            t.fail(`round ${round} (seed 20261123) at ${assessor}: ${id} undecided, truth ${truth(id)}, ${hearers} hearers and ${unknown} voters unheard`);
          }
          undetermined++;
          continue;
        }
        if (statusOf(a, id) !== truth(id)) {
          t.fail(`round ${round} (seed 20261123) at ${assessor}: ${id} judged ${statusOf(a, id)}, truth ${truth(id)}; bad links ${[...bad].join(' ')}`);
        }
      }
    }
  }
  t.ok(decided > 3000, `most assessments held every running voter's view (${decided})`);
  t.ok(offlineByLinks > 0, `running members that too few voters hear were judged too (${offlineByLinks})`);
  t.ok(undetermined < judged / 10, `undetermined (never wrong, the committed status stands) only where unheard voters could make a quorum: ${undetermined} of ${judged}`);
});

void t.test('rule 4: an entry is read forward to the moment of the assessment, within the aging horizon only', async (t) => {
  const aging: ViewAging = { horizonMs: 500, transitMs: new Map([['r', 100]]), slow: new Set() };
  const near = { id: 'x', status: 'online' as const, lastContactAgoMs: 2000, timeoutMs: 2230 };
  t.equal(entryVote('r', near, 9_900, 10_000, aging), 'online', '2000 + 100 old + 100 transit = 2200, not past 2230');
  t.equal(entryVote('r', near, 9_900, 10_031, aging), 'offline', '2000 + 131 + 100 = 2231: the reporter has timed x out by now');
  t.equal(entryVote('r', near, 9_900, 10_031, undefined), 'online', 'without aging: as reported');
  t.equal(entryVote('q', near, 9_900, 10_131, aging), 'offline', 'a reporter without an RTT estimate: no transit');
  t.equal(entryVote('q', near, 9_900, 10_100, aging), 'online');
  t.equal(entryVote('r', near, 9_500, 10_000, aging), 'offline', 'at the horizon (500 ms old) still read forward');
  t.equal(entryVote('r', near, 9_499, 10_000, aging), 'online', 'older than the horizon: its reporter is cut off, take it as reported');
  const far = { horizonMs: 500, transitMs: new Map([['r', 60_000]]), slow: new Set<string>() };
  t.equal(entryVote('r', { ...near, lastContactAgoMs: 1000 }, 10_000, 10_000, far), 'online', 'transit is capped at the horizon: 1000 + 500 < 2230');
  t.equal(entryVote('r', { ...near, status: 'offline', lastContactAgoMs: 0 }, 10_000, 10_000, aging), 'offline', 'offline is never read back to online');
  t.equal(entryVote('r', { ...near, lastContactAgoMs: null }, 9_000, 10_000, aging), 'online', 'never heard: as reported');
  const healthy = { ...near, lastContactAgoMs: 450 };
  t.equal(entryVote('r', healthy, 9_500, 10_000, aging), 'online', 'a member heard within the last ping interval or two never flips');
});

void t.test('rule 4 in a quorum: a member six detectors are about to time out is offline before their pushes arrive', async (t) => {
  const members = ['c1', 'c2', 'c3', 'c4', 'c5'];
  const now = 10_000;
  const views = new Map<string, ReceivedView>();
  for (const reporter of ['c1', 'c2', 'c3', 'c4']) {
    const receivedAt = reporter === 'c1' ? now : now - 150;
    views.set(reporter, {
      receivedAt,
      direct: true,
      via: reporter,
      view: {
        reporter,
        incarnation: 1,
        appliedIndex: 0,
        version: null,
        seq: 1,
        connected: true,
        entries: members.map((id) => ({
          id,
          status: 'online' as const,
          // c5 has been silent for 2.15 s at every reporter (c1's own view is current).
          lastContactAgoMs: id === reporter ? 0 : id === 'c5' ? (reporter === 'c1' ? 2300 : 2150) : 200,
          timeoutMs: 2230,
        })),
      },
    });
  }
  const transitMs = new Map([['c2', 40], ['c3', 40], ['c4', 40]]);
  const input = { voters: members, members, views, now, viewTtlMs: TTL };
  t.equal(statusOf(assess(input), 'c5'), 'online', 'as reported: every view still says online');
  const aged = assess({ ...input, aging: { horizonMs: 500, transitMs, slow: new Set() } });
  t.equal(statusOf(aged, 'c5'), 'offline', 'read forward: 2150 + 150 + 40 > 2230 at every reporter');
  for (const id of ['c1', 'c2', 'c3', 'c4']) t.equal(statusOf(aged, id), 'online', `${id}, heard 200 ms before its view, stays online`);
});

void t.test('rule 4b: a reporter on a slow link has no say either way, so it can leave a verdict undetermined but never make it offline', async (t) => {
  t.same([...slowLinkReporters(new Map([['a', 400], ['b', 1101], ['c', 250]]), [250, 300, 900], 500)], ['b'], 'slow beyond twice the typical round trip (the lower median, 300) plus the horizon: 1100 is');
  t.same([...slowLinkReporters(new Map([['a', 1100]]), [250, 300, 900], 500)], [], '2 x 300 + 500 = 1100 exactly is not');
  t.same([...slowLinkReporters(new Map([['a', 5000]]), [], 500)], [], 'no average yet: nobody is slow');
  const members = ['c1', 'c2', 'c3'];
  const now = 10_000;
  // c1 (assessing) timed c3 out; c2's view, which reached c1 late, still says it hears c3.
  const views = viewsFrom(members, { c1: ['c2'], c2: ['c1', 'c3'] }, {}, now);
  const input = { voters: members, members, views, now, viewTtlMs: TTL };
  const transitMs = new Map([['c2', 100]]);
  t.equal(statusOf(assess({ ...input, aging: { horizonMs: 500, transitMs, slow: new Set() } }), 'c3'), 'online', "c2's late word makes c3 heard by a quorum, counting itself");
  const slow = assess({ ...input, aging: { horizonMs: 500, transitMs, slow: new Set(['c2']) } });
  t.equal(statusOf(slow, 'c3'), 'offline', 'without it: nobody hears c3, and c2 alone could not make up the quorum');
  t.equal(statusOf(slow, 'c2'), 'online', "c2 itself: c1 hears it and it counts itself (its own view arrives)");
  t.equal(statusOf(slow, 'c1'), 'undecided', 'c1: only itself heard, and c2 (no say) with c3 (no view) could make up the quorum: undetermined, not offline');
});
