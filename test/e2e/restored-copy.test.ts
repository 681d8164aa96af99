/**
 * A member put back on an older copy of its own data dir (the careless-operator test's F1): the
 * copy carries the incarnation the cluster trusts, so the start-up checks let it in. The leader
 * still counts it as holding what it acknowledged since the copy was made, and says so in its
 * first heartbeat: the member stops (ENTRIES_LOST, exit 1), before its vote can help elect a
 * leader without those writes, and the cluster keeps every acknowledged write.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import t from 'tap';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

const exitOf = (child: ChildProcess): Promise<number | null> =>
  new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));

void t.test('a member restored from an older copy of its data dir stops with ENTRIES_LOST; nothing acknowledged is lost', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  const leader = await cluster.waitForLeader();
  const member = cluster.ids.find((id) => id !== leader)!;
  const client = cluster.client();
  t.teardown(() => client.close());
  for (let i = 0; i < 10; i++) await client.put(`before${i}`, 'v');

  // A cold copy of the member's data dir, as a careless backup would take it.
  const data = path.join(cluster.dir, 'data', member);
  const copy = path.join(cluster.dir, `${member}-copy`);
  t.equal(await cluster.kill(member, 'SIGTERM'), 0);
  fs.cpSync(data, copy, { recursive: true });
  cluster.start(member);
  await cluster.explainFailure(waitFor(async () => (await cluster.status(member))?.leader === leader, `${member} back behind ${leader}`, 20000));
  const written: string[] = [];
  for (let i = 0; i < 50; i++) {
    await client.put(`after${i}`, 'v');
    written.push(`after${i}`);
  }
  const led = await cluster.status(leader);
  await cluster.explainFailure(waitFor(async () => ((await cluster.status(member))?.appliedIndex ?? 0) >= (led?.commitIndex ?? Infinity), `${member} to hold every write`, 20000));

  // Put back on the copy: it lacks the 50 writes it acknowledged.
  t.equal(await cluster.kill(member, 'SIGTERM'), 0);
  fs.rmSync(data, { recursive: true, force: true });
  fs.cpSync(copy, data, { recursive: true });
  cluster.logs.delete(member);
  const restored = cluster.start(member);
  const exited = exitOf(restored);
  await cluster.explainFailure(waitFor(() => restored.exitCode !== null, `${member} to stop`, 30000));
  t.equal(await exited, 1, `${member} stops, exit 1`);
  await waitFor(() => /ENTRIES_LOST/.test(cluster.dumpLogs(member)), `${member}'s reason in its log`, 10000);
  t.match(cluster.dumpLogs(member), new RegExp(`${leader} counts this node as holding the log up to \\d+, which it acknowledged, but its log ends at \\d+`), 'naming the leader and both indexes');
  t.match(cluster.dumpLogs(member), /rebuild it as a member/, 'and what to do');
  t.match(cluster.dumpLogs(member), new RegExp(`^controller: fatal error; exiting: ${leader} counts this node as holding the log up to \\d+`, 'm'), 'and one line on stderr, as a refused start writes');

  let lost = 0;
  for (const k of written) if ((await client.get(k).catch(() => null)) === null) lost++;
  t.equal(lost, 0, 'none of the 50 acknowledged writes is lost');
});
