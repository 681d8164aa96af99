/**
 * attack-37b B5 on real processes: a member restarted with a `listen` its peers do not dial
 * (127.0.0.2:PORT while the cluster dials it at 127.0.0.1:PORT: every dial is refused, as behind
 * a firewall that refuses new inbound connections) still dials out, so its pings reach every
 * member. Before, it was shown online by every member for good while the leader could send it
 * nothing. Now the members that cannot dial it (a quorum) stop counting it as heard: every
 * member's `ctl list controllers` shows it offline, their logs say why once, and restarted with
 * the right `listen` it is online again.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

interface Row {
  readonly id: string;
  readonly online: boolean;
  readonly clusterState: string | null;
  readonly stale: boolean;
}

void t.test('a member its peers cannot dial is shown offline by every member, with a warning that names it, and online again with the right listen', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info', heartbeat: { baseTimeout: '1s', stateSyncInterval: '1s' } });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  const leader = await cluster.waitForLeader();
  const x = cluster.ids.find((id) => id !== leader)!;
  const others = cluster.ids.filter((id) => id !== x);
  const address = cluster.addresses.get(x)!;
  const port = address.split(':')[1]!;

  /** `id`'s own answer (its endpoint only): x's row, when the answer is current. */
  const rowOfX = async (id: string): Promise<Row | null> => {
    const r = await cluster.ctl(['list', 'controllers', '-o', 'json'], cluster.endpoints([id]));
    if (r.code !== 0) return null;
    const row = (JSON.parse(r.stdout) as Row[]).find((c) => c.id === x);
    return row === undefined || row.stale ? null : row;
  };
  const shownBy = async (ids: readonly string[], online: boolean): Promise<boolean> => {
    const rows = await Promise.all(ids.map(rowOfX));
    return rows.every((r) => r !== null && r.online === online && r.clusterState === (online ? 'online' : 'offline'));
  };
  await waitFor(() => shownBy(others, true), `${others.join(', ')} to show ${x} online`, 20_000);

  // The copy-pasted listen: 127.0.0.2 is this machine's, so x starts, but nobody dials it there.
  await cluster.kill(x, 'SIGTERM');
  const wrongFile = path.join(cluster.dir, `${x}-wrong-listen.yaml`);
  fs.writeFileSync(wrongFile, fs.readFileSync(cluster.configFile, 'utf8').replace(`address: "${address}"`, `address: "${address}", listen: "127.0.0.2:${port}"`));
  const logFrom = new Map(others.map((id) => [id, (cluster.logs.get(id) ?? []).length]));
  cluster.start(x, [], wrongFile);
  const startedAt = Date.now();
  // x runs, and its pings reach the others: asked where it listens, it has heard them lately
  // (their pongs come back on its own connections, so its messages arrive).
  const hearsOthers = async (): Promise<boolean> => {
    const r = await cluster.ctl(['list', 'controllers', '-o', 'json'], `127.0.0.2:${port}`);
    if (r.code !== 0) return false;
    const rows = JSON.parse(r.stdout) as Array<Row & { readonly lastContactMs: number | null }>;
    return others.every((id) => {
      const ms = rows.find((c) => c.id === id)?.lastContactMs;
      return typeof ms === 'number' && ms < 1000;
    });
  };
  await waitFor(hearsOthers, `${x}, listening at 127.0.0.2:${port}, to hear ${others.join(' and ')}`, 20_000);
  t.pass(`${x} runs where nobody dials it, and hears ${others.join(' and ')}`);

  // Its timeout (about 1 s here) and the 2 s dial grace, plus a margin for the views and a commit.
  await waitFor(() => shownBy(others, false), `${others.join(', ')} to show the undialable ${x} offline (committed too)`, 15_000);
  t.pass(`${others.join(' and ')} show ${x} offline, committed offline, ${Date.now() - startedAt}ms after it started with the wrong listen`);
  t.ok(cluster.procs.has(x) && (await hearsOthers()), `${x} still runs and hears them: offline because nobody can dial it`);
  const warning = new RegExp(`cannot dial ${x} at ${address.replace(/\./g, '\\.')} for \\d+ms \\([^)]*ECONNREFUSED[^)]*\\), although its own messages arrive, so it is running: .* Check ${x}'s listen address`);
  const logOf = (id: string): string => (cluster.logs.get(id) ?? []).slice(logFrom.get(id) ?? 0).join('');
  for (const id of others) {
    const explain = (): string => logOf(id).split('\n').filter((l) => l.includes(x)).slice(-5).join('\n');
    await waitFor(() => warning.test(logOf(id)), `${id}'s log to warn that it cannot dial ${x}`, 5_000).catch((err: unknown) => {
      throw new Error(`${String(err)}; its last lines about ${x}:\n${explain()}`);
    });
    t.pass(`${id} logged the warning naming ${x}, ${address} and ECONNREFUSED`);
  }
  // Seconds of refused pings (one every 250 ms) later: one warning per member, not one per ping.
  await waitFor(() => shownBy(others, false), `${others.join(', ')} to still show ${x} offline`, 5_000);
  for (const id of others) t.equal(logOf(id).split('\n').filter((l) => warning.test(l)).length, 1, `${id} warned once`);

  await cluster.kill(x, 'SIGTERM');
  cluster.start(x);
  await waitFor(() => shownBy(cluster.ids.filter((id) => id !== x), true), `${others.join(', ')} to show ${x} online again`, 20_000);
  t.pass(`restarted with the right listen, ${x} is online again`);
});
