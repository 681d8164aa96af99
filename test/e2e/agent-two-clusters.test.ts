/**
 * An agent whose --controllers list spans two clusters (a staging controller left in a
 * production list) keeps the configuration of the cluster it came from: at a failover it refuses
 * the other cluster's controller (another cluster.name), never takes its configuration, and says
 * so at warn, then as an error once only the other cluster answers. A cluster of the same name
 * and a new id (what `controller restore` makes) is still taken, resynced from scratch, with a
 * warning; the name it came from survives a restart in the --out file.
 */
import t from 'tap';
import { waitFor } from '../helpers/wait-for.js';
import { AgentProc } from '../agents/agent-procs.js';
import { agentOnFirst, clusterHolding, lines, names, otherClusterNeverClaims } from './two-clusters.js';

void t.test('a --controllers list spanning two clusters: the other cluster is refused, a restored one (same name) taken', async (t) => {
  const prod = await clusterHolding(t, 'prod', '- { kind: service, name: web, spec: { protocol: http, ports: [80] } }\n- { kind: service, name: db, spec: { protocol: tcp, ports: [5432] } }\n');
  const staging = await clusterHolding(t, 'staging', '- { kind: service, name: payments, spec: { protocol: http, ports: [80] } }\n');
  const id = 'a5';
  // prod first: where the agent's start index puts it.
  const agent = await agentOnFirst(t, id, prod, staging, 'db,web');
  t.match(agent.config(), { clusterName: 'prod' }, 'the --out file names the cluster it came from');
  const prodVersion = agent.version();

  // A rolling restart of prod's only controller: staging's is the one left on the list.
  await prod.kill('c1', 'SIGTERM');
  const refusals = (): Array<Record<string, unknown>> => lines(agent).filter((l) => String(l.msg).includes('belongs to cluster "staging"'));
  await waitFor(() => refusals().length > 0 || names(agent).join() !== 'db,web', 'the agent to try staging', 30_000);
  t.same(names(agent), ['db', 'web'], "staging's configuration was not taken");
  await waitFor(() => lines(agent).some((l) => l.level === 50 && String(l.hint).includes('no controller of cluster "prod"')), 'the error that only another cluster answers', 30_000).catch((err: unknown) => {
    t.comment(agent.tail());
    throw err;
  });
  const refusal = refusals()[0];
  t.ok(refusal, 'the refusal is logged');
  t.match(refusal, { level: 40, clusterName: 'staging', heldClusterName: 'prod', address: staging.endpoints() }, 'at warn, naming both clusters and the address');
  t.match(String(refusal?.msg), /cluster "staging" \(id [^)]+\).*cluster "prod" \(id [^)]+\)/, 'names and ids of both');
  t.same(names(agent), ['db', 'web'], "staging's configuration was never taken, pass after pass");
  t.equal(agent.version(), prodVersion);
  t.notOk(lines(agent).some((l) => l.msg === 'connected' && l.clusterName === 'staging'), 'never connected to staging');
  await otherClusterNeverClaims(t, staging, id);

  // prod back: the agent returns to it.
  prod.start('c1');
  await waitFor(() => lines(agent).some((l) => l.msg === 'connected' && l.clusterName === 'prod'), 'the agent back on prod', 30_000);
  await agent.kill('SIGTERM');

  // "prod" restored: the same name, a new id. The agent restarted on its --out file takes it.
  const restored = await clusterHolding(t, 'prod', '- { kind: service, name: cache, spec: { protocol: tcp, ports: [6379] } }\n');
  const again = new AgentProc({ id, controllers: restored.endpoints(), dir: prod.dir });
  t.teardown(() => again.kill());
  again.start();
  await waitFor(() => names(again).join() === 'cache', "the agent to take the restored cluster's configuration", 20_000).catch((err: unknown) => {
    t.comment(again.tail());
    throw err;
  });
  t.ok(lines(again).some((l) => l.level === 40 && /cluster "prod" \(id [^)]+\) has a new id/.test(String(l.msg))), 'with a warning that prod has a new id');
  t.match(again.config(), { clusterName: 'prod' });
});
