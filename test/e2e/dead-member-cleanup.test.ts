/**
 * Dead-member cleanup on real processes: with autopilot.cleanup_dead_servers on, a voter
 * killed for longer than dead_server_threshold is removed by the leader, audited with the
 * reason, and disappears from list controllers; a second one, dead as long, is kept because
 * removing it would leave fewer voters than autopilot.min_quorum. A threshold under a minute is
 * refused.
 */
// run-tests: waits (most of its time is a wait on the clock: run beside the CPU-bound files)
import t from 'tap';
import type { StatusJson } from '../../src/api/answers.js';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

interface Row {
  readonly id: string;
  readonly voter: boolean;
}

void t.test('a killed member is cleaned up, and cleanup stops at min_quorum', async (t) => {
  // 1m is the least dead_server_threshold an operator may set: two of five members die at once
  // (three keep a quorum), so the test waits it out once.
  const cluster = await ProcessCluster.create({
    nodes: 5,
    logLevel: 'info',
    extraYaml: 'autopilot:\n  cleanup_dead_servers: true\n  dead_server_threshold: 1m\n  min_quorum: 4\n',
  });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  const leader = await cluster.waitForLeader();
  const [keep, other, ...dead] = cluster.ids.filter((id) => id !== leader) as [string, string, string, string];
  const survivors = [leader, keep, other];
  const list = async (): Promise<Row[]> => {
    const r = await cluster.ctl(['list', 'controllers', '-o', 'json'], cluster.endpoints(survivors));
    return r.code === 0 ? (JSON.parse(r.stdout) as Row[]) : [];
  };
  const tooShort = await cluster.ctl(['config', 'set', 'autopilot.dead_server_threshold', '59s'], cluster.endpoints(survivors));
  t.equal(tooShort.code, 2, 'less than a minute is refused');
  t.match(tooShort.stderr, /expected at least 1m(0s)?, found "59s": shorter than a restart or a long pause takes, which would remove a healthy voter for good/);

  await Promise.all(dead.map((id) => cluster.kill(id)));
  const removedOne = async (): Promise<string | null> => {
    const ids = (await list()).map((r) => r.id);
    const gone = dead.filter((id) => ids.length > 0 && !ids.includes(id));
    return gone.length === 1 ? gone[0]! : null;
  };
  // A leader removes a member only once it has itself seen it offline for the threshold: a
  // leadership change on a loaded host starts that minute again, hence the margin.
  await cluster.explainFailure(waitFor(async () => (await removedOne()) !== null, 'one dead member to be removed from list controllers', 180_000));
  const first = (await removedOne())!;
  const second = dead.find((id) => id !== first)!;
  t.strictSame((await list()).map((r) => r.id).sort(), [leader, keep, other, second].sort(), `${first} is gone from list controllers`);
  // (A status read has a 3 s deadline: on a loaded host it is asked again rather than read as no answer.)
  const statusOf = async (id: string): Promise<StatusJson> => {
    let status: StatusJson | null = null;
    await cluster.explainFailure(waitFor(async () => (status = await cluster.status(id)) !== null, `${id} to answer its status`, 30_000));
    return status!;
  };
  const status = await statusOf(leader);
  t.notOk(status.voters.includes(first), 'and from the configuration');
  const audit = await cluster.ctl(['audit', '-o', 'json'], cluster.endpoints([leader]));
  const removed = audit.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; subject: string; reason: string })
    .find((e) => e.type === 'member.removed' && e.subject === first);
  t.match(removed?.reason, /^autopilot: offline for [\d.]+(s|m), longer than autopilot\.dead_server_threshold 1\.0m \(4 voters left, min_quorum 4\)$/, 'audited with the reason');

  // The other is just as dead, and kept: removing it would go below min_quorum. Said by whichever
  // survivor leads by then (on a loaded host the first leader may have lost its term meanwhile).
  const holds = /autopilot keeps a dead member: removing \S+ would leave 3 voters, below autopilot\.min_quorum 4/;
  await cluster.explainFailure(
    waitFor(
      () => survivors.some((id) => holds.test((cluster.logs.get(id) ?? []).join(''))),
      'cleanup to hold at min_quorum',
      30_000,
    ),
  );
  const after = await statusOf(leader);
  t.ok(after.voters.includes(second), `${second} stays a voter: removing it would go below min_quorum`);
  t.equal(after.voters.length, 4);
  const health = await cluster.ctl(['health', '-o', 'json'], cluster.endpoints(survivors));
  t.equal(health.code, 0, 'three healthy voters of four still make the cluster healthy');
});
