/**
 * The gRPC health service (src/node/health-service.ts) on a real server: Check, List and Watch
 * as the standard protocol has them (bytes checked by hand, as a probe that knows only the
 * protocol would send and read them), and the cap on Watch streams.
 */
import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import promClient from 'prom-client';
import { HealthMetrics } from '../../src/node/health-metrics.js';
import { HealthService } from '../../src/node/health-service.js';
import { waitFor } from '../helpers/wait-for.js';

const raw = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
/** HealthCheckRequest { service = 1 } by hand. */
const request = (service: string): Buffer => (service === '' ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, Buffer.byteLength(service)]), Buffer.from(service)]));
/** HealthCheckResponse's status (field 1, varint); 0 when absent (proto3's default). */
const statusOf = (b: Buffer): number => (b.length >= 2 && b[0] === 0x08 ? b[1]! : 0);
const SERVING = 1;
const NOT_SERVING = 2;
const SERVICE_UNKNOWN = 3;

async function serve(t: Test, health: HealthService): Promise<grpc.Client> {
  const server = new grpc.Server();
  health.addToServer(server);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  t.teardown(() => {
    client.close();
    server.forceShutdown();
  });
  return client;
}

function check(client: grpc.Client, service: string): Promise<{ status: number } | { code: number; details: string }> {
  return new Promise((resolve) =>
    client.makeUnaryRequest('/grpc.health.v1.Health/Check', raw.serialize, raw.deserialize, request(service), { deadline: Date.now() + 5000 }, (err, res) =>
      resolve(err ? { code: err.code, details: err.details } : { status: statusOf(res!) }),
    ),
  );
}

function watch(client: grpc.Client, service: string): { readonly seen: number[]; readonly ended: () => grpc.StatusObject | null; readonly call: grpc.ClientReadableStream<Buffer> } {
  const seen: number[] = [];
  let ended: grpc.StatusObject | null = null;
  const call = client.makeServerStreamRequest('/grpc.health.v1.Health/Watch', raw.serialize, raw.deserialize, request(service));
  call.on('data', (b: Buffer) => seen.push(statusOf(b)));
  call.on('status', (s: grpc.StatusObject) => (ended = s));
  call.on('error', () => undefined);
  return { seen, ended: () => ended, call };
}

void t.test('Check answers the status of a known service and NOT_FOUND for another; List lists them', async (t) => {
  const health = new HealthService({ '': 'NOT_SERVING' });
  const client = await serve(t, health);
  t.same(await check(client, ''), { status: NOT_SERVING });
  health.setStatus('', 'SERVING');
  t.same(await check(client, ''), { status: SERVING });
  t.match(await check(client, 'nope'), { code: grpc.status.NOT_FOUND, details: 'Health status unknown for service nope' });
  const listed = await new Promise<Buffer>((resolve, reject) =>
    client.makeUnaryRequest('/grpc.health.v1.Health/List', raw.serialize, raw.deserialize, Buffer.alloc(0), { deadline: Date.now() + 5000 }, (err, res) => (err ? reject(err) : resolve(res!))),
  );
  // statuses = 1, one map entry: key "" (field 1, empty) and value { status: SERVING } (field 2).
  t.same([...listed], [0x0a, 0x06, 0x0a, 0x00, 0x12, 0x02, 0x08, SERVING], 'one entry: "" SERVING');
});

void t.test('Watch sends the status now and each change; an unknown service is SERVICE_UNKNOWN', async (t) => {
  const health = new HealthService({ '': 'NOT_SERVING' });
  const client = await serve(t, health);
  const w = watch(client, '');
  const unknown = watch(client, 'other');
  await waitFor(() => w.seen.length === 1 && unknown.seen.length === 1, 'the first status on each watch');
  t.same(w.seen, [NOT_SERVING]);
  t.same(unknown.seen, [SERVICE_UNKNOWN]);
  health.setStatus('', 'SERVING');
  health.setStatus('', 'SERVING');
  health.setStatus('', 'NOT_SERVING');
  await waitFor(() => w.seen.length === 3, 'two changes');
  t.same(w.seen, [NOT_SERVING, SERVING, NOT_SERVING], 'each change once; the repeated status is not sent again');
  t.equal(health.watches, 2);
  w.call.cancel();
  unknown.call.cancel();
  await waitFor(() => health.watches === 0, 'cancelled watches to be forgotten');
});

/** A metric's value in the registry's text. */
async function metricValue(registry: promClient.Registry, name: string): Promise<number | null> {
  const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? null : Number(line.slice(name.length + 1));
}

void t.test('watches past the cap are refused RESOURCE_EXHAUSTED, counted; a freed place is taken again', async (t) => {
  const registry = new promClient.Registry();
  let metrics: HealthMetrics | null = null;
  const health = new HealthService({ '': 'SERVING' }, 3, () => metrics?.refused());
  metrics = new HealthMetrics(registry, () => health.watches);
  t.equal(await metricValue(registry, 'controller_health_watches_refused_total'), 0, 'the refusal count exists from the start');
  const grpcClient = await serve(t, health);
  const held = [watch(grpcClient, ''), watch(grpcClient, ''), watch(grpcClient, '')];
  await waitFor(() => held.every((w) => w.seen.length === 1), 'three watches open');
  const refused = watch(grpcClient, '');
  await waitFor(() => refused.ended() !== null, 'the fourth to end');
  t.match(refused.ended(), { code: grpc.status.RESOURCE_EXHAUSTED, details: 'this controller holds 3 health watches, the most it serves' });
  t.same(await check(grpcClient, ''), { status: SERVING }, 'Check is not capped');
  t.equal(await metricValue(registry, 'controller_health_watches_open'), 3, 'the open watches, as a gauge');
  t.equal(await metricValue(registry, 'controller_health_watches_refused_total'), 1, 'the refusal, counted');
  held[0]!.call.cancel();
  await waitFor(() => health.watches === 2, 'a place freed');
  const next = watch(grpcClient, '');
  await waitFor(() => next.seen.length === 1, 'a new watch to be served');
  t.equal(health.watches, 3);
  for (const w of [...held.slice(1), next]) w.call.cancel();
});
