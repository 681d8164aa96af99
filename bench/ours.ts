/** Our cluster as a benchmark target: real controller processes on loopback, driven over gRPC. */
import { ControllerClient } from '../src/api/client.js';
import { ProcessCluster } from '../test/helpers/process-cluster.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { rssMB } from './proc.js';
import type { BenchCluster, FailoverSample } from './system.js';
import { firstSuccess, VALUE, type KvTarget } from './workloads.js';

/** The same timing as etcd's defaults: 100 ms heartbeats, 1 s election timeout. */
export const OURS_TIMING = { heartbeatInterval: '100ms', electionTimeout: '1s', snapshotThreshold: 10000 } as const;
/** The membership layer's production default. */
export const OURS_BASE_TIMEOUT = '2s';

export interface ConvergenceSample {
  /** SIGSTOP of a follower to `online: false` for it on every other member. */
  readonly offlineMs: number;
  /** ... to `clusterState: offline` (committed through Raft) on every other member. */
  readonly clusterOfflineMs: number;
  /** SIGCONT to `online: true` again on every other member. */
  readonly onlineMs: number;
}

export class OursCluster implements BenchCluster {
  readonly system = 'ours' as const;

  private constructor(
    readonly cluster: ProcessCluster,
    private readonly admin: ControllerClient,
  ) {}

  /** `launch`: another build's controller.js, node options and environment (bench/cost.ts compares builds). */
  static async start(
    nodes: number,
    launch: { readonly controllerJs?: string; readonly nodeArgs?: readonly string[]; readonly env?: Readonly<Record<string, string>> } = {},
  ): Promise<OursCluster> {
    const cluster = await ProcessCluster.create({
      nodes,
      raft: OURS_TIMING,
      heartbeat: { baseTimeout: OURS_BASE_TIMEOUT, stateSyncInterval: '5s' },
      logLevel: 'warn',
      ...launch,
      // The binaries as shipped, not the tests' short-lived servers.
      nodeArgs: launch.nodeArgs ?? [],
    });
    cluster.startAll();
    const admin = new ControllerClient({ endpoints: cluster.ids.map((id) => cluster.addresses.get(id)!), timeoutMs: 2000 });
    const c = new OursCluster(cluster, admin);
    try {
      await c.leader(60000);
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  get size(): number {
    return this.cluster.ids.length;
  }

  private address(id: string): string {
    return this.cluster.addresses.get(id)!;
  }

  private running(): string[] {
    return this.cluster.ids.filter((id) => this.cluster.pid(id) !== null);
  }

  /** Waits until every running member names the same leader, and returns it. */
  async leader(timeoutMs = 30000): Promise<string> {
    let leader = '';
    await waitFor(
      async () => {
        const among = this.running();
        const sts = await Promise.all(among.map((id) => this.admin.statusOn(this.address(id)).catch(() => null)));
        const seen = new Set(sts.map((s) => s?.leader ?? ''));
        leader = [...seen][0] ?? '';
        return seen.size === 1 && among.includes(leader);
      },
      'one leader among the running controllers',
      timeoutMs,
    );
    return leader;
  }

  /** The PID of the current leader (for CPU split by role). */
  async leaderPid(): Promise<number | null> {
    return this.cluster.pid(await this.leader());
  }

  pids(): number[] {
    return this.cluster.ids.map((id) => this.cluster.pid(id)).filter((p): p is number => p !== null);
  }

  rssMB(): number[] {
    return this.pids().map((p) => rssMB(p) ?? 0);
  }

  /** Clients talk to the leader first (as etcd's do here), each with its own exactly-once id. */
  async target(): Promise<KvTarget> {
    const leader = await this.leader();
    const order = [leader, ...this.cluster.ids.filter((id) => id !== leader)].map((id) => this.address(id));
    return {
      client: () => {
        const c = new ControllerClient({ endpoints: order, timeoutMs: 5000 });
        return {
          put: async (key, value) => {
            await c.put(key, value);
          },
          get: async (key) => {
            await c.get(key);
          },
          close: () => c.close(),
        };
      },
      pids: () => this.pids(),
    };
  }

  /** kill -9 of the leader to the first successful write through the survivors; then rejoin. */
  async failover(): Promise<FailoverSample> {
    const leader = await this.leader();
    const survivors = this.cluster.ids.filter((id) => id !== leader && this.cluster.pid(id) !== null);
    const clients = survivors.map((id) => new ControllerClient({ endpoints: [this.address(id)], timeoutMs: 1000 }));
    // Connected before the kill, so the measurement does not include dialling.
    await Promise.all(clients.map((c, i) => c.statusOn(this.address(survivors[i]!))));
    const t0 = performance.now();
    await this.cluster.kill(leader, 'SIGKILL');
    const t1 = await firstSuccess((k) => clients[k % clients.length]!.put('bench/failover', VALUE).then(() => undefined), 20, 30000);
    for (const c of clients) c.close();
    const newLeader = await this.leader();
    this.cluster.start(leader);
    await this.caughtUp(leader);
    return { ms: t1 - t0, oldLeader: leader, newLeader };
  }

  /** Waits until `id` follows the leader and has applied what the leader had committed. */
  private async caughtUp(id: string): Promise<void> {
    const leader = await this.leader(60000);
    const target = (await this.admin.statusOn(this.address(leader))).commitIndex;
    await waitFor(
      async () => {
        const st = await this.admin.statusOn(this.address(id)).catch(() => null);
        return st !== null && st.leader === leader && st.appliedIndex >= target;
      },
      `${id} to rejoin and catch up`,
      60000,
    );
  }

  /** SIGSTOP of a follower; polls ListControllers on every other member until all agree. */
  async statusConvergence(pollMs = 20): Promise<ConvergenceSample> {
    const leader = await this.leader();
    const paused = this.cluster.ids.find((id) => id !== leader)!;
    const observers = this.cluster.ids.filter((id) => id !== paused);
    /** Resolves with the time at which `want` held for `paused` on every observer. */
    const poll = async (want: (row: { online: boolean; clusterState: string }) => boolean, what: string): Promise<number> => {
      const pending = new Set(observers);
      const deadline = performance.now() + 30000;
      while (pending.size > 0) {
        if (performance.now() > deadline) throw new Error(`timed out waiting for ${paused} to show ${what} on ${[...pending].join(',')}`);
        await Promise.all(
          [...pending].map(async (id) => {
            const view = await this.admin.listControllersOn(this.address(id)).catch(() => null);
            const row = view?.controllers.find((r) => r.id === paused);
            if (row && want(row)) pending.delete(id);
          }),
        );
        if (pending.size > 0) await new Promise((r) => setTimeout(r, pollMs));
      }
      return performance.now();
    };
    const t0 = performance.now();
    this.cluster.pause(paused);
    let offlineAt: number;
    let clusterOfflineAt: number;
    try {
      [offlineAt, clusterOfflineAt] = await Promise.all([
        poll((r) => !r.online, 'offline'),
        poll((r) => r.clusterState === 'offline', 'clusterState offline'),
      ]);
    } finally {
      this.cluster.resume(paused);
    }
    const t1 = performance.now();
    const onlineAt = await poll((r) => r.online && r.clusterState === 'online', 'online again');
    return { offlineMs: offlineAt - t0, clusterOfflineMs: clusterOfflineAt - t0, onlineMs: onlineAt - t1 };
  }

  async stop(): Promise<void> {
    this.admin.close();
    await this.cluster.stop();
  }
}
