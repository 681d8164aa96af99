import t from 'tap';
import { Reconciler, acceptForwarded, judgeRepair, type LocalObservation, type SyncInput } from '../../src/membership/reconciler.js';
import { assess, type Assessment } from '../../src/membership/status-aggregator.js';
import type { ReceivedView } from '../../src/membership/view-table.js';
import type { MemberStatus } from '../../src/membership/types.js';

const ids = ['c1', 'c2', 'c3'];
const WALL = Date.parse('2026-11-23T10:00:00.000Z');

function views(sees: Record<string, readonly string[]>, now: number): Map<string, ReceivedView> {
  const m = new Map<string, ReceivedView>();
  for (const [reporter, heard] of Object.entries(sees)) {
    m.set(reporter, {
      receivedAt: now,
      direct: true,
      via: reporter,
      view: {
        reporter,
        incarnation: 1,
        appliedIndex: 0,
        version: null,
        seq: 1,
        connected: true,
        entries: ids.map((id) => ({ id, status: id === reporter || heard.includes(id) ? 'online' : 'offline', lastContactAgoMs: 0, timeoutMs: 2000 })),
      },
    });
  }
  return m;
}

const assessed = (sees: Record<string, readonly string[]>, now: number): Assessment =>
  assess({ voters: ids, members: ids, now, viewTtlMs: 1500, views: views(sees, now) });

const local = (entries: Record<string, [MemberStatus, number | null]>): Map<string, LocalObservation> =>
  new Map(Object.entries(entries).map(([id, [status, changedAt]]) => [id, { status, changedAt }]));

const committed = (entries: Record<string, MemberStatus>): Map<string, MemberStatus> => new Map(Object.entries(entries));

function input(over: Partial<SyncInput> & Pick<SyncInput, 'now' | 'local' | 'committed' | 'assessment'>): SyncInput {
  return { wallClockMs: WALL + over.now, members: ids, stale: false, ...over };
}

void t.test('a divergence the quorum confirms emits state.divergence once, asks for a repair, then state.repaired', async (t) => {
  const r = new Reconciler({ self: 'c1' });
  // c3 died at t=0; c1 and c2 see it offline, but the cluster state still says online.
  const a = assessed({ c1: ['c2'], c2: ['c1'] }, 5000);
  const first = r.sync(input({ now: 5000, local: local({ c2: ['online', null], c3: ['offline', 2100] }), committed: committed({ c1: 'online', c2: 'online', c3: 'online' }), assessment: a }));
  t.same(first.events, [
    {
      time: '2026-11-23T10:00:05.000Z',
      node: 'c1',
      type: 'state.divergence',
      subject: 'c3',
      from: 'online',
      to: 'offline',
      reason: 'local offline, cluster online; quorum view offline',
    },
  ]);
  t.same(first.repairs, [{ member: 'c3', suspected: 'offline', committed: 'online', ask: ['c2'] }]);
  t.same(r.diverging(), ['c3']);

  const again = r.sync(input({ now: 10_000, local: local({ c2: ['online', null], c3: ['offline', 2100] }), committed: committed({ c1: 'online', c2: 'online', c3: 'online' }), assessment: a }));
  t.same(again.events, [], 'one event per episode');
  t.equal(again.repairs.length, 1, 'but the repair is retried');

  const fixed = r.sync(input({ now: 15_000, local: local({ c2: ['online', null], c3: ['offline', 2100] }), committed: committed({ c1: 'online', c2: 'online', c3: 'offline' }), assessment: a }));
  t.same(fixed.events.map((e) => [e.type, e.subject, e.from, e.to, e.reason]), [['state.repaired', 'c3', 'online', 'offline', 'local and cluster state agree (offline) after 10000ms']]);
  t.same(fixed.repairs, []);
  t.same(r.diverging(), []);
});

void t.test('a disagreement younger than the grace period is a commit in flight, not a divergence', async (t) => {
  const r = new Reconciler({ self: 'c1', graceMs: 1000 });
  const a = assessed({ c1: ['c2'], c2: ['c1'] }, 5000);
  const res = r.sync(input({ now: 5000, local: local({ c2: ['online', null], c3: ['offline', 4500] }), committed: committed({ c2: 'online', c3: 'online' }), assessment: a }));
  t.same(res, { events: [], repairs: [] });
});

void t.test('when only our own link is bad the divergence is recorded but nothing is repaired', async (t) => {
  const r = new Reconciler({ self: 'c1' });
  // c1 cannot hear c3, c2 can: the quorum view sides with the committed "online".
  const a = assessed({ c1: ['c2'], c2: ['c1', 'c3'], c3: ['c1', 'c2'] }, 5000);
  const res = r.sync(input({ now: 5000, local: local({ c2: ['online', null], c3: ['offline', 100] }), committed: committed({ c2: 'online', c3: 'online' }), assessment: a }));
  t.equal(res.events[0]?.type, 'state.divergence');
  t.match(res.events[0]?.reason, /quorum view online/);
  t.same(res.repairs, []);
});

void t.test('a stale node neither reports nor repairs', async (t) => {
  const r = new Reconciler({ self: 'c1' });
  const a = assessed({ c1: [] }, 5000);
  const res = r.sync(input({ now: 5000, stale: true, local: local({ c2: ['offline', 100], c3: ['offline', 100] }), committed: committed({ c2: 'online', c3: 'online' }), assessment: a }));
  t.same(res, { events: [], repairs: [] });
});

void t.test('judgeRepair needs a quorum of answers and judges by the definition of online', async (t) => {
  const repair = { member: 'c3', suspected: 'offline' as const, committed: 'online' as const, ask: ['c2'] };
  t.equal(judgeRepair(repair, [{ from: 'c1', lastContactAgoMs: 5000, timeoutMs: 2000 }], ids), null, 'one answer of three voters is not enough');
  t.same(
    judgeRepair(
      repair,
      [
        { from: 'c1', lastContactAgoMs: 5000, timeoutMs: 2000 },
        { from: 'c2', lastContactAgoMs: null, timeoutMs: 2000 },
        { from: 'c3', lastContactAgoMs: 0, timeoutMs: 0 },
      ],
      ids,
    ),
    { id: 'c3', status: 'offline', reason: 'repair: offline: heard by 0 of 3 voters (0 of 2 asked), 2 needed' },
    "the member's own answer does not count",
  );
  t.equal(
    judgeRepair(repair, [{ from: 'c1', lastContactAgoMs: 5000, timeoutMs: 2000 }, { from: 'c2', lastContactAgoMs: 100, timeoutMs: 2000 }], ids),
    null,
    'a split keeps the committed online',
  );
  const five = ['c1', 'c2', 'c3', 'c4', 'c5'];
  const bridged = { member: 'c4', suspected: 'offline' as const, committed: 'online' as const, ask: ['c1', 'c3'] };
  const c1c2Deaf = [
    { from: 'c1', lastContactAgoMs: 4000, timeoutMs: 500 },
    { from: 'c2', lastContactAgoMs: 4000, timeoutMs: 500 },
    { from: 'c3', lastContactAgoMs: 50, timeoutMs: 500 },
  ];
  t.equal(judgeRepair(bridged, c1c2Deaf, five), null, 'across a bridge: two of three asked do not hear c4, but c3 does and unasked c5 may: not proven offline');
  t.same(
    judgeRepair(bridged, [...c1c2Deaf, { from: 'c5', lastContactAgoMs: 4000, timeoutMs: 500 }], five),
    { id: 'c4', status: 'offline', reason: 'repair: offline: heard by 2 of 5 voters (1 of 4 asked, counting itself), 3 needed' },
    'with c5 silent too, only c3 and c4 itself: offline',
  );
  t.same(
    judgeRepair({ ...bridged, suspected: 'online', committed: 'offline' }, [...c1c2Deaf, { from: 'c5', lastContactAgoMs: 60, timeoutMs: 500 }], five),
    { id: 'c4', status: 'online', reason: 'repair: online: heard by 3 of 5 voters (2 of 4 asked, counting itself), 3 needed' },
    'heard by c3 and c5 and itself: online, though two of four asked do not hear it',
  );
});

void t.test('the leader proposes each change once while it commits, and a new term re-evaluates every member at once', async (t) => {
  const r = new Reconciler({ self: 'c1', proposalRetryMs: 1000 });
  const a = assessed({ c1: ['c2'], c2: ['c1'] }, 5000);
  const c = committed({ c1: 'online', c2: 'online', c3: 'online' });
  t.same(r.lead({ now: 5000, term: 3, assessment: a, committed: c }).map((d) => [d.id, d.status]), [['c3', 'offline']]);
  t.same(r.lead({ now: 5100, term: 3, assessment: a, committed: c }), [], 'in flight: not proposed again');
  t.equal(r.lead({ now: 6100, term: 3, assessment: a, committed: c }).length, 1, 'retried after proposalRetryMs');
  t.same(r.lead({ now: 6200, term: 3, assessment: a, committed: committed({ c1: 'online', c2: 'online', c3: 'offline' }) }), [], 'committed');

  // A new leader (new term) whose committed state is missing statuses decides all of them at once.
  const fresh = new Reconciler({ self: 'c2' });
  const all = fresh.lead({ now: 7000, term: 4, assessment: assessed({ c1: ['c2', 'c3'], c2: ['c1', 'c3'], c3: ['c1', 'c2'] }, 7000), committed: new Map() });
  t.same(all.map((d) => d.id).sort(), ids);
  t.same(r.lead({ now: 6300, term: 5, assessment: a, committed: c }).length, 1, 'a term change clears the in-flight memory');
});

void t.test('a forwarded correction is accepted unless the leader has decided the opposite', async (t) => {
  const a = assessed({ c1: ['c2'], c2: ['c1'] }, 5000);
  t.ok(acceptForwarded({ id: 'c3', status: 'offline', reason: 'x' }, a));
  t.notOk(acceptForwarded({ id: 'c3', status: 'online', reason: 'x' }, a));
  t.ok(acceptForwarded({ id: 'c3', status: 'online', reason: 'x' }, assessed({ c1: [] }, 5000)), 'no quorum at the leader: trust the repair');
});
