/**
 * The agents (ours) or watchers (etcd) of the fan-out benchmark, spread over worker threads.
 * In production every agent is its own process; in one thread, a thousand of them serialize
 * the client side of a fan-out, and the benchmark would measure the client, not the cluster.
 * Both systems get the same number of threads, and the same channels (200 streams each).
 *
 * Times cross threads as absolute milliseconds (performance.timeOrigin + performance.now()).
 */
import type { WatchClient } from './etcd-watchers.js';
import { Worker } from 'node:worker_threads';

export type FleetKind = 'ours' | 'etcd';

export interface FleetConfig {
  readonly kind: FleetKind;
  readonly endpoints: readonly string[];
  /** etcd: the key the watchers watch. */
  readonly key?: string;
  /** etcd: the watchers' gRPC client (default grpc-js). */
  readonly watchClient?: WatchClient;
  readonly seed: number;
}

export interface FleetStats {
  readonly agents: number;
  readonly connected: number;
  /** Connected agents (watchers) per controller address (member index for etcd). */
  readonly by: Readonly<Record<string, number>>;
  /** Configuration bytes received (ours) / event bytes delivered twice (etcd). */
  readonly bytes: number;
}

type FromWorker =
  | { readonly type: 'at'; readonly version: number; readonly first: number; readonly at: number }
  | { readonly type: 'stats'; readonly id: number; readonly stats: FleetStats }
  | { readonly type: 'stopped' };

export const now = (): number => performance.timeOrigin + performance.now();

/** When the first and the last agent (watcher) of a fan-out reached its version (absolute ms). */
export interface FanoutTimes {
  readonly first: number;
  readonly last: number;
}

export class Fleet {
  private readonly workers: Worker[];
  private readonly waiters = new Map<number, { pending: Set<Worker>; first: number; at: number; resolve: (times: FanoutTimes) => void }>();
  private readonly statWaiters = new Map<number, { pending: number; parts: FleetStats[]; resolve: (s: FleetStats) => void }>();
  private nextStat = 0;
  private assigned = 0;

  constructor(
    readonly threads: number,
    config: FleetConfig,
  ) {
    const file = new URL('./fleet-worker.js', import.meta.url);
    this.workers = Array.from({ length: threads }, (_, i) => new Worker(file, { workerData: { ...config, seed: config.seed + i * 100_000, worker: i } }));
    for (const w of this.workers) {
      w.on('message', (m: FromWorker) => this.onMessage(w, m));
      w.on('error', (err) => process.stderr.write(`fleet worker failed: ${err.stack ?? err.message}\n`));
    }
  }

  /** Starts `count` more agents, spread over the threads. */
  grow(count: number, startRevision = 0): void {
    const per = Math.floor(count / this.threads);
    for (const [i, w] of this.workers.entries()) {
      const n = per + (i < count % this.threads ? 1 : 0);
      w.postMessage({ type: 'grow', count: n, startRevision, offset: this.assigned });
      this.assigned += n;
    }
  }

  /** Resolves with the absolute time at which the last agent reached `version` (or later). */
  async waitAllAt(version: number, timeoutMs: number): Promise<number> {
    return (await this.waitFanout(version, timeoutMs)).last;
  }

  /** Resolves with the absolute times at which the first and the last agent reached `version` (or later). */
  waitFanout(version: number, timeoutMs: number): Promise<FanoutTimes> {
    return new Promise((resolve, reject) => {
      // Cleared once answered: a pending deadline kept the benchmark alive up to two minutes after its last line.
      const deadline = setTimeout(() => {
        if (this.waiters.get(version) !== entry) return;
        this.waiters.delete(version);
        void this.stats().then((s) => reject(new Error(`timed out after ${timeoutMs}ms waiting for every agent at version ${version} (${JSON.stringify(s)})`)));
      }, timeoutMs);
      const entry = {
        pending: new Set(this.workers),
        first: Infinity,
        at: 0,
        resolve: (times: FanoutTimes) => {
          clearTimeout(deadline);
          resolve(times);
        },
      };
      this.waiters.set(version, entry);
      for (const w of this.workers) w.postMessage({ type: 'track', version });
    });
  }

  stats(): Promise<FleetStats> {
    const id = ++this.nextStat;
    return new Promise((resolve) => {
      this.statWaiters.set(id, { pending: this.workers.length, parts: [], resolve });
      for (const w of this.workers) w.postMessage({ type: 'stats', id });
    });
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            w.once('exit', () => resolve());
            w.postMessage({ type: 'stop' });
            setTimeout(() => void w.terminate(), 5000).unref();
          }),
      ),
    );
  }

  private onMessage(w: Worker, m: FromWorker): void {
    switch (m.type) {
      case 'at': {
        for (const [version, entry] of this.waiters) {
          if (m.version < version || !entry.pending.has(w)) continue;
          entry.pending.delete(w);
          entry.first = Math.min(entry.first, m.first);
          entry.at = Math.max(entry.at, m.at);
          if (entry.pending.size === 0) {
            this.waiters.delete(version);
            entry.resolve({ first: entry.first, last: entry.at });
          }
        }
        return;
      }
      case 'stats': {
        const s = this.statWaiters.get(m.id);
        if (s === undefined) return;
        s.parts.push(m.stats);
        if (--s.pending > 0) return;
        this.statWaiters.delete(m.id);
        const by: Record<string, number> = {};
        for (const p of s.parts) for (const [k, v] of Object.entries(p.by)) by[k] = (by[k] ?? 0) + v;
        s.resolve({ agents: s.parts.reduce((a, p) => a + p.agents, 0), connected: s.parts.reduce((a, p) => a + p.connected, 0), by, bytes: s.parts.reduce((a, p) => a + p.bytes, 0) });
        return;
      }
      case 'stopped':
        return;
      default: {
        const never: never = m;
        return never;
      }
    }
  }
}
