/**
 * Health in depth on real processes: `ctl health -o json` is the leader's view whichever
 * controller answers, each member judged by the four criteria with failure tolerance and
 * stable-since; a killed member turns unhealthy and the tolerance drops; losing the quorum
 * exits 1 with the reason; the figures are Prometheus metrics too.
 */
import t from 'tap';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';
import { ctlHealth, sample, scrape } from './autopilot-helpers.js';

void t.test('ctl health in depth against a real cluster', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info', metrics: true });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  const leader = await cluster.waitForLeader();
  const [follower, other] = cluster.ids.filter((id) => id !== leader) as [string, string];

  let first = await ctlHealth(cluster);
  await cluster.explainFailure(
    waitFor(async () => {
      first = await ctlHealth(cluster);
      return first.code === 0 && first.health?.failureTolerance === 1;
    }, 'a healthy cluster with a failure tolerance of 1', 20_000),
  );
  const h = first.health!;
  t.strictSame(Object.keys(h).slice(0, 4), ['healthy', 'leader', 'failureTolerance', 'members'], "the contract's fields, in its order");
  t.equal(h.leader, leader);
  t.strictSame(h.members.map((m) => m.id), cluster.ids);
  for (const m of h.members) {
    t.strictSame(Object.keys(m).slice(0, 7), ['id', 'healthy', 'voter', 'stableSince', 'lastContactMs', 'term', 'lagEntries'], `${m.id}: the contract's member fields`);
    t.ok(m.healthy && m.voter && m.term === h.term, `${m.id} healthy voter on the leader's term`);
    t.ok(m.stableSince !== null && !Number.isNaN(Date.parse(m.stableSince)), `${m.id} has a stable-since time`);
  }

  const relayed = await ctlHealth(cluster, cluster.endpoints([follower]));
  t.equal(relayed.code, 0);
  t.equal(relayed.health?.leader, leader, "a follower relays the leader's view");
  t.equal(relayed.health?.answeredBy, follower);

  const table = await cluster.ctl(['health']);
  t.equal(table.code, 0);
  t.match(table.stdout, new RegExp(`^healthy: leader ${leader} \\(term \\d+\\), 3 of 3 voters healthy, failure tolerance 1\\n`));
  t.match(table.stdout, /ID\s+ROLE\s+HEALTHY\s+ONLINE\s+LAST-CONTACT\s+TERM\s+LAG\s+STABLE-SINCE\s+REASON/);

  const metricsAt = cluster.metricsAddresses.get(leader)!;
  const text = await scrape(metricsAt);
  t.equal(sample(text, 'autopilot_healthy'), 1);
  t.equal(sample(text, 'autopilot_failure_tolerance'), 1);
  t.equal(sample(text, 'autopilot_member_healthy', { member: other }), 1);
  t.ok(sample(text, 'autopilot_member_last_contact_seconds', { member: other }) !== null);
  t.ok(Number.isNaN(sample(await scrape(cluster.metricsAddresses.get(follower)!), 'autopilot_healthy') ?? 0), 'a follower does not judge: NaN');

  // One member dies: it turns unhealthy, the cluster stays healthy with no failure to spare.
  await cluster.kill(other);
  let after = first;
  await cluster.explainFailure(
    waitFor(async () => {
      after = await ctlHealth(cluster, cluster.endpoints([leader, follower]));
      return after.health?.members.find((m) => m.id === other)?.healthy === false;
    }, `${other} judged unhealthy`, 20_000),
  );
  t.equal(after.code, 0, 'two healthy voters of three are a quorum');
  t.equal(after.health?.failureTolerance, 0);
  const dead = after.health!.members.find((m) => m.id === other)!;
  t.match(dead.reason, /last heard from \d+ms ago|offline/);
  t.equal(sample(await scrape(metricsAt), 'autopilot_member_healthy', { member: other }), 0);

  // A second one dies: no quorum, exit 1 with the reason on stderr, the JSON still on stdout.
  await cluster.kill(follower);
  let lost = after;
  await waitFor(async () => {
    lost = await ctlHealth(cluster, cluster.endpoints([leader]));
    return lost.code === 1;
  }, 'ctl health to fail without a quorum', 20_000);
  t.equal(lost.health?.healthy, false);
  t.match(lost.stderr, /^ctl: unhealthy: /);
  t.equal(lost.stderr.trim().split('\n').length, 1, 'one line on stderr');
});
