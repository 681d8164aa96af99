/**
 * The load loops, written once against a minimal KV interface so ours and etcd run exactly the
 * same code: same 100-byte values, same 1,000-key space, same closed loops of N clients.
 */
import type hdr from 'hdr-histogram-js';
import { CpuMeter, type CpuWindow } from './proc.js';
import { histogram, percentileMs, recordMs, round } from './stats.js';

/** One logical client: its own connection state and, for ours, its own exactly-once client id. */
export interface KvClient {
  put(key: string, value: string): Promise<void>;
  /** A linearizable read. */
  get(key: string): Promise<void>;
  close(): void;
}

/** A running cluster as the load loops see it. */
export interface KvTarget {
  /** A new client that talks to the current leader first. */
  client(): KvClient;
  /** The PIDs of the running members, for CPU accounting. */
  pids(): number[];
}

export type Op = 'put' | 'get';

export interface LoadResult {
  readonly clients: number;
  readonly ops: number;
  readonly errors: number;
  readonly firstError: string | null;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly cpu: CpuWindow;
  /** Server CPU (all members) per operation, ms. */
  readonly serverCpuMsPerOp: number;
  /** Load generator CPU per operation, ms. */
  readonly clientCpuMsPerOp: number;
  readonly histogram: hdr.Histogram;
}

export const VALUE = 'v'.repeat(100);
export const KEY_SPACE = 1000;
export const keyOf = (i: number): string => `bench/${String(i % KEY_SPACE).padStart(4, '0')}`;

/**
 * `clients` closed loops doing `op` for `warmupMs` (not recorded), then for `durationMs`
 * (recorded): throughput and latencies are those of the operations that completed inside the
 * recorded window. No operation starts after it.
 */
export async function runLoad(target: KvTarget, op: Op, clients: number, warmupMs: number, durationMs: number): Promise<LoadResult> {
  const h = histogram();
  const pool = Array.from({ length: clients }, () => target.client());
  let counter = Math.floor(Math.random() * KEY_SPACE);
  let ops = 0;
  let errors = 0;
  let firstError: string | null = null;
  const t0 = performance.now();
  const windowStart = t0 + warmupMs;
  const windowEnd = windowStart + durationMs;
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  // CPU is measured over the recorded window only.
  const cpuWindow = (async (): Promise<CpuWindow> => {
    await sleep(warmupMs);
    const meter = new CpuMeter(target.pids());
    await sleep(durationMs);
    return meter.stop();
  })();
  try {
    await Promise.all(
      pool.map(async (c) => {
        for (;;) {
          const start = performance.now();
          if (start >= windowEnd) return;
          const key = keyOf(counter++);
          try {
            await (op === 'put' ? c.put(key, VALUE) : c.get(key));
          } catch (err) {
            const at = performance.now();
            if (at >= windowStart && at <= windowEnd) {
              errors++;
              firstError ??= err instanceof Error ? err.message : String(err);
            }
            await sleep(10); // a failing target must not turn the loop into a busy spin
            continue;
          }
          const end = performance.now();
          if (end >= windowStart && end <= windowEnd) {
            recordMs(h, end - start);
            ops++;
          }
        }
      }),
    );
  } finally {
    for (const c of pool) c.close();
  }
  const window = await cpuWindow;
  return {
    clients,
    ops,
    errors,
    firstError,
    opsPerSec: Math.round((ops / durationMs) * 1000),
    p50Ms: round(percentileMs(h, 50), 3),
    p99Ms: round(percentileMs(h, 99), 3),
    maxMs: round(h.maxValue / 1000, 3),
    cpu: window,
    serverCpuMsPerOp: ops > 0 ? round(window.serverMs / ops, 3) : 0,
    clientCpuMsPerOp: ops > 0 ? round(window.clientMs / ops, 3) : 0,
    histogram: h,
  };
}

/** Writes every key of the key space once, so reads find values on both systems. */
export async function preload(target: KvTarget, clients = 16): Promise<void> {
  const pool = Array.from({ length: clients }, () => target.client());
  let next = 0;
  try {
    await Promise.all(
      pool.map(async (c) => {
        while (next < KEY_SPACE) await c.put(keyOf(next++), VALUE);
      }),
    );
  } finally {
    for (const c of pool) c.close();
  }
}

/**
 * Starts an attempt now and another every `everyMs` until one succeeds; resolves with the time
 * (performance.now()) of the first success. Attempts overlap, so a hung attempt (sent to a node
 * that cannot answer yet) does not hide the moment the cluster can take writes again.
 */
export function firstSuccess(attempt: (k: number) => Promise<void>, everyMs: number, giveUpMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let done = false;
    let k = 0;
    let lastError = '';
    const deadline = performance.now() + giveUpMs;
    const launch = (): void => {
      if (done) return;
      if (performance.now() > deadline) {
        done = true;
        reject(new Error(`no write succeeded within ${giveUpMs}ms (last error: ${lastError})`));
        return;
      }
      attempt(k++).then(
        () => {
          if (done) return;
          done = true;
          resolve(performance.now());
        },
        (err: unknown) => {
          lastError = err instanceof Error ? err.message : String(err);
        },
      );
      setTimeout(launch, everyMs);
    };
    launch();
  });
}
