/**
 * A big configuration over a link slower than 1 Mbit/s (src/agents/push-parts.ts), on real
 * processes: a controller, an `agent` behind a TCP proxy that lets 40 KB/s through to it, and a
 * configuration of about 300 KB (7.5 s on that link, beyond any allowance for a push sent as one
 * message). Sent in parts with pings between them, it arrives once: the agent is SYNCED with a
 * single push and never gave up on the controller for silence.
 */
// run-tests: waits (most of its time is a 300 KB push through a 40 KB/s link: run beside the CPU-bound files)
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { MeshClient } from '../../src/api/mesh-client.js';
import type { AgentRow } from '../../src/agents/listing.js';
import { freePorts } from '../helpers/free-ports.js';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';
import { AgentProc, startWithAgents } from '../agents/agent-procs.js';

const RATE_BYTES_PER_SECOND = 40_000;
const TICK_MS = 50;

/** A proxy to `target` that passes `rate` bytes/s towards the client and holds little more (a slow link, not a buffer). */
function slowLink(listenPort: number, target: number, rate: number): Promise<{ close(): Promise<void> }> {
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    client.pipe(upstream);
    const queue: Buffer[] = [];
    let queued = 0;
    const tick = setInterval(() => {
      let budget = Math.floor((rate * TICK_MS) / 1000);
      while (budget > 0 && queue.length > 0) {
        const head = queue[0]!;
        const n = Math.min(budget, head.length);
        client.write(head.subarray(0, n));
        if (n === head.length) queue.shift();
        else queue[0] = head.subarray(n);
        queued -= n;
        budget -= n;
      }
      if (queued < rate / 4) upstream.resume();
    }, TICK_MS);
    upstream.on('data', (d: Buffer) => {
      queue.push(d);
      queued += d.length;
      if (queued >= rate / 4) upstream.pause();
    });
    const end = (): void => {
      clearInterval(tick);
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('error', end);
      s.on('close', () => {
        open.delete(s);
        end();
      });
    }
  });
  // Closing ends the connections too (server.close alone waits for the agent's to end).
  const close = (): Promise<void> => {
    for (const s of open) s.destroy();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return new Promise((resolve) => server.listen(listenPort, '127.0.0.1', () => resolve({ close })));
}

void t.test('a 300 KB configuration reaches an agent over a 40 KB/s link with one push', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 1 });
  const mesh = new MeshClient({ endpoints: cluster.endpoints().split(','), timeoutMs: 10_000 });
  const { agents } = await startWithAgents(t, cluster, () => mesh.close());
  const file = path.join(cluster.dir, 'many.yaml');
  const note = 'n'.repeat(100);
  fs.writeFileSync(file, Array.from({ length: 1500 }, (_, i) => `- { kind: service, name: svc-${i}, spec: { protocol: http, ports: [${8000 + (i % 1000)}] }, labels: { note: ${note} } }\n`).join(''));
  const applied = await cluster.ctl(['apply', '-f', file]);
  t.equal(applied.code, 0, applied.stderr);
  const version = Number(applied.stdout.trim());

  const [proxyPort] = await freePorts(1);
  const target = Number(cluster.endpoints().split(',')[0]!.split(':').at(-1));
  const proxy = await slowLink(proxyPort!, target, RATE_BYTES_PER_SECOND);
  t.teardown(() => proxy.close());
  const edge = new AgentProc({ id: 'far-edge', controllers: `127.0.0.1:${proxyPort}`, dir: cluster.dir }).start();
  agents.push(edge);

  const row = async (): Promise<AgentRow | undefined> => (await mesh.listAgents().catch(() => null))?.agents.find((r) => r.id === 'far-edge');
  await cluster.explainFailure(waitFor(async () => (await row())?.state === 'SYNCED' && edge.version() === version, `far-edge SYNCED at ${version}`, 90_000));
  t.equal(edge.config()?.resources.length, 1500, 'the whole configuration arrived');
  t.equal((await row())?.pushes, 1, 'in one push: never sent again');
  t.notMatch(edge.log.join('\n'), /no message from .* within/, 'the agent never gave up on the controller for silence');
});
