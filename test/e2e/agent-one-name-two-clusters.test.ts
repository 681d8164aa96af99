/**
 * Two clusters of one name (both at the default cluster.name, a staging copy of production's
 * file) in one agent's --controllers list: at a failover the agent refuses the other cluster's
 * controller, though its name is the held one, since the held cluster answered at another address
 * of the list and a restore would answer there; --out keeps the first cluster's configuration.
 * Before, a new id under the held name was taken for a restore: the agent swapped its whole
 * configuration for the other cluster's and wrote it to --out. A restore in place (the address
 * that answered for the held cluster answering with a new id) is still followed, in the process.
 * The other cluster learns it at the hello and never claims the agent (before, it listed it
 * online, STALE, pushing to it); the agent holds that controller off; where the held cluster
 * answered survives a restart (beside --out).
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { CONTROLLER_JS } from '../helpers/process-cluster.js';
import { runToExit } from '../helpers/run-to-exit.js';
import { waitFor } from '../helpers/wait-for.js';
import { FOREIGN_HOLD_OFF_MS } from '../../src/agent/failover.js';
import { AgentProc } from '../agents/agent-procs.js';
import { agentOnFirst, clusterHolding, lines, names, otherClusterNeverClaims } from './two-clusters.js';

void t.test('a --controllers list spanning two clusters of one name: after a failover the other is refused, --out keeps the first', async (t) => {
  const first = await clusterHolding(t, 'shared', '- { kind: service, name: web, spec: { protocol: http, ports: [80] } }\n- { kind: service, name: db, spec: { protocol: tcp, ports: [5432] } }\n');
  const second = await clusterHolding(t, 'shared', '- { kind: service, name: payments, spec: { protocol: http, ports: [80] } }\n');
  const id = 'a7';
  const agent = await agentOnFirst(t, id, first, second, 'db,web');
  const held = agent.config()?.cluster;
  const version = agent.version();
  t.match(agent.config(), { clusterName: 'shared' });

  // The first cluster's only controller goes: the second cluster's is the one left on the list.
  await first.kill('c1', 'SIGKILL');
  const refusals = (): Array<Record<string, unknown>> => lines(agent).filter((l) => String(l.msg).includes('two clusters of one name'));
  await waitFor(() => refusals().length > 0 || names(agent).join() !== 'db,web', 'the agent to try the second cluster', 30_000).catch((err: unknown) => {
    t.comment(agent.tail());
    throw err;
  });
  t.same(names(agent), ['db', 'web'], "the second cluster's configuration was not taken");
  await waitFor(() => lines(agent).some((l) => l.level === 50 && String(l.hint).includes('no controller of cluster "shared"')), 'the error that only the other cluster answers', 30_000).catch((err: unknown) => {
    t.comment(agent.tail());
    throw err;
  });
  const refusal = refusals()[0];
  t.match(refusal, { level: 40, clusterName: 'shared', heldCluster: held, heldClusterName: 'shared', address: second.endpoints() }, 'at warn, naming both clusters and the address');
  t.match(String(refusal?.msg), new RegExp(`id ${String(refusal?.cluster)}.*id ${String(held)}\\), which answered at ${first.endpoints()}`), 'names both ids and where the held cluster answered');
  t.not(refusal?.cluster, held, 'the refused cluster has another id');
  t.same(names(agent), ['db', 'web'], 'pass after pass');
  t.equal(agent.version(), version, '--out keeps the version of the first cluster');
  t.equal(agent.config()?.cluster, held, '--out still names the first cluster');
  t.notOk(lines(agent).some((l) => l.msg === 'connected' && l.cluster !== held), 'never connected to the second cluster');
  await otherClusterNeverClaims(t, second, id);
  // Held off: the second cluster's controller is not tried again within FOREIGN_HOLD_OFF_MS,
  // while the first's is, pass after pass. Before, each pass tried both.
  const since = Number(refusal?.time);
  const within = (l: Record<string, unknown>): boolean => Number(l.time) >= since && Number(l.time) < since + FOREIGN_HOLD_OFF_MS;
  const ended = lines(agent).filter((l) => l.msg === 'sync stream ended' && within(l));
  t.equal(refusals().filter(within).length, 1, 'one refusal within its hold-off');
  t.ok(ended.filter((l) => l.controller === first.endpoints()).length >= 2, "the first cluster's address tried again meanwhile");
  t.equal(ended.filter((l) => l.controller === second.endpoints()).length, 1, "the second cluster's address once");

  // Restarted while the first cluster is down: where the first cluster answered was kept beside
  // --out, so the second is still refused. Before, the restarted agent had heard nothing and took
  // the second cluster for a restore of the first (a warning), its configuration swapped.
  t.match(JSON.parse(fs.readFileSync(`${agent.out}.controllers.json`, 'utf8')), { controllers: { [first.endpoints()]: held } }, 'the map beside --out');
  await agent.kill('SIGKILL');
  const again = new AgentProc({ id, controllers: agent.opts.controllers, dir: first.dir });
  t.teardown(() => again.kill());
  again.start();
  const refusedAgain = (): boolean => lines(again).some((l) => String(l.msg).includes('two clusters of one name'));
  await waitFor(() => refusedAgain() || names(again).join() !== 'db,web', 'the restarted agent to try the second cluster', 20_000).catch((err: unknown) => {
    t.comment(again.tail());
    throw err;
  });
  t.ok(refusedAgain(), 'the restarted agent refuses the second cluster');
  t.same(names(again), ['db', 'web'], '--out keeps the first cluster');
  t.equal(again.config()?.cluster, held);

  // The first cluster back: the agent returns to it.
  first.start('c1');
  await waitFor(() => lines(again).some((l) => l.msg === 'connected' && l.cluster === held), 'the agent back on the first cluster', 30_000);
  t.same(names(again), ['db', 'web']);
});

void t.test('the held cluster restored in place while the agent runs: taken, though another cluster of its name is on the list', async (t) => {
  const first = await clusterHolding(t, 'shared', '- { kind: service, name: web, spec: { protocol: http, ports: [80] } }\n');
  const second = await clusterHolding(t, 'shared', '- { kind: service, name: payments, spec: { protocol: http, ports: [80] } }\n');
  const backup = path.join(first.dir, 'backup.snap');
  const save = await first.ctl(['snapshot', 'save', backup]);
  t.equal(save.code, 0, save.stderr);
  const id = 'a7';
  const agent = await agentOnFirst(t, id, first, second, 'web');
  const held = agent.config()?.cluster;

  // Every member's data lost, the backup restored at the same address: a new id, the same name.
  await first.kill('c1', 'SIGTERM');
  const dataDir = path.join(first.dir, 'data', 'c1');
  fs.renameSync(dataDir, `${dataDir}.lost`);
  const restored = await runToExit(CONTROLLER_JS, ['restore', '--from', backup, '--config', first.configFile, '--id', 'c1'], 'restore c1', 30_000);
  t.equal(restored.code, 0, restored.stderr);
  first.start('c1');
  await first.explainFailure(first.waitForLeader());
  const retag = path.join(first.dir, 'after-restore.yaml');
  fs.writeFileSync(retag, '- { kind: service, name: cache, spec: { protocol: tcp, ports: [6379] } }\n');
  const applied = await first.ctl(['apply', '-f', retag]);
  t.equal(applied.code, 0, applied.stderr);
  await waitFor(() => names(agent).join() === 'cache,web', "the agent to take the restored cluster's configuration", 30_000).catch((err: unknown) => {
    t.comment(agent.tail());
    throw err;
  });
  t.not(agent.config()?.cluster, held, '--out names the restored cluster, a new id');
  t.ok(lines(agent).some((l) => l.level === 40 && /cluster "shared" \(id [^)]+\) has a new id/.test(String(l.msg))), 'with the warning that the cluster has a new id');
  t.notOk(names(agent).includes('payments'), "the other cluster's configuration never taken");
});
