/**
 * Dead-member cleanup on real processes: with autopilot.cleanup_dead_servers on, a voter
 * killed for longer than dead_server_threshold is removed by the leader, audited with the
 * reason, and disappears from list controllers; a second one is kept because removing it would
 * leave fewer voters than autopilot.min_quorum.
 */
import t from 'tap';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

interface Row {
  readonly id: string;
  readonly voter: boolean;
}

void t.test('a killed member is cleaned up, and cleanup stops at min_quorum', async (t) => {
  const cluster = await ProcessCluster.create({
    nodes: 4,
    logLevel: 'info',
    extraYaml: 'autopilot:\n  cleanup_dead_servers: true\n  dead_server_threshold: 1s\n  min_quorum: 3\n',
  });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  const leader = await cluster.waitForLeader();
  const [keep, first, second] = cluster.ids.filter((id) => id !== leader) as [string, string, string];
  const survivors = [leader, keep];
  const list = async (): Promise<Row[]> => {
    const r = await cluster.ctl(['list', 'controllers', '-o', 'json'], cluster.endpoints(survivors));
    return r.code === 0 ? (JSON.parse(r.stdout) as Row[]) : [];
  };

  await cluster.kill(first);
  await cluster.explainFailure(
    waitFor(async () => !(await list()).some((r) => r.id === first), `${first} to be removed from list controllers`, 30_000),
  );
  t.strictSame((await list()).map((r) => r.id).sort(), [leader, keep, second].sort(), `${first} is gone from list controllers`);
  const status = await cluster.status(leader);
  t.notOk(status?.voters.includes(first), 'and from the configuration');
  const audit = await cluster.ctl(['audit', '-o', 'json'], cluster.endpoints([leader]));
  const removed = audit.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; subject: string; reason: string })
    .find((e) => e.type === 'member.removed' && e.subject === first);
  t.match(removed?.reason, /^autopilot: offline for [\d.]+s, longer than autopilot\.dead_server_threshold 1\.0s \(3 voters left, min_quorum 3\)$/, 'audited with the reason');

  await cluster.kill(second);
  // The leader must see it dead and hold it: wait for the log line that says why.
  await cluster.explainFailure(
    waitFor(
      () => /autopilot keeps a dead member: removing \S+ would leave 2 voters, below autopilot\.min_quorum 3/.test((cluster.logs.get(leader) ?? []).join('')),
      'cleanup to hold at min_quorum',
      30_000,
    ),
  );
  const after = await cluster.status(leader);
  t.ok(after?.voters.includes(second), `${second} stays a voter: removing it would go below min_quorum`);
  t.equal(after?.voters.length, 3);
  const health = await cluster.ctl(['health', '-o', 'json'], cluster.endpoints(survivors));
  t.equal(health.code, 0, 'two healthy voters of three still make the cluster healthy');
});
