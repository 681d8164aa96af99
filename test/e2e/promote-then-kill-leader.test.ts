/**
 * Issue 10, finding 6, on real processes: learner c3 is promoted; the entry commits on leader c1
 * and voter c2 and c3 applies it, but the commit index is held back from c2 (c1's messages to c2
 * are delayed by the fault proxy, then cut); then c1 dies. c2 still counts voters {c1, c2}, c3
 * counts {c1, c2, c3}. Under the old rule c2 ignored c3's vote requests (c3 was no voter in its
 * eyes) and nobody could ever win. A node now answers a (pre-)vote whether or not it counts the
 * candidate as a voter (etcd's rule), so c3 wins with c2's vote.
 */
// run-tests: waits (most of its time is elections with an 8 s timeout: run beside the CPU-bound files)
import fs from 'node:fs';
import t from 'tap';
import { proxiedCluster } from '../helpers/proxied-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

const ELECTION_MS = 8000;
/**
 * How long c1's messages to c2 take: long enough for the test to cut the link after the promote
 * is answered and before c2 hears that it committed, short enough for gRPC's keepalive (a ping
 * answered within 1 s) to keep the connection up.
 */
const HOLD_BACK_MS = 800;

void t.test('promote a learner, hold the commit back from one voter, kill the leader: a new leader is elected', async (t) => {
  const { cluster, client } = await proxiedCluster(t, { name: 'promote-kill', electionTimeoutMs: ELECTION_MS, baseTimeoutMs: 2000, logLevel: 'debug', clientTimeoutMs: 4 * ELECTION_MS });
  const explain = (): string => ['c1', 'c2', 'c3'].map((id) => `--- ${id}\n${cluster.tail(id, 15)}`).join('\n');

  // c1 and c2 create the cluster; c3 comes later as a learner. The file lists c3 only once it joins.
  const full = fs.readFileSync(cluster.configFile, 'utf8');
  fs.writeFileSync(cluster.configFile, full.split('\n').filter((l) => !l.includes('id: c3,')).join('\n'));
  cluster.start('c1');
  cluster.start('c2');
  const both = client('c1', 'c2');
  await waitFor(async () => ((await both.status().catch(() => null))?.leader ?? '') !== '', 'a first leader', 4 * ELECTION_MS);
  if ((await both.status()).leader !== 'c1') {
    await both.leaderTransfer('c1').catch((err: unknown) => {
      throw new Error(`the transfer to c1 before any fault: ${String(err)}\n${explain()}`);
    });
  }
  const onC1 = client('c1');
  await waitFor(async () => (await onC1.status().catch(() => null))?.leader === 'c1', 'c1 to lead', 4 * ELECTION_MS);
  const acked = await onC1.put('before', 'promotion');

  fs.writeFileSync(cluster.configFile, full);
  await onC1.memberAdd('c3', cluster.address('c3'), true);
  cluster.start('c3', true);
  const onC3 = client('c3');
  await waitFor(async () => ((await onC3.status().catch(() => null))?.appliedIndex ?? 0) >= acked.revision, 'c3 to catch up', 4 * ELECTION_MS);

  cluster.links.setDelay(['c1'], ['c2'], { minMs: HOLD_BACK_MS, maxMs: HOLD_BACK_MS });
  await onC1.memberPromote('c3');
  // The promote committed (c2 acknowledged it) and c1 applied it; c1 tells c2 so with a delay.
  cluster.links.setCut(['c1'], ['c2'], true);
  await cluster.kill('c1');

  const c2 = await client('c2').status();
  const c3 = await onC3.status();
  t.notOk(c2.voters.includes('c3'), `the precondition: c2 has not applied the promotion (voters ${c2.voters.join(',')})`);
  t.ok(c3.voters.includes('c3'), `and c3 has (voters ${c3.voters.join(',')})`);

  const survivors = client('c2', 'c3');
  let leader = '';
  await waitFor(
    async () => {
      leader = (await survivors.status().catch(() => null))?.leader ?? '';
      return leader === 'c2' || leader === 'c3';
    },
    `a new leader among c2 and c3\n${explain()}`,
    5 * ELECTION_MS,
  ).catch((err: unknown) => t.fail(String(err)));
  t.equal(leader, 'c3', 'c3 won with c2 voting for it (c2 cannot win: its configuration still needs c1)');
  const after = await survivors.put('after', 'failover');
  t.ok(after.revision > acked.revision, 'the new leader commits writes');
  t.equal(Buffer.from((await survivors.get('before')).value).toString(), 'promotion', 'the write acknowledged before is still there');
});
