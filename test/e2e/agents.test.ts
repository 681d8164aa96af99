/**
 * Agents end to end on real processes (issue 13, "Proof"): three controllers, `agent` binaries,
 * `ctl` as an operator runs it. Sync, update, NACK without re-send, reconnect and controller
 * failover without re-send, `list agents` from every controller, and agents gone for good
 * forgotten: by an operator (`ctl delete agent`) and by the leader after the reconnect timeout.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { MeshClient } from '../../src/api/mesh-client.js';
import type { AgentRow } from '../../src/agents/listing.js';
import { freePorts } from '../helpers/free-ports.js';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';
import { AgentProc, startWithAgents } from '../agents/agent-procs.js';

const RESOURCES = `
- { kind: service, name: web, spec: { protocol: http, ports: [80] }, labels: { tier: front } }
- { kind: service, name: db, spec: { protocol: tcp, ports: [5432] } }
- { kind: route, name: web-db, spec: { from: web, to: db } }
`;

void t.test('agents sync, update, reject without re-send, and survive reconnects and a controller failover', async (t) => {
  // Long enough for a1's restart below (an agent back within it keeps its record), short enough to see a reap.
  const cluster = await ProcessCluster.create({ nodes: 3, metrics: true, agentReconnectTimeout: '10s' });
  const mesh = new MeshClient({ endpoints: cluster.endpoints().split(','), timeoutMs: 5000 });
  const { agents, endpoints } = await startWithAgents(t, cluster, () => mesh.close());
  const write = (name: string, text: string): string => {
    const file = path.join(cluster.dir, name);
    fs.writeFileSync(file, text);
    return file;
  };

  for (const id of ['a1', 'a2', 'a3']) agents.push(new AgentProc({ id, controllers: endpoints, dir: cluster.dir, yaml: 'protocols: [http, tcp, grpc]\n' }).start());
  // The default protocols (http, tcp): it rejects what uses grpc.
  const [adminPort] = await freePorts(1);
  const admin = `127.0.0.1:${adminPort}`;
  const picky = new AgentProc({ id: 'picky', controllers: endpoints, dir: cluster.dir, admin, yaml: 'dependencies: [db]\nhosts:\n  - { name: web, spec: { protocol: http, ports: [8080] } }\n' }).start();
  agents.push(picky);

  const rows = async (endpoint?: string): Promise<readonly AgentRow[]> => (endpoint === undefined ? await mesh.listAgents() : await mesh.listAgentsOn(endpoint)).agents;
  const row = async (id: string): Promise<AgentRow | undefined> => (await rows()).find((r) => r.id === id);
  const allSynced = async (version: number): Promise<boolean> => {
    const list = await rows().catch(() => []);
    return list.length === agents.length && list.every((r) => r.online && r.state === 'SYNCED' && r.ackedVersion === version);
  };

  // -- sync ---------------------------------------------------------------------------------------
  const applied = await cluster.ctl(['apply', '-f', write('r1.yaml', RESOURCES)]);
  t.equal(applied.code, 0, applied.stderr);
  const v1 = Number(applied.stdout.trim());
  t.ok(v1 > 0, `apply printed revision ${v1}`);
  await cluster.explainFailure(waitFor(() => agents.every((a) => a.version() === v1), `every agent's --out at version ${v1}`, 20000));
  t.same(agents[0]!.config()?.resources.map((r) => `${r.kind}/${r.name}`), ['route/web-db', 'service/db', 'service/web'], 'sorted, all of it');
  await cluster.explainFailure(waitFor(() => allSynced(v1), 'every agent SYNCED', 20000));
  // Every controller holds every agent's record, and says how many against the cap.
  for (const id of cluster.ids) {
    const text = await (await fetch(`http://${cluster.metricsAddresses.get(id)!}/metrics`)).text();
    t.match(text, new RegExp(`^agents_records\\{[^}]*\\} ${agents.length}$`, 'm'), `${id}: agents_records ${agents.length}`);
    // The controller reads its agents' messages straight from their HTTP/2 streams (hub-reads.ts): a
    // grpc-js upgrade or an interceptor moved would fall back silently, costing CPU per message.
    t.match(text, /^agents_streams_read_by_grpc_total\{[^}]*\} 0$/m, `${id}: no stream read through grpc-js`);
  }
  const config = (await (await fetch(`http://${admin}/config`)).json()) as { version: number; resources: { name: string }[] };
  t.equal(config.version, v1, 'GET /config: the configuration in force');
  const hit = await fetch(`http://${admin}/resolve/web`);
  t.equal(hit.status, 200);
  t.match(await hit.json(), { name: 'web', vip: /^241\.0\.0\.\d+$/ }, 'a known service: its VIP');
  const miss = await fetch(`http://${admin}/resolve/unknown`);
  t.equal(miss.status, 202);
  t.same(await miss.json(), { name: 'unknown', via: 'fallback' });
  t.equal((await fetch(`http://${admin}/resolve/Bad_Name`)).status, 400);
  // The static dependency from agent.yaml, and the one /resolve/unknown just reported (observed).
  await cluster.explainFailure(waitFor(async () => (await row('picky'))?.dependencies.join() === 'db,unknown', "picky's dependencies: db and unknown", 20000));
  const pickyRow = await row('picky');
  t.same(pickyRow?.dependencies, ['db', 'unknown'], 'agent.yaml dependencies carried, the observed one beside them');
  t.same(pickyRow?.hosts, ['web'], 'agent.yaml hosts carried');

  // -- a file that changes nothing writes nothing --------------------------------------------------
  // (The cluster revision may have moved since v1 for other reasons: picky's publish, the
  // dependency its /resolve miss reported. The file itself must write nothing.)
  const again = await cluster.ctl(['apply', '-f', write('r1-again.yaml', RESOURCES)]);
  const againRevision = Number(again.stdout.trim());
  t.ok(againRevision >= v1, 'the current revision');
  const thrice = await cluster.ctl(['apply', '-f', write('r1-again.yaml', RESOURCES)]);
  t.equal(thrice.stdout.trim(), String(againRevision), 'nothing written');

  // -- dangling references are refused whole ------------------------------------------------------
  const dangling = await cluster.ctl(['apply', '-f', write('bad.yaml', '- { kind: service, name: api, spec: { protocol: http } }\n- { kind: route, name: api-cache, spec: { from: api, to: cache } }\n')]);
  t.equal(dangling.code, 1, 'exit 1');
  t.match(dangling.stderr, /route "api-cache" names "cache"/);
  t.equal((await cluster.ctl(['get', 'services', 'api'])).code, 4, 'nothing of the file was applied');
  const refusedDelete = await cluster.ctl(['delete', 'service', 'db']);
  t.equal(refusedDelete.code, 1);
  t.match(refusedDelete.stderr, /still named by route\(s\) "web-db"/);
  const json = await cluster.ctl(['get', 'services', '-o', 'json']);
  t.same(
    (JSON.parse(json.stdout) as { kind: string; name: string; revision: number }[]).map((r) => [r.kind, r.name, r.revision]),
    [['service', 'db', v1], ['service', 'web', v1]],
  );

  // -- update: a delta ------------------------------------------------------------------------------
  const upd = await cluster.ctl(['apply', '-f', write('r2.yaml', '- { kind: service, name: db, spec: { protocol: tcp, ports: [5432, 5433] } }\n')]);
  const v2 = Number(upd.stdout.trim());
  t.ok(v2 > v1);
  await cluster.explainFailure(waitFor(() => allSynced(v2), `every agent SYNCED at ${v2}`, 20000));
  t.equal(agents[1]!.config()?.resources.find((r) => r.name === 'db')?.revision, v2);

  // -- NACK without re-send ---------------------------------------------------------------------------
  const grpc = await cluster.ctl(['apply', '-f', write('r3.yaml', '- { kind: service, name: rpc, spec: { protocol: grpc, ports: [9000] } }\n')]);
  const v3 = Number(grpc.stdout.trim());
  await cluster.explainFailure(waitFor(async () => (await row('picky'))?.state === 'NACKED', 'picky NACKED', 20000));
  const nacked = (await row('picky'))!;
  t.match(nacked, { ackedVersion: v2, nackedVersion: v3, sentVersion: v3, lastError: /protocol "grpc", which this agent does not support/ });
  t.equal(picky.version(), v2, 'picky keeps its last good configuration');
  const nackedPushes = nacked.pushes;
  // Time for a re-send loop to show itself, were there one, counted in the agent's own traffic:
  // three more contacts the controller heard from picky after the NACK (lastContactMs drops).
  let contacts = 0;
  let lastMs = Number.POSITIVE_INFINITY;
  await waitFor(async () => {
    const ms = (await row('picky'))?.lastContactMs ?? null;
    if (ms !== null && ms < lastMs) contacts += 1;
    if (ms !== null) lastMs = ms;
    return contacts > 3;
  }, 'three more contacts from picky after its NACK', 20000);
  t.equal((await row('picky'))?.pushes, nackedPushes, 'the pushes counter stays put');
  const audit = await cluster.ctl(['audit', '-o', 'json']);
  t.match(audit.stdout, /"type":"agent\.nack","subject":"picky"/);
  t.notMatch(audit.stdout, /"type":"agent\.nack","subject":"a1"/, 'only the agent that rejected it');
  await cluster.explainFailure(waitFor(() => agents.filter((a) => a !== picky).every((a) => a.version() === v3), 'the others at v3', 20000));

  // -- reconnect without re-send: the agent restarts from its --out file -----------------------------------
  const a1 = agents[0]!;
  const a1Pushes = (await row('a1'))!.pushes;
  await a1.kill();
  a1.start();
  await cluster.explainFailure(waitFor(async () => {
    const r = await row('a1');
    return r !== undefined && r.online && r.state === 'SYNCED' && r.lastContactMs !== null && r.lastContactMs < 1000;
  }, 'a1 back and SYNCED', 20000));
  t.equal((await row('a1'))?.pushes, a1Pushes, 'nothing was sent again');

  // -- a3 leaves for good now; the leader forgets it after the reconnect timeout (checked at the end) ------
  const a3 = agents[2]!;
  await a3.kill();
  const a3GoneAt = Date.now();
  await cluster.explainFailure(waitFor(async () => (await row('a3'))?.online === false, 'a3 offline', 20000));

  // -- controller failover without re-send ------------------------------------------------------------------
  const before = await rows();
  const victim = before.find((r) => r.id === 'a2')!.controller;
  const moved = before.filter((r) => r.controller === victim && r.online).map((r) => r.id);
  const leader = await cluster.waitForLeader();
  const killedAt = new Date().toISOString();
  await cluster.kill(victim);
  const survivors = cluster.ids.filter((id) => id !== victim);
  if (victim === leader) await cluster.waitForLeader(survivors);
  const survivorMesh = new MeshClient({ endpoints: cluster.endpoints(survivors).split(','), timeoutMs: 5000 });
  t.teardown(() => survivorMesh.close());
  await cluster.explainFailure(waitFor(async () => {
    const list = (await survivorMesh.listAgents().catch(() => null))?.agents ?? [];
    return moved.every((id) => list.find((r) => r.id === id)?.controller !== victim && list.find((r) => r.id === id)?.online === true);
  }, `the agents of ${victim} (${moved.join(', ')}) served elsewhere`, 20000));
  const after = (await survivorMesh.listAgents()).agents;
  for (const id of moved) {
    t.equal(after.find((r) => r.id === id)?.pushes, before.find((r) => r.id === id)?.pushes, `${id}: no configuration re-sent`);
  }
  for (const s of survivors) {
    const trail = await cluster.ctl(['audit', '-o', 'json'], cluster.endpoints([s]));
    // (The restart of a1 above may show as an outage: a process start can take longer than its grace.)
    const offline = trail.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { time: string; type: string; subject: string; to: string })
      // (a3 left for good just before; a controller may record that a moment late.)
      .filter((e) => e.time >= killedAt && e.type === 'agent.status' && e.to === 'offline' && e.subject !== 'a3');
    t.same(offline, [], `${s}: no agent shown offline after ${victim} was killed`);
  }

  // -- list agents from every controller: the same story ------------------------------------------------------
  await cluster.explainFailure(waitFor(async () => {
    const views = await Promise.all(survivors.map((s) => survivorMesh.listAgentsOn(cluster.addresses.get(s)!).catch(() => null)));
    const stable = views.map((v) => JSON.stringify(v?.agents.map((r) => ({ ...r, lastContactMs: 0, heartbeatTimeoutMs: 0 }))));
    return views.every((v) => v !== null && !v.stale) && new Set(stable).size === 1;
  }, 'every controller lists the same agents', 20000));
  const listed = await cluster.ctl(['list', 'agents', '-o', 'json'], cluster.endpoints(survivors));
  t.equal(listed.code, 0);
  const first = (JSON.parse(listed.stdout) as Record<string, unknown>[])[0]!;
  t.same(Object.keys(first).slice(0, 14), ['id', 'online', 'controller', 'state', 'sentVersion', 'ackedVersion', 'nackedVersion', 'lastError', 'pushes', 'resources', 'dependencies', 'hosts', 'lastContactMs', 'heartbeatTimeoutMs'], "the contract's fields, in order");
  t.same(Object.keys(first).slice(14), ['publishWrites', 'publishRevisions', 'publish'], 'then the fields added with services');

  // -- agents gone for good are forgotten ---------------------------------------------------------------------
  const onSurvivors = (args: string[]) => cluster.ctl(args, cluster.endpoints(survivors));
  const online = await onSurvivors(['delete', 'agent', 'picky']);
  t.equal(online.code, 1, 'an online agent is refused, exit 1');
  t.match(online.stderr, /agent "picky" is online \(connected to c\d\); only an offline agent can be forgotten/);
  await picky.kill();
  const listedIds = async (s: string): Promise<string[]> => ((await survivorMesh.listAgentsOn(cluster.addresses.get(s)!).catch(() => null))?.agents ?? []).map((r) => r.id);
  await cluster.explainFailure(waitFor(async () => (await survivorMesh.listAgents()).agents.some((r) => r.id === 'picky' && !r.online), 'picky offline', 20000));
  const forgot = await onSurvivors(['delete', 'agent', 'picky']);
  t.equal(forgot.code, 0, forgot.stderr);
  t.equal(forgot.stdout, 'agent picky forgotten\n');
  const webEndpoints = async (): Promise<string[]> => {
    const got = await onSurvivors(['get', 'services', 'web', '-o', 'json']);
    return ((JSON.parse(got.stdout) as { status: { endpoints?: { agent: string }[] } }[])[0]?.status.endpoints ?? []).map((e) => e.agent);
  };
  await cluster.explainFailure(waitFor(async () => (await Promise.all(survivors.map(listedIds))).every((ids) => !ids.includes('picky')), 'picky gone from list agents on every controller', 20000));
  await cluster.explainFailure(waitFor(async () => !(await webEndpoints()).includes('picky'), "picky's endpoint gone from service web", 20000));
  const repeat = await onSurvivors(['delete', 'agent', 'picky']);
  t.equal(repeat.code, 4, 'a repeat finds nothing: exit 4');
  t.match(repeat.stderr, /agent "picky" not found/);
  // a3 (killed before the failover) is left to the leader: forgotten once offline for the
  // reconnect timeout (10 s), not before, on every controller.
  await cluster.explainFailure(waitFor(async () => (await Promise.all(survivors.map(listedIds))).every((ids) => !ids.includes('a3')), 'a3 reaped on every controller', 40000));
  const reapedAfter = Date.now() - a3GoneAt;
  t.ok(reapedAfter >= 10_000, `a3 forgotten ${reapedAfter}ms after it was killed (timeout 10s)`);
  const trail = await onSurvivors(['audit', '-o', 'json']);
  t.match(trail.stdout, /"type":"agent\.forgotten","subject":"picky"[^\n]*"reason":"forgotten by an operator \(ctl delete agent\)"/);
  t.match(trail.stdout, /"type":"agent\.forgotten","subject":"a3"[^\n]*"reason":"offline for more than 10s \(controller.agent_reconnect_timeout\)"/);
  t.match(trail.stdout, /"type":"agent\.declaration\.forgotten","subject":"picky"/);
});

void t.test('the agent binary refuses a bad agent.yaml, a bad --controllers list and a missing --id, exit 2', async (t) => {
  const dir = fs.mkdtempSync(path.join((await import('node:os')).tmpdir(), 'agent-args-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const yaml = path.join(dir, 'agent.yaml');
  fs.writeFileSync(yaml, 'protocols: [http]\nhosts:\n  - { name: web, spec: { protocol: http, ports: [70000] } }\n');
  const bad = await AgentProc.run(['--controllers', '127.0.0.1:1', '--id', 'a1', '--config', yaml]);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /agent\.yaml: hosts\[0\]\.spec: ports\[0\] must be a port number in \[1, 65535\], found 70000 \(line 3\)/);
  const list = await AgentProc.run(['--controllers', 'nohost', '--id', 'a1']);
  t.equal(list.code, 2);
  t.match(list.stderr, /--controllers/);
  const noId = await AgentProc.run(['--controllers', '127.0.0.1:1']);
  t.equal(noId.code, 2);
  t.match(noId.stderr, /missing --id/);
  const out = await AgentProc.run(['--controllers', '127.0.0.1:1', '--id', 'a1', '--out', path.join(dir, 'no-such-dir', 'a1.json')]);
  t.equal(out.code, 2);
  t.match(out.stderr, /--out: expected a writable directory/);
  // Renamed over on each change: a link would be replaced, its target never written.
  fs.writeFileSync(path.join(dir, 'real.json'), '{}');
  fs.symlinkSync(path.join(dir, 'real.json'), path.join(dir, 'link.json'));
  const link = await AgentProc.run(['--controllers', '127.0.0.1:1', '--id', 'a1', '--out', path.join(dir, 'link.json')]);
  t.equal(link.code, 2);
  t.match(link.stderr, /--out: .*link\.json is a symbolic link \(-> .*real\.json\): expected a regular file/);
  t.ok(fs.lstatSync(path.join(dir, 'link.json')).isSymbolicLink(), 'the link is left as it was');
});

void t.test('an agent no controller welcomes warns, pass after pass, naming what to check', async (t) => {
  const dir = fs.mkdtempSync(path.join((await import('node:os')).tmpdir(), 'agent-unwelcomed-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // A port that accepts connections and is no controller's: an HTTP/1 server.
  const http = await import('node:http');
  const server = http.createServer((_req, res) => res.end('not a controller'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const agent = new AgentProc({ id: 'lost', controllers: `127.0.0.1:${port}`, dir, extraArgs: ['--log-level', 'info'] }).start();
  t.teardown(() => agent.kill());
  await waitFor(() => agent.log.join('').includes('no controller welcomed this agent'), 'a warning from the agent', 30_000);
  const warning = agent.log
    .join('')
    .split('\n')
    .find((l) => l.includes('no controller welcomed this agent'))!;
  t.match(JSON.parse(warning) as object, { level: 40, hint: /^no controller welcomed this agent in 3 attempts: check --controllers \(each a controller's gRPC address\) and the TLS files$/ });
  t.equal(agent.exitCode, null, 'it keeps trying');
});
