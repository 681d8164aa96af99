/**
 * A NACK stands for the agent process that sent it, not for ever (round 6, F4), on real
 * processes: an agent restarted with the protocol it lacked is offered the version it rejected
 * and runs it; an agent that could not write --out (not a verdict on the configuration) asks for
 * the version again on its own and takes it once the write succeeds, with no change applied.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { MeshClient } from '../../src/api/mesh-client.js';
import type { AgentRow } from '../../src/agents/listing.js';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';
import { AgentProc, startWithAgents } from '../agents/agent-procs.js';

void t.test('a restarted agent gets the version it rejected; a failed --out write is retried until it succeeds', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 1 });
  const mesh = new MeshClient({ endpoints: cluster.endpoints().split(','), timeoutMs: 5000 });
  const { agents, endpoints } = await startWithAgents(t, cluster, () => mesh.close());
  const row = async (id: string): Promise<AgentRow | undefined> => (await mesh.listAgents()).agents.find((r) => r.id === id);
  const apply = async (name: string, text: string): Promise<number> => {
    const file = path.join(cluster.dir, name);
    fs.writeFileSync(file, text);
    const r = await cluster.ctl(['apply', '-f', file]);
    t.equal(r.code, 0, r.stderr);
    return Number(r.stdout.trim());
  };

  // -- rejected for a missing protocol, then restarted with it --------------------------------------
  const udpLess = new AgentProc({ id: 'edge', controllers: endpoints, dir: cluster.dir, yaml: 'protocols: [http]\n' }).start();
  agents.push(udpLess);
  const v1 = await apply('web.yaml', '- { kind: service, name: web, spec: { protocol: http, ports: [80] } }\n');
  await cluster.explainFailure(waitFor(async () => (await row('edge'))?.ackedVersion === v1, `edge SYNCED at ${v1}`, 20000));
  const v2 = await apply('dns.yaml', '- { kind: service, name: dns, spec: { protocol: udp, ports: [53] } }\n');
  await cluster.explainFailure(waitFor(async () => (await row('edge'))?.nackedVersion === v2, `edge NACKED ${v2}`, 20000));
  const pushesAtNack = (await row('edge'))!.pushes;
  await udpLess.kill();
  const withUdp = new AgentProc({ id: 'edge', controllers: endpoints, dir: cluster.dir, yaml: 'protocols: [http, udp]\n' }).start();
  agents.push(withUdp);
  await cluster.explainFailure(waitFor(async () => (await row('edge'))?.state === 'SYNCED' && withUdp.version() === v2, `the restarted edge SYNCED at ${v2}`, 20000));
  t.match(await row('edge'), { ackedVersion: v2, nackedVersion: null, lastError: null, pushes: pushesAtNack + 1 }, 'the rejected version offered once more, and taken');
  t.ok(withUdp.config()?.resources.some((r) => r.name === 'dns'), '--out holds dns');

  // -- --out cannot be written, then can ---------------------------------------------------------------
  const outDir = path.join(cluster.dir, 'out');
  fs.mkdirSync(outDir);
  const writer = new AgentProc({ id: 'writer', controllers: endpoints, dir: outDir, yaml: 'protocols: [http, udp]\n' }).start();
  agents.push(writer);
  await cluster.explainFailure(waitFor(async () => (await row('writer'))?.state === 'SYNCED', 'writer SYNCED', 20000));
  // Its directory becomes a file: every write fails (ENOTDIR), even as root.
  fs.rmSync(outDir, { recursive: true });
  fs.writeFileSync(outDir, 'not a directory');
  const v3 = await apply('cache.yaml', '- { kind: service, name: cache, spec: { protocol: http, ports: [8081] } }\n');
  await cluster.explainFailure(waitFor(async () => (await row('writer'))?.nackedVersion === v3, `writer NACKED ${v3}`, 20000));
  t.match((await row('writer'))?.lastError, /^cannot write .*writer\.json: ENOTDIR/, 'the NACK says why');
  const retries = (await row('writer'))!.pushes;
  fs.rmSync(outDir);
  fs.mkdirSync(outDir);
  await cluster.explainFailure(waitFor(async () => (await row('writer'))?.state === 'SYNCED' && writer.version() === v3, `writer SYNCED at ${v3} with nothing applied since`, 30000));
  t.match(await row('writer'), { ackedVersion: v3, nackedVersion: null, lastError: null }, 'taken once the write succeeded');
  t.ok((await row('writer'))!.pushes > retries, 'the version came again: the agent asked for it');
  t.same(fs.readdirSync(outDir), ['writer.json'], 'no temporary file left beside --out');
});
