/**
 * Round 6's F2 on real processes: a member restarted with another cluster.name (a typo, or
 * another cluster's file), which both its peers refuse, refuses to start (exit 2, CLUSTER_NAME)
 * naming the file's name and theirs, instead of running cut off for ever; a rebuilt member's
 * empty data dir too. Started again with the right file, it follows its cluster.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import t from 'tap';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

/** The exit code and stderr of `child`; 'running' when it is still up after `ms` (what the finding saw). */
async function exitWithin(child: ChildProcess, ms: number): Promise<{ code: number | null | 'running'; stderr: string }> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null | 'running'>((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => resolve('running'), ms);
    child.once('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  return { code, stderr };
}

// One cluster for both cases: the first leaves every member running with the right file, which
// is all the second needs (a cluster's start was a third of the file's CPU).
const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info' });
t.teardown(() => cluster.stop());

void t.test('a member restarted with another cluster.name exits 2 naming both names; with the right file it runs again', async (t) => {
  cluster.startAll();
  await cluster.waitForLeader();
  const client = cluster.client();
  await client.put('before', 'typo');
  client.close();
  await cluster.explainFailure(
    waitFor(async () => {
      const sts = await Promise.all(cluster.ids.map((id) => cluster.status(id)));
      return sts.every((s) => s !== null && s.clusterId !== '' && s.appliedIndex === sts[0]?.commitIndex);
    }, 'every member to apply every entry and hold the cluster id', 20_000),
  );
  const clusterId = (await cluster.status('c1'))?.clusterId;
  await cluster.kill('c2', 'SIGTERM');

  const text = fs.readFileSync(cluster.configFile, 'utf8');
  const typo = text.replace(/^ {2}name: e2e$/m, '  name: e2e-typo');
  t.not(typo, text, 'the file names the cluster e2e');
  const wrong = path.join(cluster.dir, 'name.yaml');
  fs.writeFileSync(wrong, typo);
  const expected = `controller: refusing to start (CLUSTER_NAME): cluster.name "e2e-typo" in ${wrong}, but peers c1, c3 run cluster "e2e": 2 of the 2 other members refuse this name`;

  cluster.logs.delete('c2');
  const refused = await exitWithin(cluster.start('c2', [], wrong), 20_000);
  t.equal(refused.code, 2, 'its data dir kept, it exits 2 instead of running cut off');
  t.ok(refused.stderr.startsWith(expected), `one line on stderr naming both names: ${refused.stderr}`);
  t.match(cluster.dumpLogs('c2'), /"level":60,.*"code":"CLUSTER_NAME",.*"msg":"refusing to start: cluster\.name \\"e2e-typo\\"/, 'and logs it as the other refusals at start');

  // A rebuilt member (an empty data dir) with the same typo: refused too, rather than waiting for ever.
  const data = path.join(cluster.dir, 'data', 'c2');
  fs.renameSync(data, `${data}.kept`);
  const empty = await exitWithin(cluster.start('c2', [], wrong), 20_000);
  t.equal(empty.code, 2, 'an empty data dir exits 2 as well');
  t.ok(empty.stderr.startsWith(expected), `the same line: ${empty.stderr}`);
  fs.rmSync(data, { recursive: true, force: true });
  fs.renameSync(`${data}.kept`, data);

  // Nothing was written: the right file brings it back into its cluster.
  cluster.logs.delete('c2');
  cluster.start('c2');
  await cluster.explainFailure(
    waitFor(async () => {
      const s = await cluster.status('c2');
      return s !== null && s.leader !== '' && s.clusterId === clusterId;
    }, 'c2 to follow its cluster again', 20_000),
  );
  const got = await cluster.ctl(['kv', 'get', 'before'], cluster.endpoints(['c2']));
  t.equal(got.code, 0, got.stderr);
  t.match(got.stdout, /typo/, 'and serves what it held');
});

void t.test('with too few peers up to refuse its start, it runs, and its cut-off answer names the refusal', async (t) => {
  for (const id of cluster.ids) if (!cluster.procs.has(id)) cluster.start(id);
  await cluster.waitForLeader();
  await cluster.kill('c3', 'SIGTERM');
  await cluster.kill('c2', 'SIGTERM');
  const wrong = path.join(cluster.dir, 'name.yaml');
  fs.writeFileSync(wrong, fs.readFileSync(cluster.configFile, 'utf8').replace(/^ {2}name: e2e$/m, '  name: e2e-typo'));

  // c1 refuses, c3 is down: one of two peers may be the stray, so c2 starts.
  cluster.start('c2', [], wrong);
  let last = '';
  await cluster.explainFailure(
    waitFor(async () => {
      const got = await cluster.ctl(['kv', 'get', 'k'], cluster.endpoints(['c2']));
      last = got.stderr;
      return got.code === 1 && /c2 is cut off from a quorum: .*; c1 refuses it as CLUSTER_NAME: c2's file names the cluster "e2e-typo", it runs "e2e"/.test(got.stderr);
    }, 'c2 to say that c1 refuses its cluster name', 20_000),
  ).catch((err: unknown) => {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\nlast answer: ${last}`);
  });
  const listed = await cluster.ctl(['list', 'controllers'], cluster.endpoints(['c2']));
  t.match(listed.stderr, /c1 refuses it as CLUSTER_NAME/, 'list controllers names it in the stale warning too');
  const health = await cluster.ctl(['health', '-o', 'json'], cluster.endpoints(['c2']));
  t.equal(health.code, 1, 'unhealthy');
  t.match((JSON.parse(health.stdout) as { reason: string }).reason, /c1 refuses it as CLUSTER_NAME/, 'and health names it in its reason');

  // The right file: c2 and c3 are back, and the cluster has its quorum again.
  await cluster.kill('c2', 'SIGTERM');
  cluster.start('c3');
  cluster.start('c2');
  await cluster.explainFailure(
    waitFor(async () => {
      const s = await cluster.status('c2');
      return s !== null && s.leader !== '';
    }, 'c2 to follow a leader with the right file', 20_000),
  );
});
