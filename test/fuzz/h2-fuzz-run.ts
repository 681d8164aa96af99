/**
 * The HTTP/2 fuzzer's oracle, against a real controller process (a one-member cluster, in
 * plaintext or mutual TLS with an operator's certificate): after each burst the process is
 * still running, its log has no uncaught exception, it answers a status call within a deadline
 * (its event loop was not held), and every put acknowledged so far still reads back. Burst i
 * of seed S is burstOf(S + i): a failure names the burst's seed, and `--seed <that> --bursts 1`
 * replays it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { ControllerClient } from '../../src/api/client.js';
import { askPeers } from '../../src/transport/hello-client.js';
import { CertMaker } from '../helpers/certs.js';
import { ProcessCluster } from '../helpers/process-cluster.js';
import { waitFor } from '../helpers/wait-for.js';
import { burstOf, type Burst } from './h2-burst.js';
import { runConnection } from './h2-connection.js';
import type { PeerContext } from './h2-peer-methods.js';

export interface FuzzOptions {
  readonly seed: number;
  readonly bursts: number;
  readonly tls: boolean;
  /**
   * Mutual TLS with a member's peer certificate instead of an operator's (c3 of a three-member
   * cluster whose c1 and c2 run; c1 is fuzzed), and two calls in three to the peer port's RPCs
   * with a real envelope (h2-peer-methods.ts).
   */
  readonly member?: boolean;
  /** How long the status call after a burst may take before the controller counts as hung. */
  readonly healthDeadlineMs?: number;
  /** A put (and a read of every earlier one) every this many bursts. */
  readonly putEvery?: number;
  readonly log?: (line: string) => void;
  /** Another build's controller.js (to replay seeds against code from before a fix). */
  readonly controllerJs?: string;
}

export interface FuzzFailure {
  readonly seed: number;
  readonly kind: 'exited' | 'uncaught' | 'unresponsive' | 'lost-put';
  readonly detail: string;
  readonly ops: string[];
}

export interface FuzzReport {
  readonly bursts: number;
  readonly connections: number;
  readonly ops: number;
  readonly frames: number;
  readonly goaways: Readonly<Record<string, number>>;
  readonly maxHealthMs: number;
  readonly puts: number;
  readonly failure: FuzzFailure | null;
}

/** A line of the log that only a crash (or something near one) writes. */
const CRASH_LINE = /uncaught|unhandled|"level":60|^\s+at .+\((node:|file:)/im;

async function statusWithin(client: ControllerClient, endpoint: string, deadlineMs: number): Promise<number | null> {
  const started = performance.now();
  const end = started + deadlineMs;
  while (performance.now() < end) {
    const ok = await client.statusOn(endpoint).then(() => true, () => false);
    if (ok) return performance.now() - started;
  }
  return null;
}

/**
 * What the holder of c3's key learns from c1 (Hello, asked as c3): c1's incarnation, and the
 * cluster id its first leader draws (asked again until it has one, within 10 s). c3 never ran,
 * so the key's holder draws c3's incarnation and process itself.
 */
async function memberContext(endpoint: string, files: { ca: string; cert: string; key: string }): Promise<PeerContext> {
  const credentials = grpc.credentials.createSsl(fs.readFileSync(files.ca), fs.readFileSync(files.key), fs.readFileSync(files.cert));
  const ask = { incarnation: '', clusterId: null, lastIndex: 0, joining: false, nodes: null };
  const found: { context: PeerContext | null; last: string } = { context: null, last: 'no answer' };
  const learned = async (): Promise<boolean> => {
    const [answer] = await askPeers({ self: 'c3', clusterName: 'e2e', ask, targets: [{ id: 'c1', address: endpoint }], credentials, deadlineMs: 5000 });
    if (answer !== undefined && 'reply' in answer && answer.reply.clusterId !== null) {
      const { incarnation, clusterId } = answer.reply;
      found.context = { clusterName: 'e2e', clusterId, member: 'c3', memberIncarnation: '0c3c3c3c3c3c3c3c', target: 'c1', targetIncarnation: incarnation, boot: '0f0f0f0f0f0f0f0f' };
      return true;
    }
    found.last = answer === undefined ? 'no answer' : 'reply' in answer ? 'no cluster id yet' : answer.error;
    return false;
  };
  try {
    await waitFor(learned, "the member's Hello to c1 to find a cluster id", 10_000);
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}: ${found.last}`, { cause: err });
  }
  return found.context!;
}

export async function fuzzController(opts: FuzzOptions): Promise<FuzzReport> {
  const log = opts.log ?? (() => undefined);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'h2-fuzz-'));
  let secure: tls.ConnectionOptions | null = null;
  let clusterTls: { ca: string; cert: string; key: string } | undefined;
  let clientTls: { ca: string; cert: string; key: string } | undefined;
  let memberTls: { ca: string; cert: string; key: string } | undefined;
  if (opts.tls || opts.member === true) {
    const certs = new CertMaker(dir);
    certs.makeCa('ca');
    for (const id of ['c1', 'c2']) certs.makeCert('ca', id, { peer: id });
    // The member whose key the fuzzer holds: c3, in the cluster file but never started (c1 and c2 are a quorum).
    memberTls = certs.makeCert('ca', 'c3', { peer: 'c3' });
    clientTls = certs.makeCert('ca', 'operator');
    clusterTls = { ca: path.join(dir, 'ca.crt'), cert: `${dir}/\${id}.crt`, key: `${dir}/\${id}.key` };
    const held = opts.member === true ? memberTls : clientTls;
    secure = { ca: fs.readFileSync(held.ca), cert: fs.readFileSync(held.cert), key: fs.readFileSync(held.key), servername: 'localhost' };
  }
  const cluster = await ProcessCluster.create({ nodes: opts.member === true ? 3 : 1, logLevel: 'info', ...(clusterTls ? { tls: clusterTls, clientTls } : {}), ...(opts.controllerJs !== undefined ? { controllerJs: opts.controllerJs } : {}) });
  const client = cluster.client(['c1'], 5000);
  const endpoint = cluster.addresses.get('c1')!;
  const [host, portText] = endpoint.split(':') as [string, string];
  const acked = new Map<string, string>();
  const goaways: Record<string, number> = {};
  let connections = 0;
  let ops = 0;
  let frames = 0;
  let maxHealthMs = 0;
  let failure: FuzzFailure | null = null;
  let done = 0;
  try {
    cluster.start('c1');
    if (opts.member === true) cluster.start('c2');
    await cluster.waitForLeader(opts.member === true ? ['c1', 'c2'] : ['c1']);
    const peer = opts.member === true && memberTls !== undefined ? await memberContext(endpoint, memberTls) : undefined;
    const logText = (): string => (cluster.logs.get('c1') ?? []).join('');
    for (let i = 0; i < opts.bursts && failure === null; i++) {
      const burst: Burst = burstOf(opts.seed + i, peer);
      const allOps = burst.connections.flatMap((c, n) => c.ops.map((o) => `conn ${n}: ${o}`));
      const fail = (kind: FuzzFailure['kind'], detail: string): void => {
        failure = { seed: burst.seed, kind, detail, ops: allOps };
      };
      const outcomes = await Promise.all(burst.connections.map((c) => runConnection(host, Number(portText), secure, c)));
      connections += outcomes.length;
      ops += allOps.length;
      for (const o of outcomes) {
        frames += o.framesRead;
        for (const g of o.goaways) goaways[g] = (goaways[g] ?? 0) + 1;
      }
      const healthMs = cluster.procs.has('c1') ? await statusWithin(client, endpoint, opts.healthDeadlineMs ?? 10_000) : null;
      const crashLine = logText().split('\n').find((l) => CRASH_LINE.test(l));
      if (!cluster.procs.has('c1')) fail('exited', logText().split('\n').slice(-60).join('\n'));
      else if (crashLine !== undefined) fail('uncaught', crashLine);
      else if (healthMs === null) fail('unresponsive', `no status answer within ${opts.healthDeadlineMs ?? 10_000} ms`);
      else maxHealthMs = Math.max(maxHealthMs, healthMs);
      if (failure === null && i % (opts.putEvery ?? 5) === 0) {
        const key = `oracle/${burst.seed}`;
        try {
          await client.put(key, String(burst.seed));
          acked.set(key, String(burst.seed));
          for (const [k, v] of acked) {
            const got = Buffer.from((await client.get(k)).value).toString();
            if (got !== v) fail('lost-put', `${k}: read ${JSON.stringify(got)}, acknowledged ${JSON.stringify(v)}`);
          }
        } catch (err) {
          fail('lost-put', `a put or read failed: ${(err as Error).message}`);
        }
      }
      done++;
      log(`burst seed ${burst.seed}: ${burst.connections.length} conn, ${allOps.length} ops, status ${healthMs === null ? '-' : healthMs.toFixed(0)} ms${failure === null ? '' : ' FAILED'}`);
    }
  } finally {
    if (process.env['H2FUZZ_KEEP_LOG'] !== undefined) fs.writeFileSync(process.env['H2FUZZ_KEEP_LOG'], (cluster.logs.get('c1') ?? []).join(''));
    client.close();
    await cluster.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { bursts: done, connections, ops, frames, goaways, maxHealthMs, puts: acked.size, failure };
}
