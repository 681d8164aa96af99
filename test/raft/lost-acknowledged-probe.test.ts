/**
 * A follower whose log ends below what it acknowledged to the leader (a data dir restored from a
 * backup of itself, or a disk that lost synced writes): its match stays where it was, and a probe
 * never goes below it (progress.ts), so every probe, at the match, is refused. Until the leader's
 * commit index passes the follower's log, no heartbeat stops it (ENTRIES_LOST, step-follower.ts);
 * meanwhile each refusal must not bring another probe at once: that was an endless exchange of
 * appends of up to max_message_bytes. The leader probes again once a heartbeat, as for any
 * unanswered probe, and the follower stops once the commit index passes its log.
 */
import t from 'tap';
import type { Message } from '../../src/raft/index.js';
import { rawCluster, type RawCluster, type RawMember } from './raw-cluster.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * Five voters; `b` acknowledged three entries it does not hold (its acknowledgement forged, as one
 * from the data dir it had before), and nobody else got them: the commit index stays within b's
 * log. Then b's link broke (probe state) and a fourth entry is proposed: the probe is queued.
 */
function lostAcknowledged(): { c: RawCluster; leader: RawMember; b: RawMember; others: string[]; bLast: number } {
  const c = rawCluster(['a', 'b', 'c', 'd', 'e']);
  const leader = c.elect();
  if (!leader) throw new Error('no leader elected');
  leader.node.propose(enc('x=0'));
  c.pump();
  const b = c.nodes.find((n) => n !== leader)!;
  const others = c.nodes.filter((n) => n !== leader && n !== b).map((n) => n.id);
  const bLast = b.node.status().lastIndex;
  for (let i = 1; i <= 3; i++) leader.node.propose(enc(`k${i}=v`));
  c.pump(false);
  c.take(() => true);
  const { term, lastIndex } = leader.node.status();
  c.deliver({ type: 'AppendResp', from: b.id, to: leader.id, term, reject: false, index: lastIndex, rejectHint: 0, hintTerm: 0 });
  c.take(() => true);
  leader.node.reportUnreachable(b.id);
  leader.node.propose(enc('k4=v'));
  c.pump(false);
  return { c, leader, b, others, bLast };
}

/** Delivers what is queued between the leader and b (the rest is lost), up to `max` messages;
 * the appends to b among them. */
function exchange(c: RawCluster, others: readonly string[], max: number): number {
  let appends = 0;
  for (let n = 0; n < max; n++) {
    c.take((x) => others.includes(x.to));
    const m = c.pending()[0];
    if (!m) break;
    c.take((x) => x === m);
    if (m.type === 'Append') appends++;
    c.deliver(m);
  }
  return appends;
}

void t.test('a follower refusing probes at its match gets one probe a heartbeat, not one per refusal', async (t) => {
  const { c, leader, b, others, bLast } = lostAcknowledged();
  const match = leader.node.status().progress.get(b.id)!.match;
  t.ok(match > bLast, `the leader counts b up to ${match}, b's log ends at ${bLast}`);
  t.ok(leader.node.status().commit <= bLast, "the commit index is within b's log: no heartbeat stops b");

  const appends = exchange(c, others, 200);
  t.equal(appends, 1, 'the probe, refused, is not sent again at once (before: one more per refusal, for ever)');
  t.match(leader.node.status().progress.get(b.id), { state: 'probe', match, next: match + 1 }, 'b is still probed right after its match');

  let reprobes = 0;
  for (let i = 0; i < 3; i++) {
    leader.node.tick();
    c.pump(false);
    reprobes += exchange(c, others, 200);
  }
  t.equal(reprobes, 3, 'each heartbeat answer brings one probe again');
  t.equal(b.node.status().lastIndex, bLast, 'b never gets entries it would have to hold below its match');
});

void t.test('the follower stops once the commit index passes its log', async (t) => {
  const { c, leader, b, others } = lostAcknowledged();
  exchange(c, others, 200);
  // c, d and e are caught up by heartbeats (b's messages lost meanwhile): the commit index moves
  // past b's log (counting b's match, as Raft counts any acknowledgement).
  for (let i = 0; i < 10 && leader.node.status().commit <= b.node.status().lastIndex; i++) {
    leader.node.tick();
    c.pump(false);
    for (let n = 0; n < 1000; n++) {
      c.take((m: Message) => m.to === b.id);
      const m = c.pending()[0];
      if (!m) break;
      c.take((x) => x === m);
      c.deliver(m);
    }
  }
  t.ok(leader.node.status().commit > b.node.status().lastIndex, "the commit index passed b's log");
  leader.node.tick();
  c.pump(false);
  const hbs = c.take((m: Message) => m.type === 'Heartbeat' && m.to === b.id);
  t.equal(hbs.length, 1, 'a heartbeat for b');
  t.throws(() => c.deliver(hbs[0]!), { code: 'ENTRIES_LOST' }, 'which stops b: entries it acknowledged are gone');
});
