/**
 * A follower in probe state with a probe outstanding, whose heartbeat answers overtake the
 * probe's answer (the transport sends heartbeats ahead of queued appends, peer-link.ts). Each
 * answer lets the leader probe again (to recover a lost probe, as etcd does once a heartbeat);
 * that re-probe is empty, so a burst of large appends is not sent again every heartbeat.
 */
import t, { type Test } from 'tap';
import type { Message } from '../../src/raft/index.js';
import { rawCluster, type RawCluster, type RawMember } from './raw-cluster.js';

type Append = Extract<Message, { type: 'Append' }>;

const isAppendTo =
  (id: string) =>
  (m: Message): m is Append =>
    m.type === 'Append' && m.to === id;

/** A leader with follower `f` in probe state and one probe append carrying ~900 KB queued for it. */
function probing(): { c: RawCluster; leader: RawMember; f: RawMember; probe: Append } {
  const c = rawCluster(['a', 'b', 'c']);
  const leader = c.elect();
  if (!leader) throw new Error('no leader elected');
  leader.node.propose(new TextEncoder().encode('x=0'));
  c.pump();
  const f = c.nodes.find((n) => n !== leader)!;
  // As the transport reports a peer whose batch went unacknowledged.
  leader.node.reportUnreachable(f.id);
  for (let i = 0; i < 3; i++) leader.node.propose(new TextEncoder().encode(`big${i}=${'v'.repeat(300_000)}`));
  c.pump(false);
  const probes = c.pending(isAppendTo(f.id)) as Append[];
  if (probes.length !== 1 || probes[0]!.entries.length !== 3) throw new Error('expected one probe with the three entries');
  return { c, leader, f, probe: probes[0]! };
}

/** One heartbeat round between the leader and `f` only, its messages overtaking everything queued. */
function heartbeatRound(c: RawCluster, leader: RawMember, f: RawMember): void {
  leader.node.tick();
  c.pump(false);
  for (const hb of c.take((m) => m.type === 'Heartbeat' && m.to === f.id)) c.deliver(hb);
  for (const resp of c.take((m) => m.type === 'HeartbeatResp' && m.from === f.id)) c.deliver(resp);
}

function caughtUp(t: Test, leader: RawMember, f: RawMember): void {
  const ls = leader.node.status();
  t.equal(f.node.status().lastIndex, ls.lastIndex, 'the follower has every entry');
  t.same(f.applied, leader.applied, 'and applied them');
  t.equal(ls.progress.get(f.id)?.state, 'replicate', 'its progress is back in replicate state');
  t.equal(ls.progress.get(f.id)?.match, ls.lastIndex, 'matching the last index');
}

void t.test('heartbeat answers overtaking a probe do not duplicate its entries', async (t) => {
  const { c, leader, f, probe } = probing();
  t.equal(leader.node.status().progress.get(f.id)?.state, 'probe', 'the follower is probed');

  for (let i = 0; i < 5; i++) heartbeatRound(c, leader, f);
  const appends = c.pending(isAppendTo(f.id)) as Append[];
  const withEntries = appends.filter((m) => m.entries.length > 0);
  t.equal(withEntries.length, 1, 'only the probe carries entries (before the fix: 6, five duplicates)');
  t.equal(appends.length, 6, 'each heartbeat answer brought one re-probe');
  t.ok(
    appends.slice(1).every((m) => m.prevIndex === probe.prevIndex && m.prevTerm === probe.prevTerm),
    'each re-probe is at the outstanding probe’s prev index and term',
  );

  // Everything arrives, the empty re-probes' answers after the probe's: they must be harmless.
  c.pump();
  caughtUp(t, leader, f);
  t.equal(
    c.pending(isAppendTo(f.id)).length,
    0,
    'nothing more is queued for the follower',
  );
});

void t.test('a lost probe is still recovered by the empty re-probe a heartbeat answer brings', async (t) => {
  const { c, leader, f } = probing();
  t.equal(c.take(isAppendTo(f.id)).length, 1, 'the probe is lost');

  heartbeatRound(c, leader, f);
  const reprobe = c.pending(isAppendTo(f.id)) as Append[];
  t.equal(reprobe.length, 1, 'the heartbeat answer brought one re-probe');
  t.equal(reprobe[0]?.entries.length, 0, 'with no entries');

  // Its answer (an accept at the follower's match) puts the follower back in replicate state,
  // and the next append carries the entries: no further heartbeat needed.
  c.pump();
  caughtUp(t, leader, f);
});
