/**
 * Membership steps on real processes, each run twice with the same outcome: a plain `member
 * add` returns at once and the leader promotes the learner once it has caught up and stayed
 * so (autopilot.server_stabilization_time); repeats exit 0 and say nothing changed; ids never
 * present exit 4; a removed member learns it, logs it and exits with code 10; a removal that
 * would leave no quorum the leader hears is refused.
 */
import t from 'tap';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

interface MemberRow {
  readonly id: string;
  readonly role: string;
  readonly autoPromote: boolean;
}

void t.test('add, promote and remove are safe to repeat; a removed member exits 10', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info', extraYaml: 'autopilot:\n  server_stabilization_time: 1s\n' });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.waitForLeader();
  // The operator adds c4 to the shared file, as docs/deploy.md says, then tells the cluster.
  const address = await cluster.addToFile('c4');
  const three = cluster.endpoints(['c1', 'c2', 'c3']);

  const add = await cluster.ctl(['member', 'add', 'c4', address], three);
  t.equal(add.code, 0, add.stderr);
  t.match(add.stdout, /^added c4 as a learner; start it with `controller --config FILE --id c4 --join`; the leader promotes it to voter once it has caught up and stayed so for 1s/);
  const addAgain = await cluster.ctl(['member', 'add', 'c4', address], three);
  t.equal(addAgain.code, 0, addAgain.stderr);
  t.match(addAgain.stdout, /^c4 is already a learner; nothing changed/);
  const listed = JSON.parse((await cluster.ctl(['member', 'list', '-o', 'json'], three)).stdout) as MemberRow[];
  t.match(listed.find((m) => m.id === 'c4'), { role: 'learner', autoPromote: true }, 'a learner with the intent recorded');
  const toLearner = await cluster.ctl(['leader', 'transfer', 'c4'], three);
  t.equal(toLearner.code, 1, 'leadership to a learner fails (exit 1): it is a member, not an unknown id');
  t.match(toLearner.stderr, /c4 is a learner: only a voter can lead \(ctl member promote c4 first\)/);
  const toNobody = await cluster.ctl(['leader', 'transfer', 'c9'], three);
  t.equal(toNobody.code, 4, `an id that was never a member is not found (exit 4): ${toNobody.stderr}`);

  const moved = await cluster.ctl(['member', 'add', 'c2', address], three);
  t.equal(moved.code, 1, 'an id that is there at another address is a conflict');
  t.match(moved.stderr, /c2 is already a member at .*, not 127\.0\.0\.1:\d+; to move it, remove it and add it again/);

  cluster.start('c4', ['--join']);
  // Re-running the add with --wait is the documented way to wait for the promotion.
  const wait = await cluster.ctl(['member', 'add', 'c4', address, '--wait'], three, 60_000);
  t.equal(wait.code, 0, wait.stderr);
  t.match(wait.stdout, /already a learner; nothing changed[\s\S]*c4 is a voter\n$|already a voter; nothing changed/);
  await cluster.explainFailure(waitFor(async () => (await cluster.status('c4'))?.voters.includes('c4') === true, 'c4 to apply its promotion', 20000));
  const audit = await cluster.ctl(['audit', '-o', 'json'], three);
  t.ok(audit.stdout.split('\n').some((l) => l.includes('"member.promoted"') && l.includes('"c4"')), 'the promotion is in the audit trail');

  for (const run of [1, 2]) {
    const promote = await cluster.ctl(['member', 'promote', 'c4'], three);
    t.equal(promote.code, 0, `promote, run ${run}: ${promote.stderr}`);
    t.match(promote.stdout, /^c4 is already a voter; nothing changed/);
  }

  const c4 = cluster.procs.get('c4')!;
  let exitCode: number | null | undefined;
  c4.once('exit', (code) => (exitCode = code));
  t.equal((await cluster.ctl(['config', 'set', 'cluster.preferred_leader', 'c4'], three)).code, 0, 'c4, a voter now, may be the preferred leader');
  const remove = await cluster.ctl(['member', 'remove', 'c4'], three);
  t.equal(remove.code, 0, remove.stderr);
  t.match(remove.stdout, /^removed c4; stop it; it stops by itself \(exit 10\) once it learns of its removal; cluster\.preferred_leader still names c4: clear it \(ctl config set cluster\.preferred_leader none\) unless a member added later as c4 should lead/);
  t.equal((await cluster.ctl(['config', 'set', 'cluster.preferred_leader', 'none'], three)).code, 0);
  // A deadline of its own, well inside the file's: a member that never learns fails with the logs that say why.
  await waitFor(() => exitCode !== undefined, 'c4 to exit after its removal', 90_000).catch((err: Error) => {
    const tail = (id: string): string => `${id}:\n${cluster.dumpLogs(id).split('\n').slice(-40).join('\n')}`;
    throw new Error(`${err.message}\n${['c4', 'c1', 'c2', 'c3'].map(tail).join('\n')}`);
  });
  t.equal(exitCode, 10, 'the removed member exits with code 10');
  t.match(cluster.dumpLogs('c4'), /was removed from the cluster: (it applied its own removal|c\d has applied its removal|c\d refused it as a removed member)/, 'and says why in its log');
  const removeAgain = await cluster.ctl(['member', 'remove', 'c4'], three);
  t.equal(removeAgain.code, 0, removeAgain.stderr);
  t.match(removeAgain.stdout, /^c4 was already removed; nothing changed/);

  // A learner only an operator promotes: --wait says so at once instead of waiting out its 5m.
  const c5 = await cluster.addToFile('c5');
  t.equal((await cluster.ctl(['member', 'add', 'c5', c5, '--learner'], three)).code, 0);
  const manual = await cluster.ctl(['member', 'add', 'c5', c5, '--wait'], three, 20_000);
  t.equal(manual.code, 1, 'nothing to wait for: exit 1, long before the 5m wait');
  t.match(manual.stderr, /c5 was added with --learner and autopilot\.promote_learners is off, so only `ctl member promote c5` makes it a voter: --wait has nothing to wait for/);
  t.equal((await cluster.ctl(['member', 'remove', 'c5'], three)).code, 0);

  for (const argv of [['member', 'remove', 'nobody'], ['member', 'promote', 'nobody']]) {
    const r = await cluster.ctl(argv, three);
    t.equal(r.code, 4, `${argv.join(' ')}: an id never present exits 4`);
  }
});

void t.test('a member removed while it was down, started again with its old data dir, exits 10 too', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.waitForLeader();
  const client = cluster.client(['c1', 'c2']);
  t.teardown(() => client.close());
  await client.put('k', 'v');
  // The cluster records c3's data dir (its incarnation) before it goes down.
  await cluster.explainFailure(
    waitFor(async () => (JSON.parse((await cluster.ctl(['status', '-o', 'json'], cluster.endpoints(['c1']))).stdout) as { clusterId: string }).clusterId !== '', 'the cluster id', 20000),
  );
  await cluster.kill('c3', 'SIGTERM');
  // With c3 down, removing c2 would leave c1 and c3: no quorum to commit anything after. Refused
  // (etcd's strict reconfig check) once the leader has not heard c3 for an election timeout,
  // which is before the cluster shows c3 offline (base_timeout 2s).
  const endpoints = cluster.endpoints(['c1', 'c2']);
  await cluster.explainFailure(
    waitFor(
      async () => {
        const r = await cluster.ctl(['list', 'controllers', '-o', 'json'], endpoints);
        return r.code === 0 && (JSON.parse(r.stdout) as Array<{ id: string; online: boolean }>).some((row) => row.id === 'c3' && !row.online);
      },
      'c3 shown offline',
      20000,
    ),
  );
  const refused = await cluster.ctl(['member', 'remove', 'c2'], endpoints);
  t.equal(refused.code, 1, `removing c2 while c3 is down is refused: ${refused.stdout}`);
  t.match(refused.stderr, /removing c2 would leave voters c1, c3, of which the leader hears only c1 \(c3 silent for an election timeout\)/);
  const remove = await cluster.ctl(['member', 'remove', 'c3'], cluster.endpoints(['c1', 'c2']));
  t.equal(remove.code, 0, remove.stderr);
  const c3 = cluster.start('c3');
  const code = await new Promise<number | null>((resolve) => c3.once('exit', (c) => resolve(c)));
  t.equal(code, 10, 'not restarted by the unit: exit 10');
  t.match(cluster.dumpLogs('c3'), /refusing to start \(REMOVED\)|was removed from the cluster/);
});
