/**
 * Learners promoted when stable, on real processes: a learner added with `--learner` waits for
 * the operator while autopilot.promote_learners is off, however healthy it is; once the setting
 * is turned on (`ctl config set`, live), the leader promotes it only after it has been caught up
 * and healthy for autopilot.server_stabilization_time, as the leader's log and the audit trail
 * show.
 */
import t from 'tap';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';
import { ctlHealth } from './autopilot-helpers.js';

const STABILIZATION_MS = 3_000;

interface LogLine {
  readonly msg?: string;
  readonly member?: string;
  readonly verdict?: string;
  readonly caughtUpForMs?: number;
}

/** Every JSON log line of every node, in each node's order. */
function logLines(cluster: ProcessCluster): LogLine[] {
  const lines: LogLine[] = [];
  for (const id of cluster.procs.keys()) {
    for (const line of cluster.dumpLogs(id).split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        lines.push(JSON.parse(line) as LogLine);
      } catch {
        /* a line cut at the end of a chunk: not ours to judge */
      }
    }
  }
  return lines;
}

void t.test('a learner is promoted only with promote_learners on, after it has stayed healthy for the stabilization time', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info', extraYaml: 'autopilot:\n  server_stabilization_time: 3s\n' });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.waitForLeader();
  const address = await cluster.addToFile('c4');
  const three = cluster.endpoints(['c1', 'c2', 'c3']);

  const add = await cluster.ctl(['member', 'add', 'c4', address, '--learner'], three);
  t.equal(add.code, 0, add.stderr);
  cluster.start('c4', ['--join']);

  // Healthy in the leader's view (caught up, online, heard from, on its term), and still a learner.
  const healthyLearner = async (): Promise<boolean> => {
    const m = (await ctlHealth(cluster, three)).health?.members.find((x) => x.id === 'c4');
    return m !== undefined && m.healthy && !m.voter;
  };
  await cluster.explainFailure(waitFor(healthyLearner, 'c4 to be a healthy learner', 30_000));
  await cluster.explainFailure(
    waitFor(async () => logLines(cluster).some((l) => l.member === 'c4' && l.verdict === 'manual'), "the leader's verdict on c4: waiting for the operator", 10_000),
  );
  // A caught-up, healthy learner added with --learner is the operator's to promote while the setting is off.
  t.notOk((await cluster.status('c1'))?.voters.includes('c4'), 'c4 is not promoted while autopilot.promote_learners is off');
  t.notOk(logLines(cluster).some((l) => l.msg === 'promoted learner c4 to voter'), 'and no promotion was decided');

  const set = await cluster.ctl(['config', 'set', 'autopilot.promote_learners', 'true'], three);
  t.equal(set.code, 0, set.stderr);
  await cluster.explainFailure(waitFor(async () => (await cluster.status('c1'))?.voters.includes('c4') === true, 'c4 to be promoted', 30_000));

  // The leader logs once its own apply answers the proposal; a follower such as c1 may apply
  // the change and answer status before that line reaches the leader's stdout.
  const promotionLine = (): LogLine | undefined => logLines(cluster).find((l) => l.msg === 'promoted learner c4 to voter');
  await cluster.explainFailure(waitFor(async () => promotionLine() !== undefined, 'the leader to log the promotion', 10_000));
  const promoted = promotionLine();
  t.ok(promoted, 'the leader logged the promotion');
  t.ok((promoted?.caughtUpForMs ?? 0) >= STABILIZATION_MS, `promoted after ${promoted?.caughtUpForMs}ms caught up and healthy, at least the ${STABILIZATION_MS}ms stabilization time`);
  t.ok(
    logLines(cluster).some((l) => l.member === 'c4' && l.verdict === 'stabilizing'),
    'the leader logged c4 as stabilizing before promoting it',
  );
  const audit = await cluster.ctl(['audit', '-o', 'json'], three);
  t.ok(audit.stdout.split('\n').some((l) => l.includes('"member.promoted"') && l.includes('"c4"')), 'the promotion is in the audit trail');
  await cluster.explainFailure(waitFor(async () => (await ctlHealth(cluster, three)).health?.members.find((m) => m.id === 'c4')?.voter === true, 'health to show c4 as a voter', 10_000));
  const health = await ctlHealth(cluster, three);
  t.equal(health.code, 0, health.stderr);
  t.equal(health.health?.failureTolerance, 1, 'four healthy voters tolerate one failure');
});
