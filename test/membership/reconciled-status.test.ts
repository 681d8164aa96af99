import t from 'tap';
import { reconcileRows, type ReconcileRowsInput } from '../../src/membership/reconciled-status.js';
import { assess } from '../../src/membership/status-aggregator.js';
import type { ReceivedView } from '../../src/membership/view-table.js';
import type { MemberStatus } from '../../src/membership/types.js';

const ids = ['c1', 'c2', 'c3', 'c4', 'c5'];
const NOW = 10_000;

function views(sees: Record<string, { heard: readonly string[]; connected?: boolean }>): Map<string, ReceivedView> {
  const m = new Map<string, ReceivedView>();
  for (const [reporter, { heard, connected }] of Object.entries(sees)) {
    m.set(reporter, {
      receivedAt: NOW,
      direct: true,
      via: reporter,
      view: {
        reporter,
        incarnation: 1,
        appliedIndex: 0,
        version: null,
        seq: 1,
        connected: connected ?? true,
        entries: ids.map((id) => ({ id, status: id === reporter || heard.includes(id) ? 'online' : 'offline', lastContactAgoMs: 0, timeoutMs: 2000 })),
      },
    });
  }
  return m;
}

function rows(self: string, stale: boolean, fresh: Map<string, ReceivedView>, local: Record<string, MemberStatus>, committed: Record<string, MemberStatus>) {
  const input: ReconcileRowsInput = {
    self,
    members: ids,
    stale,
    local: new Map(Object.entries(local)),
    committed: new Map(Object.entries(committed)),
    freshViews: fresh,
    assessment: assess({ voters: ids, members: ids, now: NOW, viewTtlMs: 1500, views: fresh }),
  };
  return Object.fromEntries(reconcileRows(input).map((r) => [r.id, r]));
}

const allOnline = Object.fromEntries(ids.map((i) => [i, 'online' as MemberStatus]));
const others = (x: string) => ids.filter((i) => i !== x);

void t.test('before the cluster state commits, the quorum view at the answering node wins', async (t) => {
  // c5 just died: c1..c4 see it offline, the committed state still says online.
  const fresh = views({ c1: { heard: ['c2', 'c3', 'c4'] }, c2: { heard: ['c1', 'c3', 'c4'] }, c3: { heard: ['c1', 'c2', 'c4'] } });
  const r = rows('c1', false, fresh, { c2: 'online', c3: 'online', c4: 'online', c5: 'offline' }, allOnline);
  t.match(r.c5, { online: false, localState: 'offline', clusterState: 'online', basis: 'quorum-view', stale: false });
  t.match(r.c1, { online: true, localState: 'online', basis: 'quorum-view' });
});

void t.test("one node's bad link shows in localState but not in online", async (t) => {
  const fresh = views({ c1: { heard: ['c2', 'c3', 'c4'] }, c2: { heard: others('c2') }, c3: { heard: others('c3') } });
  const r = rows('c1', false, fresh, { c2: 'online', c3: 'online', c4: 'online', c5: 'offline' }, allOnline);
  t.match(r.c5, { online: true, localState: 'offline', clusterState: 'online' });
});

void t.test('a node cut off from the quorum says so: itself offline, stale, and the others as last committed', async (t) => {
  // Only c1's own view is fresh; it has no leader contact.
  const r = rows('c1', true, views({ c1: { heard: [], connected: false } }), { c2: 'offline', c3: 'offline', c4: 'offline', c5: 'offline' }, allOnline);
  t.match(r.c1, { online: false, stale: true, basis: 'self' });
  for (const id of others('c1')) t.match(r[id], { online: true, stale: true, basis: 'committed' }, `${id}: not its stale local view`);
});

void t.test('in a minority partition the members on our side are offline too, by their own word', async (t) => {
  // c4 and c5 are cut from c1..c3 (which keep the quorum); they still hear each other.
  const fresh = views({ c4: { heard: ['c5'], connected: false }, c5: { heard: ['c4'], connected: false } });
  const r = rows('c4', true, fresh, { c1: 'offline', c2: 'offline', c3: 'offline', c5: 'online' }, allOnline);
  t.match(r.c4, { online: false });
  t.match(r.c5, { online: false, basis: 'peer-connected' });
  t.match(r.c1, { online: true, basis: 'committed' });
});

void t.test('during an election (stale, but hearing a quorum) the quorum view still answers', async (t) => {
  // The leader c1 was killed; c2..c5 see it offline and have no leader yet.
  const fresh = views({
    c2: { heard: ['c3', 'c4', 'c5'], connected: false },
    c3: { heard: ['c2', 'c4', 'c5'], connected: false },
    c4: { heard: ['c2', 'c3', 'c5'], connected: false },
  });
  const r = rows('c2', true, fresh, { c1: 'offline', c3: 'online', c4: 'online', c5: 'online' }, allOnline);
  t.match(r.c1, { online: false, stale: true, basis: 'quorum-view' });
  t.match(r.c2, { online: true, stale: true });
  t.match(r.c3, { online: true });
});

void t.test('without a committed status or any view, the local detector answers', async (t) => {
  const r = rows('c1', true, views({ c1: { heard: ['c2'] } }), { c2: 'online', c3: 'offline' }, {});
  t.match(r.c3, { online: false, clusterState: null, basis: 'local' });
  t.match(r.c2, { online: true, basis: 'local' });
});
