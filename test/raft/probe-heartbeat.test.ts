/**
 * A follower in probe state with a probe outstanding, whose heartbeat answers overtake the
 * probe's answer (the transport sends heartbeats ahead of queued appends, peer-link.ts). Each
 * answer lets the leader probe again (to recover a lost probe, as etcd does once a heartbeat);
 * that re-probe carries at most 64 KiB of the probe's entries (REPROBE_MAX_BYTES, raft.ts), so
 * a burst of large appends is not sent again every heartbeat, while a small probe is re-sent
 * whole.
 */
import t, { type Test } from 'tap';
import type { Message } from '../../src/raft/index.js';
import { rawCluster, type RawCluster, type RawMember } from './raw-cluster.js';

type Append = Extract<Message, { type: 'Append' }>;

/** REPROBE_MAX_BYTES, written out so that this test also runs against code without it. */
const BUDGET = 64 * 1024;
/** An entry's bytes as appends count them (raft-log.ts entryBytes). */
const entriesBytes = (m: Append): number => m.entries.reduce((s, e) => s + e.data.length + 24, 0);

const isAppendTo =
  (id: string) =>
  (m: Message): m is Append =>
    m.type === 'Append' && m.to === id;

/** A leader with follower `f` in probe state and one probe append carrying `count` writes of
 * about `bytes` each queued for it. */
function probing(count: number, bytes: number): { c: RawCluster; leader: RawMember; f: RawMember; probe: Append } {
  const c = rawCluster(['a', 'b', 'c']);
  const leader = c.elect();
  if (!leader) throw new Error('no leader elected');
  leader.node.propose(new TextEncoder().encode('x=0'));
  c.pump();
  const f = c.nodes.find((n) => n !== leader)!;
  // As the transport reports a peer whose batch went unacknowledged.
  leader.node.reportUnreachable(f.id);
  for (let i = 0; i < count; i++) leader.node.propose(new TextEncoder().encode(`k${i}=${'v'.repeat(bytes)}`));
  c.pump(false);
  const probes = c.pending(isAppendTo(f.id)) as Append[];
  if (probes.length !== 1 || probes[0]!.entries.length !== count) throw new Error(`expected one probe with the ${count} entries`);
  return { c, leader, f, probe: probes[0]! };
}

/** One heartbeat round between the leader and `f` only, its messages overtaking everything queued. */
function heartbeatRound(c: RawCluster, leader: RawMember, f: RawMember): void {
  leader.node.tick();
  c.pump(false);
  for (const hb of c.take((m) => m.type === 'Heartbeat' && m.to === f.id)) c.deliver(hb);
  for (const resp of c.take((m) => m.type === 'HeartbeatResp' && m.from === f.id)) c.deliver(resp);
}

/** Five heartbeat rounds with the probe outstanding: the re-probes they brought. */
function reprobesOver5Heartbeats(c: RawCluster, leader: RawMember, f: RawMember, probe: Append): Append[] {
  for (let i = 0; i < 5; i++) heartbeatRound(c, leader, f);
  const appends = c.pending(isAppendTo(f.id)) as Append[];
  if (appends[0] !== probe) throw new Error('the probe is no longer queued first');
  return appends.slice(1);
}

function atProbe(t: Test, reprobes: Append[], probe: Append): void {
  t.equal(reprobes.length, 5, 'each heartbeat answer brought one re-probe');
  t.ok(
    reprobes.every((m) => m.prevIndex === probe.prevIndex && m.prevTerm === probe.prevTerm),
    'each re-probe is at the outstanding probe’s prev index and term',
  );
}

function caughtUp(t: Test, c: RawCluster, leader: RawMember, f: RawMember): void {
  // Everything arrives, the re-probes' answers after the probe's: they must be harmless.
  c.pump();
  const ls = leader.node.status();
  t.equal(f.node.status().lastIndex, ls.lastIndex, 'the follower has every entry');
  t.same(f.applied, leader.applied, 'and applied them');
  t.equal(ls.progress.get(f.id)?.state, 'replicate', 'its progress is back in replicate state');
  t.equal(ls.progress.get(f.id)?.match, ls.lastIndex, 'matching the last index');
  t.equal(c.pending(isAppendTo(f.id)).length, 0, 'nothing more is queued for the follower');
}

void t.test('a large probe is re-sent at most 64 KiB a heartbeat, its first entries', async (t) => {
  const { c, leader, f, probe } = probing(40, 8000); // ~320 KB
  t.equal(leader.node.status().progress.get(f.id)?.state, 'probe', 'the follower is probed');
  const reprobes = reprobesOver5Heartbeats(c, leader, f, probe);
  atProbe(t, reprobes, probe);
  t.ok(reprobes.every((m) => entriesBytes(m) <= BUDGET), `each carries at most ${BUDGET} bytes of entries (before the cap: the whole ~320 KB probe)`);
  t.ok(
    reprobes.every((m) => m.entries.length > 0 && m.entries.every((e, i) => e === probe.entries[i])),
    'and some, the probe’s first ones',
  );
  caughtUp(t, c, leader, f);
});

void t.test('a probe whose first entry alone is over 64 KiB is re-sent empty', async (t) => {
  const { c, leader, f, probe } = probing(3, 300_000); // ~900 KB
  const reprobes = reprobesOver5Heartbeats(c, leader, f, probe);
  atProbe(t, reprobes, probe);
  t.ok(reprobes.every((m) => m.entries.length === 0), 'no re-probe carries entries (before the cap: each the whole ~900 KB)');
  caughtUp(t, c, leader, f);
});

void t.test('a small probe is re-sent whole, as before the cap', async (t) => {
  const { c, leader, f, probe } = probing(3, 100);
  const reprobes = reprobesOver5Heartbeats(c, leader, f, probe);
  atProbe(t, reprobes, probe);
  t.ok(
    reprobes.every((m) => m.entries.length === probe.entries.length && m.entries.every((e, i) => e === probe.entries[i])),
    'each re-probe carries the probe’s entries',
  );
  caughtUp(t, c, leader, f);
});

void t.test('a lost probe over 64 KiB is still recovered by the empty re-probe a heartbeat answer brings', async (t) => {
  const { c, leader, f } = probing(3, 300_000);
  t.equal(c.take(isAppendTo(f.id)).length, 1, 'the probe is lost');

  heartbeatRound(c, leader, f);
  const reprobe = c.pending(isAppendTo(f.id)) as Append[];
  t.equal(reprobe.length, 1, 'the heartbeat answer brought one re-probe');
  t.equal(reprobe[0]?.entries.length, 0, 'with no entries');

  // Its answer (an accept at the follower's match) puts the follower back in replicate state,
  // and the next append carries the entries: no further heartbeat needed.
  caughtUp(t, c, leader, f);
});

void t.test('a lost small probe is recovered by its re-send', async (t) => {
  const { c, leader, f, probe } = probing(3, 100);
  t.equal(c.take(isAppendTo(f.id)).length, 1, 'the probe is lost');

  heartbeatRound(c, leader, f);
  const reprobe = c.pending(isAppendTo(f.id)) as Append[];
  t.equal(reprobe.length, 1, 'the heartbeat answer brought one re-probe');
  t.equal(reprobe[0]?.entries.length, probe.entries.length, 'with the probe’s entries');
  caughtUp(t, c, leader, f);
});
