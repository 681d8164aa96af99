/**
 * Services, VIPs and lazy configuration end to end on real processes (issue 14, "Proof"): three
 * controllers, `agent` binaries publishing what they host, a lazy agent with an admin port, `ctl`.
 *
 * - restart an agent: VIPs and the cluster revision unchanged (an identical re-publish writes
 *   nothing; a restart that outlasts its grace moves the revision by the health writes alone);
 * - kill the leader: VIPs unchanged, the next service gets a fresh one;
 * - a lazy agent resolves an unknown service (202 via fallback) and receives it (then 200 with
 *   its VIP); it never holds services outside its set; it acknowledges the new version;
 * - the killed leader, back, holds the same VIPs in its own replica;
 * - the range changes (`ctl config set services.vip_cidr`): VIPs kept, the next service from the
 *   new range; a file needing more addresses than are left is refused whole, nothing crashes;
 * - an agent offline: its endpoints stay, unhealthy, and are healthy again when it is back.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { MeshClient } from '../../src/api/mesh-client.js';
import { SERVICE_OWNERSHIP_VERSION, compareClusterVersions, type Resource, type ResourceInput, type ServiceResource } from '../../src/statemachine/index.js';
import { freePorts } from '../helpers/free-ports.js';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';
import { AgentProc, startWithAgents } from '../agents/agent-procs.js';

const EDGE = 'hosts:\n  - { name: web, spec: { protocol: http, ports: [8080] }, labels: { tier: front } }\n  - { name: api, spec: { protocol: http, ports: [9090] } }\n';
const EDGE2 = 'hosts:\n  - { name: web, spec: { protocol: http, ports: [8080] }, labels: { tier: front } }\n';
const LAZY = 'lazy: true\ndependencies: [web]\n';

const vipsOf = (resources: readonly Resource[]): Record<string, string | undefined> =>
  Object.fromEntries(resources.filter((r): r is ServiceResource => r.kind === 'service').map((s) => [s.name, s.status.vip]));

void t.test('VIPs survive agent restarts, leader changes and a range change; a lazy agent learns a dependency from /resolve and ACKs it', async (t) => {
  // A 3 s base timeout: an agent's restart (a new process, under a loaded machine) stays well
  // within its grace, so it is a reconnect and not an outage (which would mark its endpoints).
  const cluster = await ProcessCluster.create({ nodes: 3, heartbeat: { baseTimeout: '3s' } });
  const mesh = new MeshClient({ endpoints: cluster.endpoints().split(','), timeoutMs: 5000 });
  const { agents, endpoints } = await startWithAgents(t, cluster, () => mesh.close());
  const [adminPort] = await freePorts(1);
  const admin = `127.0.0.1:${adminPort}`;
  const edge = new AgentProc({ id: 'edge-1', controllers: endpoints, dir: cluster.dir, yaml: EDGE }).start();
  const edge2 = new AgentProc({ id: 'edge-2', controllers: endpoints, dir: cluster.dir, yaml: EDGE2 }).start();
  const lazy = new AgentProc({ id: 'lazy-1', controllers: endpoints, dir: cluster.dir, yaml: LAZY, admin }).start();
  agents.push(edge, edge2, lazy);

  const services = async (): Promise<Map<string, ServiceResource>> => new Map((await mesh.get('service')).filter((r): r is ServiceResource => r.kind === 'service').map((r) => [r.name, r]));
  const vips = async (): Promise<Record<string, string | undefined>> => Object.fromEntries([...(await services())].map(([n, s]) => [n, s.status.vip]));
  /** The cluster revision now, read without writing anything (an apply that changes nothing answers it). */
  const revision = async (): Promise<number> => (await mesh.apply([])).revision;
  const synced = async (ids: readonly string[]): Promise<boolean> => {
    const rows = (await mesh.listAgents().catch(() => null))?.agents ?? [];
    return ids.every((id) => rows.some((r) => r.id === id && r.online && r.state === 'SYNCED'));
  };

  /** Services as agents and operators read them, without the revision each was last written at. */
  const contentOf = (m: ReadonlyMap<string, ServiceResource>): Record<string, unknown> => Object.fromEntries([...m].map(([n, s]) => [n, { spec: s.spec, labels: s.labels, status: s.status }]));
  /** Times the health layer had `id` offline since `since` (ISO time), in the audit trail. */
  const outagesOf = async (id: string, since: string): Promise<number> => {
    const trail = await cluster.ctl(['audit', '-o', 'json']);
    if (trail.code !== 0) return 0;
    const events = trail.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { time: string; type: string; subject: string | null; to: string | null });
    return events.filter((e) => e.time >= since && e.type === 'agent.status' && e.subject === id && e.to === 'offline').length;
  };

  // -- published: web by two agents, api by one, each with a VIP ------------------------------------
  await cluster.explainFailure(
    waitFor(async () => {
      const s = await services().catch(() => new Map<string, ServiceResource>());
      return s.get('web')?.status.endpoints?.length === 2 && s.get('api') !== undefined;
    }, 'web and api published', 20000),
  );
  await cluster.explainFailure(waitFor(() => synced(['edge-1', 'edge-2', 'lazy-1']), 'every agent SYNCED', 20000));
  const first = await vips();
  t.match(first, { api: /^241\.0\.0\.\d+$/, web: /^241\.0\.0\.\d+$/ });
  t.not(first['api'], first['web']);
  const web = (await services()).get('web')!;
  t.same(web.status.endpoints, [{ agent: 'edge-1', healthy: true }, { agent: 'edge-2', healthy: true }]);
  t.same(web.spec, { protocol: 'http', ports: [8080] });
  const r0 = await revision();
  const lazyVersion = lazy.version();
  t.same(lazy.config()?.resources.map((r) => `${r.kind}/${r.name}`), ['service/web'], 'the lazy agent holds its dependency only');

  // -- restart an agent: nothing written, nothing re-sent ---------------------------------------------
  const edgeVersion = edge.version();
  const servicesBefore = await services();
  const restartedAt = new Date().toISOString();
  await edge.kill();
  edge.start();
  await cluster.explainFailure(
    waitFor(async () => {
      const row = (await mesh.listAgents()).agents.find((r) => r.id === 'edge-1');
      return row !== undefined && row.online && row.state === 'SYNCED' && row.lastContactMs !== null && row.lastContactMs < 1000;
    }, 'edge-1 back and SYNCED', 20000),
  );
  // (After an outage, below, its endpoints are healthy again a moment after it is online.)
  await cluster.explainFailure(
    waitFor(async () => JSON.stringify(contentOf(await services())) === JSON.stringify(contentOf(servicesBefore)), 'every service as it was: spec, labels, VIP, endpoints and their health', 20000),
  );
  t.same(await vips(), first, 'VIPs unchanged');
  const row = (await mesh.listAgents()).agents.find((r) => r.id === 'edge-1');
  t.match(row, { publishWrites: 1, publishRevisions: 1, hosts: ['api', 'web'] }, 'one publish ever reached the log: the first');
  // The publish path is not the only writer: a restart that outlasts the agent's offline grace (a
  // process start on a loaded host) is an outage, and the health layer marks its endpoints
  // unhealthy and healthy again, a revision each, which the agents holding them receive. So the
  // revision may move only by those: with no outage of edge-1 audited, not at all.
  const r1 = await revision();
  let outages = 0;
  // (The audit is read only when needed: a `ctl` process costs half a CPU second.)
  if (r1 !== r0) await waitFor(async () => (outages = await outagesOf('edge-1', restartedAt)) * 2 >= r1 - r0, 'an outage of edge-1 audited for each two revisions', 10000).catch(() => undefined);
  t.ok(r1 - r0 <= 2 * outages, `the cluster revision ${r0} -> ${r1} with ${outages} outage(s) of edge-1 audited: the identical re-publish wrote nothing`);
  if (outages === 0) {
    t.equal(edge.version(), edgeVersion);
    t.equal(lazy.version(), lazyVersion, 'nothing new for the lazy agent either');
  }

  // -- kill the leader: VIPs unchanged, the next service a fresh VIP --------------------------------------
  const leader = await cluster.waitForLeader();
  await cluster.kill(leader);
  const survivors = cluster.ids.filter((id) => id !== leader);
  await cluster.waitForLeader(survivors);
  const survivorMesh = new MeshClient({ endpoints: cluster.endpoints(survivors).split(','), timeoutMs: 5000 });
  t.teardown(() => survivorMesh.close());
  const fresh: ResourceInput = { kind: 'service', name: 'fresh', spec: { protocol: 'tcp', ports: [7000] }, labels: {} };
  await cluster.explainFailure(waitFor(async () => (await survivorMesh.apply([fresh]).catch(() => null)) !== null, 'an apply on the new leader', 20000));
  const after = Object.fromEntries(((await survivorMesh.get('service')) as ServiceResource[]).map((s) => [s.name, s.status.vip]));
  t.equal(after['web'], first['web']);
  t.equal(after['api'], first['api']);
  t.match(after['fresh'], /^241\.0\.0\.\d+$/);
  t.notOk(Object.values(first).includes(after['fresh']), `the new leader handed out a fresh VIP (${after['fresh']})`);
  cluster.start(leader);

  // -- a lazy agent resolves an unknown service and receives it ----------------------------------------------
  const miss = await fetch(`http://${admin}/resolve/api`);
  t.equal(miss.status, 202);
  t.same(await miss.json(), { name: 'api', via: 'fallback' });
  // GET /config: the configuration in force (the --out file is written just before it is).
  const inForce = async (): Promise<string[]> => ((await (await fetch(`http://${admin}/config`)).json()) as { resources: { kind: string; name: string }[] }).resources.map((r) => `${r.kind}/${r.name}`);
  await cluster.explainFailure(waitFor(async () => (await inForce()).includes('service/api'), "api in the lazy agent's configuration", 10000));
  const hit = await fetch(`http://${admin}/resolve/api`);
  t.equal(hit.status, 200);
  t.same(await hit.json(), { name: 'api', vip: first['api'] });
  t.same(await inForce(), ['service/api', 'service/web'], 'its set, never the whole mesh (no fresh)');
  const lazyRow = (await survivorMesh.listAgents()).agents.find((r) => r.id === 'lazy-1');
  t.same(lazyRow?.dependencies, ['api', 'web'], 'list agents: static and observed dependencies');
  const trail = await cluster.ctl(['audit', '-o', 'json'], cluster.endpoints(survivors));
  t.match(trail.stdout, /"type":"agent\.dependency\.added","subject":"lazy-1","from":[^,]*,"to":"api"/);
  t.match(trail.stdout, /"type":"service\.vip\.assigned","subject":"fresh"/);

  // -- the new version is acknowledged: a new dependency made one, and the agent ACKed it ---------------
  const resolvedVersion = lazy.version();
  t.ok(resolvedVersion !== null && lazyVersion !== null && resolvedVersion > lazyVersion, `the observed dependency made a new version (${lazyVersion} -> ${resolvedVersion})`);
  await cluster.explainFailure(
    waitFor(async () => {
      const r = (await survivorMesh.listAgents().catch(() => null))?.agents.find((a) => a.id === 'lazy-1');
      return r?.state === 'SYNCED' && r.ackedVersion === lazy.version();
    }, 'lazy-1 SYNCED on the version it holds', 10000),
  );

  // -- the old leader, back, holds the same VIPs in its own replica (a local read) ----------------------
  const everyVip = vipsOf(await survivorMesh.get('service'));
  const oldLeader = new MeshClient({ endpoints: cluster.endpoints([leader]).split(','), timeoutMs: 5000 });
  t.teardown(() => oldLeader.close());
  await cluster.explainFailure(
    waitFor(async () => {
      const local = await oldLeader.get('service', '', { serializable: true }).catch(() => null);
      return local !== null && JSON.stringify(vipsOf(local)) === JSON.stringify(everyVip);
    }, `${leader} back with the same VIPs`, 20000),
  );
  t.pass(`${leader} restarted holds every VIP as the others do`);

  // -- the range changes: VIPs kept, the next service from the new range, exhaustion refused whole -------
  const set = await cluster.ctl(['config', 'set', 'services.vip_cidr', '10.77.0.0/30']);
  t.equal(set.code, 0, set.stderr);
  const small = (name: string): ResourceInput => ({ kind: 'service', name, spec: { protocol: 'tcp', ports: [7100] }, labels: {} });
  // Safe to repeat (the same spec changes nothing), so a leader change in between is only a retry.
  await cluster.explainFailure(waitFor(async () => (await survivorMesh.apply([small('small-1')]).catch(() => null)) !== null, 'small-1 applied', 20000));
  const ranged = vipsOf(await survivorMesh.get('service'));
  t.equal(ranged['small-1'], '10.77.0.1', 'the next service from the new range');
  t.same({ ...ranged, 'small-1': undefined }, { ...everyVip, 'small-1': undefined }, 'every other VIP kept, although outside the new range');
  // A /30 has two usable addresses, one left: a file needing two is refused whole.
  const file = path.join(cluster.dir, 'two-more.yaml');
  fs.writeFileSync(file, '- { kind: service, name: small-2, spec: { protocol: tcp, ports: [7101] } }\n- { kind: service, name: small-3, spec: { protocol: tcp, ports: [7102] } }\n');
  const exhausted = await cluster.ctl(['apply', '-f', file]);
  t.equal(exhausted.code, 1, 'range exhausted: exit 1');
  t.match(exhausted.stderr, /range exhausted: nothing applied: 2 new service\(s\) need a virtual IP and services\.vip_cidr 10\.77\.0\.0\/30 has 1 free/);
  t.same(vipsOf(await survivorMesh.get('service')), ranged, 'nothing half-applied');
  for (const id of cluster.ids) {
    const local = new MeshClient({ endpoints: cluster.endpoints([id]).split(','), timeoutMs: 5000 });
    await cluster.explainFailure(
      waitFor(async () => JSON.stringify(vipsOf((await local.get('service', '', { serializable: true }).catch(() => null)) ?? [])) === JSON.stringify(ranged), `${id} answers with the same VIPs`, 20000),
    );
    local.close();
  }
  t.pass('every controller still answers, with the same VIPs');

  // -- an agent offline (the health layer's verdict): its endpoints unhealthy, not removed; back: healthy --
  const endpointsOf = async (name: string): Promise<string> =>
    JSON.stringify(((await survivorMesh.get('service', name).catch(() => [])) as ServiceResource[])[0]?.status.endpoints ?? null);
  await edge2.kill();
  await cluster.explainFailure(
    waitFor(async () => (await endpointsOf('web')) === JSON.stringify([{ agent: 'edge-1', healthy: true }, { agent: 'edge-2', healthy: false }]), 'edge-2 unhealthy in web', 30000),
  );
  t.same(vipsOf(await survivorMesh.get('service')), ranged, 'VIPs unchanged while an endpoint is down');
  edge2.start();
  await cluster.explainFailure(
    waitFor(async () => (await endpointsOf('web')) === JSON.stringify([{ agent: 'edge-1', healthy: true }, { agent: 'edge-2', healthy: true }]), 'edge-2 healthy again', 30000),
  );
  t.same(vipsOf(await survivorMesh.get('service')), ranged, 'VIPs unchanged after it is back');

  // -- a delete, as a script reads it ------------------------------------------------------------------
  const deleted = await cluster.ctl(['delete', 'service', 'small-1', '-o', 'json'], cluster.endpoints(survivors));
  t.equal(deleted.code, 0, deleted.stderr);
  const gone = JSON.parse(deleted.stdout) as { kind: string; name: string; revision: number };
  t.match(gone, { kind: 'service', name: 'small-1' }, 'delete -o json: one object naming what it deleted');
  t.ok(gone.revision > 0, `and the new revision (${gone.revision})`);
  t.equal((await cluster.ctl(['get', 'services', 'small-1'], cluster.endpoints(survivors))).code, 4, 'small-1 is gone');
  t.same(vipsOf(await survivorMesh.get('service')), Object.fromEntries(Object.entries(ranged).filter(([name]) => name !== 'small-1')), 'the others keep their VIPs');

  // -- a second publisher with another spec: refused, and list agents says which service and why -------
  // It also names the operator's `fresh` as hosted, with its spec: from cluster version 0.7 the
  // operator's service does not take an agent it does not allow (mesh/allowed-agents).
  const client = cluster.client(survivors);
  t.teardown(() => client.close());
  await cluster.explainFailure(waitFor(async () => compareClusterVersions(String((await client.status()).clusterVersion), SERVICE_OWNERSHIP_VERSION) >= 0, `the cluster version to reach ${SERVICE_OWNERSHIP_VERSION}`, 20000));
  const rogue = new AgentProc({ id: 'rogue-1', controllers: endpoints, dir: cluster.dir, yaml: 'hosts:\n  - { name: web, spec: { protocol: tcp, ports: [1234] } }\n  - { name: fresh, spec: { protocol: tcp, ports: [7000] } }\n' }).start();
  agents.push(rogue);
  const publishOf = async (id: string): Promise<unknown> => {
    const listed = await cluster.ctl(['list', 'agents', '-o', 'json'], cluster.endpoints(survivors));
    return listed.code === 0 ? (JSON.parse(listed.stdout) as { id: string; publish: unknown }[]).find((r) => r.id === id)?.publish : undefined;
  };
  let said: unknown;
  await cluster.explainFailure(waitFor(async () => (said = await publishOf('rogue-1')) != null, 'rogue-1 listed with what its controller refuses', 30000));
  t.match(
    said,
    { refusedHosts: [{ name: 'fresh', reason: /^applied by an operator, which does not allow agent "rogue-1" to serve it/ }, { name: 'web', reason: /published by "edge-1"(, "edge-2")? with another spec or labels/ }], held: null },
    "web refused, naming who publishes it; the operator's fresh refused, naming the label that would allow it",
  );
  const operators = (await survivorMesh.get('service', 'fresh'))[0] as ServiceResource | undefined;
  t.match(operators, { name: 'fresh', status: { vip: /^\d/ } });
  t.equal(operators?.status.endpoints, undefined, "no endpoint on the operator's fresh");
  t.match(await publishOf('edge-1'), { refusedHosts: [], held: null }, 'the first publisher has nothing refused');
  t.match((await survivorMesh.get('service', 'web'))[0], { spec: { protocol: 'http', ports: [8080] } }, "the first publisher's spec stands");
});
