/**
 * The swarm (`npm run agents`, the fan-out benchmark, chaos) against a controller that caps the
 * streams of one connection (controller.max_streams_per_connection): its channels are
 * connections of their own, so every agent syncs. grpc-js shares one connection among every
 * channel of a target and options unless told otherwise, which held back all but the cap.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { Swarm } from '../../src/agent/swarm.js';
import { ProcessCluster } from '../helpers/process-cluster.js';

void t.test('a swarm of 40 agents, 16 per channel, all sync with a controller that admits 16 streams per connection', async (t) => {
  const cap = 16;
  const cluster = await ProcessCluster.create({ nodes: 1, logLevel: 'warn', maxStreamsPerConnection: cap });
  t.teardown(() => cluster.stop());
  cluster.start('c1');
  await cluster.waitForLeader(['c1']);
  const file = path.join(cluster.dir, 'mesh.yaml');
  fs.writeFileSync(file, '- { kind: service, name: web, spec: { protocol: http, ports: [80] } }\n');
  const applied = await cluster.ctl(['apply', '-f', file]);
  t.equal(applied.code, 0, applied.stderr);
  const version = Number(applied.stdout.trim());

  const swarm = new Swarm({ count: 40, controllers: [cluster.addresses.get('c1')!], streamsPerChannel: cap, seed: 7 });
  t.teardown(() => swarm.stop());
  swarm.start();
  await cluster.explainFailure(swarm.waitForVersion(version, 30000));
  t.equal(swarm.stats().connected, 40, 'every agent connected');
});
