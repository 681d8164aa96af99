/**
 * Status truth on real processes: a member nobody has heard from is unknown, never online;
 * each member shows its own version; audit events are recorded once, also across a restart;
 * a node cut off from a quorum says so at once (NO_QUORUM) instead of holding the request to
 * its deadline; `ctl` skips a hung endpoint after a connect timeout. Time bounds are stated
 * against the configured deadlines, never as milliseconds of speed.
 *
 * The last three cases share one cluster, each leaving it whole (every member running and a
 * leader elected) for the next: a cluster's start was most of each one's CPU. The first two
 * keep their own: one leaves a member that never runs, the other counts audit events.
 */
import net from 'node:net';
import t from 'tap';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { freePorts } from '../helpers/free-ports.js';
import { waitFor } from '../helpers/wait-for.js';
import { VERSION } from '../../src/node/version.js';

interface Row {
  readonly id: string;
  readonly online: boolean;
  readonly localState: string;
  readonly clusterState: string;
  readonly lastContactMs: number | null;
  readonly version: string | null;
  readonly answeredBy: string;
  readonly stale: boolean;
}

interface AuditLine {
  readonly time: string;
  readonly type: string;
  readonly subject: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
}

async function rows(cluster: ProcessCluster, endpoint: string): Promise<Row[]> {
  const run = await cluster.ctl(['list', 'controllers', '-o', 'json'], cluster.endpoints([endpoint]));
  if (run.code !== 0) throw new Error(`list controllers on ${endpoint}: exit ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as Row[];
}

async function audit(cluster: ProcessCluster, endpoint: string): Promise<AuditLine[]> {
  const run = await cluster.ctl(['audit', '-o', 'json'], cluster.endpoints([endpoint]));
  if (run.code !== 0) throw new Error(`audit on ${endpoint}: exit ${run.code}: ${run.stderr}`);
  return run.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as AuditLine);
}

void t.test('a member added but never started is unknown: never online, no contact time, no version; the others show their own version', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3 });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.waitForLeader();
  const [port] = await freePorts(1);
  const add = await cluster.ctl(['member', 'add', 'c4', `127.0.0.1:${port}`, '--learner']);
  t.equal(add.code, 0, add.stderr);
  let seen: Row[] = [];
  await waitFor(
    async () => {
      seen = await rows(cluster, 'c1');
      return seen.length === 4 && seen.filter((r) => r.id !== 'c4').every((r) => r.online);
    },
    'c1 to list c4 beside three online members',
    20000,
  );
  const c4 = seen.find((r) => r.id === 'c4');
  t.match(c4, { online: false, localState: 'unknown', clusterState: 'unknown', lastContactMs: null, version: null, answeredBy: 'c1', stale: false });
  for (const r of seen.filter((x) => x.id !== 'c4')) t.match(r, { version: VERSION, answeredBy: 'c1', stale: false }, `${r.id}: its own version, carried on its pings`);
  // Some time later, still nobody has heard from it: nothing about it may be recorded.
  const later = await rows(cluster, 'c2');
  t.match(later.find((r) => r.id === 'c4'), { online: false, localState: 'unknown', lastContactMs: null });
  const events = await audit(cluster, 'c1');
  t.same(
    events.filter((e) => e.type === 'member.status' && e.subject === 'c4'),
    [],
    'no status change (no "heartbeat resumed") was recorded for a member that never ran',
  );
  t.ok(events.some((e) => e.type === 'member.added' && e.subject === 'c4'), 'its addition was');
});

void t.test('a restart records no audit event twice, and leadership events carry their reason', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3 });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  const leader = await cluster.waitForLeader();
  const [port] = await freePorts(1);
  t.equal((await cluster.ctl(['member', 'add', 'c9', `127.0.0.1:${port}`, '--learner'])).code, 0);
  t.equal((await cluster.ctl(['member', 'remove', 'c9'])).code, 0);
  const target = cluster.ids.find((id) => id !== leader)!;
  const transfer = await cluster.ctl(['leader', 'transfer', target]);
  t.equal(transfer.code, 0, transfer.stderr);
  const witness = cluster.ids.find((id) => id !== leader && id !== target)!;
  await waitFor(async () => (await audit(cluster, leader)).some((e) => e.type === 'leader.changed' && e.to === target), `${leader} to record the transfer`, 20000);
  const before = await audit(cluster, witness);
  const oldLeaderView = await audit(cluster, leader);
  const transferEvent = oldLeaderView.find((e) => e.type === 'leader.changed' && e.to === target);
  t.match(transferEvent?.reason, new RegExp(`^transfer by operator: ${leader} -> ${target} in \\d+ms \\(term \\d+\\)$`), 'the old leader names the transfer, old -> new and how long it took');
  t.match(before.find((e) => e.type === 'leader.changed')?.reason, /^election: none -> \S+ \(term \d+\)$/, 'the first leader was elected');

  t.equal(await cluster.kill(witness, 'SIGKILL'), null);
  cluster.start(witness);
  await cluster.waitForLeader();
  await waitFor(async () => (await rows(cluster, witness)).every((r) => r.id === 'c9' || r.online), `${witness} to see everyone online again`, 20000);
  const after = await audit(cluster, witness);
  const key = (e: AuditLine): string => `${e.type}|${e.subject}|${e.from}|${e.to}|${e.reason}`;
  const counts = (events: readonly AuditLine[]): Map<string, number> => {
    const m = new Map<string, number>();
    for (const e of events) if (e.type !== 'state.divergence' && e.type !== 'state.repaired') m.set(key(e), (m.get(key(e)) ?? 0) + 1);
    return m;
  };
  const beforeCounts = counts(before);
  const repeated = [...counts(after)].filter(([k, n]) => n > (beforeCounts.get(k) ?? 0) && beforeCounts.has(k));
  t.same(repeated, [], 'no event recorded before the restart was recorded again by replaying the log');
  t.equal(after.filter((e) => e.type === 'member.added' && e.subject === 'c9').length, 1, 'member.added c9 once');
  t.equal(after.filter((e) => e.type === 'member.removed' && e.subject === 'c9').length, 1, 'member.removed c9 once');
  const terms = after.filter((e) => e.type === 'leader.changed').map((e) => /term (\d+)/.exec(e.reason)?.[1]);
  t.equal(new Set(terms).size, terms.length, `one leader.changed per term (${terms.join(', ')})`);
});

const shared = await ProcessCluster.create({ nodes: 3 });
t.teardown(() => shared.stop());
/** The shared cluster, every member running, with a leader. */
async function whole(): Promise<ProcessCluster> {
  for (const id of shared.ids) if (!shared.procs.has(id)) shared.start(id);
  await shared.waitForLeader();
  return shared;
}

void t.test('a node cut off from a quorum answers NO_QUORUM at once, and ctl moves on or exits 1', async (t) => {
  const cluster = await whole();
  t.equal((await cluster.ctl(['kv', 'put', 'a', '1'])).code, 0);
  const [survivor, ...gone] = cluster.ids as [string, ...string[]];
  for (const id of gone) await cluster.kill(id, 'SIGKILL');
  // A node that knows it is cut off must not hold a request until its deadline. The deadline
  // is long (30 s) so that the bound below, half of it, says "did not wait for the deadline"
  // and not "was fast" on a loaded machine. Wait until it says so (an election timeout after
  // the others stopped).
  const deadlineMs = 30_000;
  await waitFor(async () => (await rows(cluster, survivor)).every((r) => r.stale), `${survivor} to say it is stale`, 20000);
  for (const args of [
    ['kv', 'put', 'b', '2'],
    ['kv', 'get', 'a'],
  ]) {
    const started = Date.now();
    const run = await cluster.ctl(['--timeout', `${deadlineMs}ms`, ...args], cluster.endpoints([survivor]));
    const took = Date.now() - started;
    t.equal(run.code, 1, `${args.join(' ')}: exit 1 when no endpoint can serve (${run.stderr.trim()})`);
    // What it lacks, in the words of its state: a follower counts the voters it hears (after a
    // stall of its own, those that answered since); a leader not yet stepped down names the age
    // of its quorum's last acknowledgement.
    const lacks = `((has heard|resumed \\d+ms ago from a stall of \\d+ms and has heard back) from 1 of 3 voters|leads term \\d+ but a quorum last acknowledged it \\d+ms ago)`;
    t.match(run.stderr, new RegExp(`${survivor} is cut off from a quorum: ${survivor} ${lacks}`), 'the answer names the node and what it lacks');
    t.ok(took < deadlineMs / 2, `answered in ${took}ms, well before the ${deadlineMs}ms request deadline`);
  }
  const started = Date.now();
  const health = await cluster.ctl(['--timeout', `${deadlineMs}ms`, 'health'], cluster.endpoints([survivor, ...gone]));
  t.equal(health.code, 1, health.stderr);
  t.ok(Date.now() - started < deadlineMs / 2, `ctl health answered before half its request deadline (${Date.now() - started}ms), two of its endpoints dead`);
  // With the others back, the same command through the cut-off node's list moves on and succeeds.
  for (const id of gone) cluster.start(id);
  await cluster.waitForLeader();
  t.equal((await cluster.ctl(['kv', 'put', 'c', '3'], cluster.endpoints([survivor, ...gone]))).code, 0);
});

void t.test('ctl with a hung first endpoint (it accepts TCP and never answers) answers before its request deadline', async (t) => {
  const sockets = new Set<net.Socket>();
  const hung = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        hung.close(() => resolve());
      }),
  );
  const hungAddress = `127.0.0.1:${(hung.address() as net.AddressInfo).port}`;
  const cluster = await whole();
  // Long, so that answering before it says "moved on from the hung endpoint", not "was fast".
  const deadlineMs = 20_000;
  for (const args of [['kv', 'put', 'k', 'v'], ['kv', 'get', 'k'], ['list', 'controllers', '-o', 'json']]) {
    const started = Date.now();
    const run = await cluster.ctl(['--timeout', `${deadlineMs}ms`, ...args], `${hungAddress},${cluster.endpoints()}`);
    const took = Date.now() - started;
    t.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
    t.ok(took < deadlineMs, `${args.join(' ')} answered in ${took}ms, before the ${deadlineMs}ms request deadline`);
  }
  t.ok(sockets.size > 0, 'ctl did connect to the hung endpoint first');
});

void t.test('a paused old leader, resumed, never answers as a current leader of an old term: it says stale until it hears a quorum', async (t) => {
  const cluster = await whole();
  const old = await cluster.waitForLeader();
  const before = await cluster.status(old);
  const rest = cluster.ids.filter((id) => id !== old);
  // Asked while it is stopped, on a connection opened before the pause: the request waits in
  // its socket and is answered on SIGCONT. Whatever the order in which the resumed process then
  // reads that request and its peers' messages, an answer as leader of the old term must say
  // stale (its last contact with a quorum is older than an election timeout).
  const client = cluster.client([old], 10_000);
  t.teardown(() => client.close());
  await client.statusOn(cluster.addresses.get(old)!).catch(() => null);
  cluster.pause(old);
  const next = await cluster.waitForLeader(rest);
  const newTerm = (await cluster.status(next))?.term ?? 0;
  t.ok(newTerm > (before?.term ?? 0), `${next} leads in a newer term (${newTerm})`);
  const asked = client.statusOn(cluster.addresses.get(old)!);
  await new Promise((resolve) => setImmediate(resolve)); // the request leaves before the signal
  cluster.resume(old);
  const answer = await asked;
  t.comment(`the resumed ${old} answered role ${answer.role}, term ${answer.term}, stale ${answer.stale} (${answer.staleReason})`);
  t.notOk(answer.role === 'leader' && answer.term < newTerm && !answer.stale, 'an old-term leader answer always says stale');
  await waitFor(async () => (await cluster.status(old))?.stale === false, `${old} to be current again once it hears its peers`, 20000);
});
