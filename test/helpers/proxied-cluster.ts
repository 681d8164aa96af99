/**
 * A cluster of real controllers behind the chaos harness's fault proxies (chaos/chaos-cluster.ts),
 * for e2e tests that cut or delay the links between members; with ControllerClients, all closed
 * and the cluster stopped and its directory removed when the test ends.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { ChaosCluster } from '../../chaos/chaos-cluster.js';
import { ControllerClient } from '../../src/api/client.js';

export interface ProxiedClusterOptions {
  /** The temp directory's prefix. */
  readonly name: string;
  readonly electionTimeoutMs: number;
  /** controller.heartbeat.base_timeout, and the state sync interval. */
  readonly baseTimeoutMs: number;
  readonly logLevel: string;
  /** Each client's deadline per request. */
  readonly clientTimeoutMs: number;
}

export interface ProxiedCluster {
  readonly cluster: ChaosCluster;
  /** A client of the members `ids` (by their listen addresses, behind no proxy). */
  client(...ids: string[]): ControllerClient;
}

export async function proxiedCluster(t: Test, o: ProxiedClusterOptions): Promise<ProxiedCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${o.name}-`));
  const cluster = await ChaosCluster.create({
    dir,
    nodes: 3,
    baseTimeoutMs: o.baseTimeoutMs,
    dynamicAdjustment: true,
    stateSyncIntervalMs: o.baseTimeoutMs,
    raftHeartbeatMs: 100,
    electionTimeoutMs: o.electionTimeoutMs,
    snapshotThreshold: 10_000,
    logLevel: o.logLevel,
    random: () => 0,
    now: () => performance.now(),
  });
  const clients: ControllerClient[] = [];
  t.teardown(async () => {
    for (const c of clients) c.close();
    await cluster.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    cluster,
    client: (...ids) => {
      const c = new ControllerClient({ endpoints: ids.map((id) => cluster.listen(id)), timeoutMs: o.clientTimeoutMs });
      clients.push(c);
      return c;
    },
  };
}
