/**
 * Finding 1 of issue 10 on real processes: a follower's data dir deleted and the node restarted
 * with docs/deploy.md's unit (no --join). Before: it bootstrapped a fresh state, voted a lagging
 * node in, and 706 of 706 acknowledged writes were lost (100 of 100 in this test's sequence).
 * Now: it refuses to start when a peer knows it, and when none answers, the cluster refuses it.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { ChildProcess } from 'node:child_process';
import { CONTROLLER_JS, ProcessCluster } from '../helpers/process-cluster.js';
import { runToExit } from '../helpers/run-to-exit.js';
import { waitFor } from '../helpers/wait-for.js';

const exitOf = (child: ChildProcess): Promise<number | null> =>
  new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));

async function writeKeys(cluster: ProcessCluster, ids: readonly string[], n: number, prefix: string): Promise<string[]> {
  const client = cluster.client(ids);
  try {
    const keys: string[] = [];
    for (let i = 0; i < n; i++) {
      await client.put(`${prefix}${i}`, `v${i}`);
      keys.push(`${prefix}${i}`);
    }
    return keys;
  } finally {
    client.close();
  }
}

/** How many of `keys` a linearizable read through `ids` does not find. */
async function missing(cluster: ProcessCluster, ids: readonly string[], keys: readonly string[], serializable = false): Promise<number> {
  const client = cluster.client(ids);
  try {
    let lost = 0;
    for (const k of keys) {
      const v = await client.get(k, { serializable }).catch(() => null);
      if (v === null || Buffer.from(v.value).toString() !== `v${k.replace(/^\D+/, '')}`) lost++;
    }
    return lost;
  } finally {
    client.close();
  }
}

void t.test('a wiped follower restarted with the documented unit refuses to start, and nothing is lost', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  const leader = await cluster.waitForLeader();
  const [wiped, lagging] = cluster.ids.filter((id) => id !== leader) as [string, string];
  await writeKeys(cluster, cluster.ids, 1, 'warm');
  await cluster.kill(lagging);
  const keys = await writeKeys(cluster, [leader, wiped], 100, 'k');
  t.equal(keys.length, 100, `100 writes acknowledged by ${leader} and ${wiped} while ${lagging} was down`);

  await cluster.kill(wiped);
  fs.rmSync(path.join(cluster.dir, 'data', wiped), { recursive: true, force: true });
  const restarted = cluster.start(wiped); // exactly docs/deploy.md's ExecStart: no --join
  t.equal(await exitOf(restarted), 2, 'the wiped node exits 2');
  const said = cluster.dumpLogs(wiped);
  t.match(said, /has already been bootstrapped: c\d knows it as incarnation [0-9a-f]{16} in cluster [0-9a-f]{16} but data dir .* holds no Raft state/, 'it says why, naming the cluster');
  t.notOk(fs.existsSync(path.join(cluster.dir, 'data', wiped, 'raft')), 'the refused start left no Raft database behind (one moved back would nest inside it)');
  t.match(said, new RegExp(`ctl member remove ${wiped}; ctl member add ${wiped} ADDRESS --learner; then start it with an empty data dir and --join`), 'and names the procedure');

  // The finding's sequence went on: the leader dies and the lagging node comes back.
  await cluster.kill(leader);
  cluster.start(lagging);
  cluster.start(leader);
  await cluster.waitForLeader([leader, lagging]);
  t.equal(await missing(cluster, [leader, lagging], keys), 0, 'all 100 acknowledged writes are there');

  // Operator round 17: a second process as the leader, which runs (another host given the wrong
  // --id: here another loopback address and data dir), was told its state was lost and to remove
  // the member. Its own address answers as the member, so it is told the member runs.
  const leaderAddress = cluster.addresses.get(leader)!;
  const port = leaderAddress.split(':').pop()!;
  const elsewhere = path.join(cluster.dir, 'second.yaml');
  fs.writeFileSync(
    elsewhere,
    fs
      .readFileSync(cluster.configFile, 'utf8')
      .replace(`address: "${leaderAddress}"`, `address: "${leaderAddress}", listen: "127.0.0.5:${port}"`)
      .replace(`${cluster.dir}/data/`, `${cluster.dir}/second/`),
  );
  const second = await runToExit(CONTROLLER_JS, ['--config', elsewhere, '--id', leader], `a second ${leader}`, 30_000);
  t.equal(second.code, 2, 'the second process exits 2');
  t.match(second.stderr, new RegExp(`refusing to start \\(MEMBER_RUNNING\\): member ${leader} is running: a controller answers at ${leaderAddress.replace(/\./g, '\\.')} .* do not remove ${leader}`));
  t.notMatch(second.stderr, /ctl member remove/, 'no advice to remove a running member');
  t.notOk(fs.existsSync(path.join(cluster.dir, 'second')), 'the refused start removed the data dir (and its parent) it had created');

  // The documented rebuild (docs/operate.md): remove, add as a learner, start empty with --join.
  const address = cluster.addresses.get(wiped)!;
  const ends = cluster.endpoints([leader, lagging]);
  t.equal((await cluster.ctl(['member', 'remove', wiped], ends)).code, 0, 'member remove');
  const add = await cluster.ctl(['member', 'add', wiped, address, '--learner'], ends);
  t.equal(add.code, 0, `member add --learner: ${add.stderr}`);
  cluster.start(wiped, ['--join']);
  await cluster.explainFailure(
    waitFor(async () => (await missing(cluster, [wiped], keys, true)) === 0, `${wiped} to catch up as a new incarnation`, 30000),
  );
  const promote = await cluster.ctl(['member', 'promote', wiped], ends);
  t.equal(promote.code, 0, `promote once caught up: ${promote.stderr}`);
  // The promotion is committed when the command returns; the member itself applies it with the
  // leader's next message carrying the commit index, so its own status may lag a moment.
  const voterAgain = await waitFor(async () => (await cluster.status(wiped))?.voters.includes(wiped) === true, `${wiped} to apply its promotion`, 10_000).then(
    () => true,
    () => false,
  );
  t.ok(voterAgain, `${wiped} is a voter again, with every write`);
});

void t.test('a wiped member that no peer answers bootstraps alone, but the cluster refuses it and loses nothing', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  const leader = await cluster.waitForLeader();
  const keys = await writeKeys(cluster, cluster.ids, 50, 'k');
  // The cluster records every member's incarnation shortly after it first hears from it.
  const wiped = cluster.ids.find((id) => id !== leader)!;
  for (const id of cluster.ids) await cluster.kill(id);
  fs.rmSync(path.join(cluster.dir, 'data', wiped), { recursive: true, force: true });

  cluster.logs.delete(wiped); // judge this run's log only
  const alone = cluster.start(wiped);
  await waitFor(() => /bootstrapped a new cluster/.test(cluster.dumpLogs(wiped)), 'the wiped node to bootstrap, nobody having answered', 20000);
  t.equal(alone.exitCode, null, 'it runs');
  const others = cluster.ids.filter((id) => id !== wiped);
  for (const id of others) cluster.start(id);
  const newLeader = await cluster.waitForLeader(others);
  t.ok(others.includes(newLeader), `the members that kept their data elect ${newLeader}`);
  t.equal(await missing(cluster, others, keys), 0, 'all 50 acknowledged writes are there');
  await cluster.explainFailure(
    waitFor(
      async () => {
        const audit = await cluster.ctl(['audit', '-o', 'json'], cluster.endpoints([newLeader]));
        return audit.stdout.split('\n').some((l) => l.includes('"peer.refused"') && l.includes(`"${wiped}"`));
      },
      `an audited peer.refused about ${wiped}`,
      20000,
    ),
  );
  const st = await cluster.status(newLeader);
  t.equal(st?.leader, newLeader, 'the bootstrapped stranger never took part');

  await cluster.kill(wiped, 'SIGTERM');
  cluster.logs.delete(wiped);
  const again = cluster.start(wiped);
  t.equal(await exitOf(again), 2, 'restarted now that peers answer, it refuses to start');
  t.match(cluster.dumpLogs(wiped), /SUPERSEDED|is recorded in cluster [0-9a-f]{16} as incarnation/, 'naming the incarnation the cluster recorded');
});
