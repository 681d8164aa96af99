/**
 * `node dist/bench/agent-receive.js [--pushes N] [--rounds N]`: an agent's own work per push,
 * without gRPC: the push's bytes as a controller writes them (wire.ts), decoded as grpc-js's
 * deserializer and the runner do, judged and committed (config-state.ts), and the ACK encoded
 * as the stream's serializer does. Each step is timed over N pushes of a one-service change
 * (the fan-out benchmark's change), median of the rounds, in µs per push.
 */
import { Command } from 'commander';
import { AgentConfig } from '../src/agent/config-state.js';
import { PushAssembler } from '../src/agents/push-parts.js';
import type { PushPlan } from '../src/agents/push-planner.js';
import { decodeControllerWire, SYNC_METHOD } from '../src/agents/sync-codec.js';
import { decodeControllerMessage, encodeAgentFrame, encodePushInParts, type ControllerMessageWire, type ReceivedPush } from '../src/agents/wire.js';
import type { Resource } from '../src/statemachine/index.js';
import { MAX_SEND_MESSAGE_BYTES } from '../src/transport/message-limits.js';

const opts = new Command().option('--pushes <n>', 'pushes per round', '20000').option('--rounds <n>', 'rounds', '7').parse().opts<{ pushes: string; rounds: string }>();
const pushes = Number(opts.pushes);
const rounds = Number(opts.rounds);

const service = (revision: number): Resource => ({ kind: 'service', name: 'bench-web', spec: { protocol: 'http', ports: [1000 + revision] }, labels: {}, status: { vip: '10.96.0.1' }, revision });

/** The frames of pushes 1..n, each a delta from the one before (the first whole). */
function frames(n: number): Buffer[] {
  const out: Buffer[] = [];
  for (let v = 1; v <= n; v++) {
    const plan: PushPlan = { baseVersion: v === 1 ? null : v - 1, version: v, upserts: [service(v)], removes: [], resources: 1 };
    const f = encodePushInParts({ type: 'push', nonce: v, clusterId: 'c-bench', plan });
    const frame = f[0]!;
    if (f.length !== 1 || !Buffer.isBuffer(frame)) throw new Error('invariant: a one-service push is one encoded frame');
    out.push(frame);
  }
  return out;
}

const steps = ['wire decode', 'assemble', 'message decode', 'judge', 'commit', 'ack encode', 'ack wire'] as const;
type Step = (typeof steps)[number];

function round(bufs: readonly Buffer[]): Record<Step, number> {
  const t: Record<Step, number> = { 'wire decode': 0, assemble: 0, 'message decode': 0, judge: 0, commit: 0, 'ack encode': 0, 'ack wire': 0 };
  const config = new AgentConfig(new Set(['http', 'tcp']));
  const parts = new PushAssembler(MAX_SEND_MESSAGE_BYTES);
  let sink = 0;
  for (const buf of bufs) {
    let a = performance.now();
    const w: ControllerMessageWire = decodeControllerWire(buf);
    let b = performance.now();
    t['wire decode'] += b - a;
    const whole = parts.complete(w);
    a = performance.now();
    t.assemble += a - b;
    const m = decodeControllerMessage(whole) as ReceivedPush;
    b = performance.now();
    t['message decode'] += b - a;
    const verdict = config.judge(m);
    a = performance.now();
    t.judge += a - b;
    if (verdict.type !== 'accept') throw new Error(`push ${m.version}: ${JSON.stringify(verdict)}`);
    config.commit(verdict.next);
    b = performance.now();
    t.commit += b - a;
    const ack = encodeAgentFrame({ type: 'ack', nonce: m.nonce, version: m.version });
    a = performance.now();
    t['ack encode'] += a - b;
    // What the stream's serializer does with it (grpc-js calls it on write).
    sink += SYNC_METHOD.requestSerialize(ack).length;
    b = performance.now();
    t['ack wire'] += b - a;
  }
  if (sink === 0) throw new Error('nothing encoded');
  return t;
}

const bufs = frames(pushes);
const results: Record<Step, number>[] = [];
for (let r = 0; r < rounds + 1; r++) {
  const t = round(bufs);
  if (r > 0) results.push(t); // the first warms V8 up
}
const med = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
let total = 0;
for (const s of steps) {
  const us = (med(results.map((t) => t[s])) * 1000) / pushes;
  total += us;
  process.stdout.write(`${s.padEnd(16)} ${us.toFixed(2)} µs\n`);
}
process.stdout.write(`${'total'.padEnd(16)} ${total.toFixed(2)} µs per push (${pushes} pushes, median of ${rounds} rounds)\n`);
