/**
 * The machine and its physical floor, measured in the same run as the benchmark.
 *
 * A replicated write cannot be faster than: the client's round trip to the leader, the leader's
 * fsync, one round trip to a follower and the follower's fsync (the leader's fsync can overlap
 * the follower's, Raft thesis §10.2.1). Batching amortizes the fsyncs and round trips over every
 * write that arrives meanwhile, so with many clients the bound is CPU, not the disk.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { histogram, percentileMs, recordMs, round } from './stats.js';

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGB: number;
  readonly node: string;
  readonly platform: string;
  /** The directory the data dirs of both systems live under, and its filesystem. */
  readonly dataRoot: string;
  readonly filesystem: string;
  /** Append 128 bytes + fdatasync, as a write-ahead log does. */
  readonly fsyncP50Ms: number;
  readonly fsyncP99Ms: number;
  /** One byte there and back over loopback TCP between two sockets of this process. */
  readonly loopbackRttP50Ms: number;
  readonly loopbackRttP99Ms: number;
  /** An empty unary call with @grpc/grpc-js over loopback: the cost of one hop of our transport. */
  readonly grpcUnaryP50Ms: number;
  readonly grpcUnaryP99Ms: number;
  /** CPU (client and server side together) of one such call, µs. */
  readonly grpcUnaryCpuUs: number;
  readonly etcdVersion: string | null;
  readonly loadAverageAtStart: number;
  /** fsync measured again when the run ends: other jobs' I/O can make either one high. */
  readonly fsyncEndP50Ms?: number;
  readonly fsyncEndP99Ms?: number;
}

/** The lower of the two fsync medians: the floor is the best the disk showed in this run. */
export function fsyncFloorMs(m: MachineInfo): number {
  return Math.min(m.fsyncP50Ms, m.fsyncEndP50Ms ?? Number.POSITIVE_INFINITY);
}

/** write + fdatasync of small records appended to one file in `dir`'s filesystem. */
export function measureFsync(dir: string, samples: number): { p50: number; p99: number } {
  const tmp = fs.mkdtempSync(path.join(dir, 'bench-fsync-'));
  const fd = fs.openSync(path.join(tmp, 'wal'), 'a');
  const h = histogram();
  const buf = Buffer.alloc(128, 1);
  try {
    for (let i = 0; i < samples; i++) {
      const t0 = performance.now();
      fs.writeSync(fd, buf);
      fs.fdatasyncSync(fd);
      recordMs(h, performance.now() - t0);
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return { p50: percentileMs(h, 50), p99: percentileMs(h, 99) };
}

export async function measureLoopbackRtt(samples: number): Promise<{ p50: number; p99: number }> {
  const server = net.createServer((s) => {
    s.setNoDelay(true);
    s.on('data', (d) => s.write(d));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const sock = net.connect(port, '127.0.0.1');
  sock.setNoDelay(true);
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const h = histogram();
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await new Promise<void>((r) => {
      sock.once('data', () => r());
      sock.write('x');
    });
    if (i >= samples / 10) recordMs(h, performance.now() - t0); // the first tenth warms up
  }
  sock.destroy();
  await new Promise<void>((r) => server.close(() => r()));
  return { p50: percentileMs(h, 50), p99: percentileMs(h, 99) };
}

/** An empty unary call through grpc-js on loopback (client and server in this process). */
export async function measureGrpcUnary(samples: number): Promise<{ p50: number; p99: number; cpuUs: number }> {
  const identity = (b: Buffer): Buffer => b;
  const method: grpc.MethodDefinition<Buffer, Buffer> = {
    path: '/bench.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
  const server = new grpc.Server();
  server.addService({ Echo: method }, { Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request) });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  const payload = Buffer.alloc(100, 1);
  const call = (): Promise<void> =>
    new Promise((resolve, reject) =>
      client.makeUnaryRequest(method.path, identity, identity, payload, (err) => (err ? reject(err) : resolve())),
    );
  const h = histogram();
  const warmup = Math.floor(samples / 10);
  let cpu0 = process.cpuUsage();
  try {
    for (let i = 0; i < samples; i++) {
      if (i === warmup) cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await call();
      if (i >= warmup) recordMs(h, performance.now() - t0);
    }
  } finally {
    client.close();
    server.forceShutdown();
  }
  const cpu = process.cpuUsage(cpu0);
  return { p50: percentileMs(h, 50), p99: percentileMs(h, 99), cpuUs: (cpu.user + cpu.system) / (samples - warmup) };
}

function filesystemOf(dir: string): string {
  try {
    // The longest mount point that contains dir.
    const mounts = fs
      .readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f.length >= 3 && (dir === f[1] || dir.startsWith(f[1] === '/' ? '/' : `${f[1]}/`)))
      .sort((a, b) => b[1]!.length - a[1]!.length);
    const m = mounts[0];
    return m ? `${m[2]} on ${m[1]} (${m[0]})` : 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function machineInfo(dataRoot: string, etcdVersion: string | null, quick: boolean): Promise<MachineInfo> {
  const loadAverageAtStart = os.loadavg()[0] ?? 0;
  const fsync = measureFsync(dataRoot, quick ? 300 : 1000);
  const rtt = await measureLoopbackRtt(quick ? 2000 : 5000);
  const unary = await measureGrpcUnary(quick ? 1000 : 3000);
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    dataRoot,
    filesystem: filesystemOf(fs.realpathSync(dataRoot)),
    fsyncP50Ms: round(fsync.p50, 3),
    fsyncP99Ms: round(fsync.p99, 3),
    loopbackRttP50Ms: round(rtt.p50, 3),
    loopbackRttP99Ms: round(rtt.p99, 3),
    grpcUnaryP50Ms: round(unary.p50, 3),
    grpcUnaryP99Ms: round(unary.p99, 3),
    grpcUnaryCpuUs: Math.round(unary.cpuUs),
    etcdVersion,
    loadAverageAtStart: round(loadAverageAtStart, 2),
  };
}
