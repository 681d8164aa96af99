/**
 * The client workload: a few concurrent clients doing get, put and compare-and-set on a few
 * registers, plus puts of unique keys (a "set": each acknowledged one must be there at the
 * end). Each client uses the library client (src/api/client.ts) with its failover and its
 * retries under the same client sequence number, against every node in its own order.
 *
 * Every value is unique, so a read names the write it saw. A compare-and-set names a revision
 * the client learned from an answer it got (a read, or its own acknowledged write), never from
 * a timed-out one: the checker relies on that.
 */
import { ApiError } from '../src/api/errors.js';
import { ControllerClient } from '../src/api/client.js';
import { seededRng, type Rng } from '../src/util/rng.js';
import type { KvOp, KvOutcome, OpRecord } from './history.js';

export interface WorkloadOptions {
  /** The nodes' listen addresses (the harness's clients are never faulted). */
  readonly endpoints: readonly string[];
  readonly clients: number;
  readonly registers: readonly string[];
  readonly rng: Rng;
  /** Per attempt; the client tries each endpoint once per call. */
  readonly timeoutMs: number;
  /** Pause between a client's ops, uniform in [0, thinkMs]. */
  readonly thinkMs: number;
  /** ms since the start of the run. */
  readonly now: () => number;
}

/** A write of a unique key that was acknowledged: it must be readable at the end. */
export interface AckedUnique {
  readonly key: string;
  readonly value: string;
  readonly revision: number;
}

/** Errors after which a write may or may not have happened, and we cannot tell. */
function isTimeoutLike(err: unknown): boolean {
  return err instanceof ApiError && (err.code === 'UNREACHABLE' || err.code === 'TIMEOUT');
}

function errorCode(err: unknown): string {
  return err instanceof ApiError ? err.code : err instanceof Error ? err.name : 'ERROR';
}

function shuffled<T>(rng: Rng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export class Workload {
  readonly records: OpRecord[] = [];
  readonly ackedUnique: AckedUnique[] = [];
  private running = false;
  private workers: Promise<void>[] = [];
  private readonly clients: ControllerClient[] = [];
  private uniq = 0;
  /** Ops in flight, for the progress line. */
  inFlight = 0;

  constructor(private readonly opts: WorkloadOptions) {}

  start(): void {
    this.running = true;
    for (let i = 0; i < this.opts.clients; i++) {
      // Up to five endpoints each, as an operator would configure: an op that finds no leader
      // then gives up after five attempts instead of eleven.
      const endpoints = shuffled(this.opts.rng, this.opts.endpoints).slice(0, 5);
      const client = new ControllerClient({ endpoints, timeoutMs: this.opts.timeoutMs });
      this.clients.push(client);
      // Each worker draws from its own stream so that workers do not perturb each other's choices.
      const seed = this.opts.rng.int(0, 2 ** 31);
      this.workers.push(this.worker(`w${i + 1}`, client, seed));
    }
  }

  /** Stops issuing ops and waits for the ones in flight to finish (or time out). */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
    for (const c of this.clients) c.close();
  }

  private async worker(name: string, client: ControllerClient, seed: number): Promise<void> {
    const rng = seededRng(seed);
    const lastSeen = new Map<string, number>();
    let n = 0;
    while (this.running) {
      n += 1;
      const r = rng.next();
      const key = this.opts.registers[rng.int(0, this.opts.registers.length)]!;
      const value = `${name}.${n}`;
      if (r < 0.35) await this.get(name, client, key, lastSeen);
      else if (r < 0.6) await this.write(name, client, key, { kind: 'put', value }, lastSeen);
      else if (r < 0.85) await this.write(name, client, key, { kind: 'cas', value, ifRevision: lastSeen.get(key) ?? 0 }, lastSeen);
      else await this.write(name, client, `u/${name}/${++this.uniq}`, { kind: 'put', value }, null);
      if (this.opts.thinkMs > 0) await new Promise((resolve) => setTimeout(resolve, rng.next() * this.opts.thinkMs));
    }
  }

  private record(r: OpRecord): void {
    this.records.push(r);
  }

  private async get(client: string, c: ControllerClient, key: string, lastSeen: Map<string, number>): Promise<void> {
    const op: KvOp = { kind: 'get' };
    const invokeMs = this.opts.now();
    this.inFlight += 1;
    try {
      const kv = await c.get(key);
      const value = Buffer.from(kv.value).toString('utf8');
      lastSeen.set(key, kv.revision);
      this.record({ client, key, op, invokeMs, returnMs: this.opts.now(), result: 'ok', outcome: { kind: 'read', found: true, value, revision: kv.revision } });
    } catch (err) {
      const returnMs = this.opts.now();
      if (err instanceof ApiError && err.code === 'NOT_FOUND') {
        lastSeen.set(key, 0);
        this.record({ client, key, op, invokeMs, returnMs, result: 'ok', outcome: { kind: 'read', found: false } });
      } else {
        // A failed read changed nothing: it is counted, not checked.
        this.record({ client, key, op, invokeMs, returnMs, result: isTimeoutLike(err) ? 'indeterminate' : 'failed', outcome: null, error: errorCode(err) });
      }
    } finally {
      this.inFlight -= 1;
    }
  }

  /** A put or compare-and-set; `lastSeen` null for unique keys (nobody reads them back until the end). */
  private async write(client: string, c: ControllerClient, key: string, op: KvOp & { kind: 'put' | 'cas' }, lastSeen: Map<string, number> | null): Promise<void> {
    const invokeMs = this.opts.now();
    this.inFlight += 1;
    try {
      const { revision } = await c.put(key, op.value, op.kind === 'cas' ? { ifRevision: op.ifRevision } : {});
      lastSeen?.set(key, revision);
      if (lastSeen === null) this.ackedUnique.push({ key, value: op.value, revision });
      this.record({ client, key, op, invokeMs, returnMs: this.opts.now(), result: 'ok', outcome: { kind: 'written', revision } });
    } catch (err) {
      const returnMs = this.opts.now();
      if (err instanceof ApiError && err.code === 'CAS_FAILED') {
        // The state machine refused it: a definite answer, and a correct one if the model agrees.
        this.record({ client, key, op, invokeMs, returnMs, result: 'ok', outcome: { kind: 'cas-failed' } });
        return;
      }
      // NO_LEADER, NOT_LEADER, a timeout...: a proposal may still commit later. For the checker
      // the write is open-ended; for the counts, a timeout is indeterminate, an answer failed.
      const outcome: KvOutcome = { kind: 'unknown' };
      this.record({ client, key, op, invokeMs, returnMs, result: isTimeoutLike(err) ? 'indeterminate' : 'failed', outcome, error: errorCode(err) });
    } finally {
      this.inFlight -= 1;
    }
  }
}
