/**
 * The gRPC health service (src/node/health-service.ts) on a real server: Check, List and Watch
 * as the standard protocol has them (bytes checked by hand, as a probe that knows only the
 * protocol would send and read them), the caps on Watch streams (per client and in all), and the
 * bound on a service name's length.
 */
import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import promClient from 'prom-client';
import { HealthMetrics } from '../../src/node/health-metrics.js';
import { HealthService, MAX_SERVICE_NAME_BYTES } from '../../src/node/health-service.js';
import { waitFor } from '../helpers/wait-for.js';

const raw = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
/** HealthCheckRequest { service = 1 } by hand. */
const request = (service: string): Buffer => (service === '' ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a]), varint(Buffer.byteLength(service)), Buffer.from(service)]));
function varint(n: number): Buffer {
  const bytes: number[] = [];
  for (; n >= 0x80; n >>>= 7) bytes.push((n & 0x7f) | 0x80);
  bytes.push(n);
  return Buffer.from(bytes);
}
/** HealthCheckResponse's status (field 1, varint); 0 when absent (proto3's default). */
const statusOf = (b: Buffer): number => (b.length >= 2 && b[0] === 0x08 ? b[1]! : 0);
const SERVING = 1;
const NOT_SERVING = 2;
const SERVICE_UNKNOWN = 3;

/** Serves `health`; the client it returns and each of `connect()`'s have a connection of their own. */
async function serveMany(t: Test, health: HealthService): Promise<{ readonly client: grpc.Client; readonly connect: () => grpc.Client }> {
  const server = new grpc.Server();
  health.addToServer(server);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const clients: grpc.Client[] = [];
  const connect = (): grpc.Client => {
    const c = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    clients.push(c);
    return c;
  };
  t.teardown(() => {
    for (const c of clients) c.close();
    server.forceShutdown();
  });
  return { client: connect(), connect };
}

async function serve(t: Test, health: HealthService): Promise<grpc.Client> {
  return (await serveMany(t, health)).client;
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

/** A metric's value in the registry's text (`name` with its labels, as the text has them). */
async function metricValue(registry: promClient.Registry, name: string): Promise<number | null> {
  const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? null : Number(line.slice(name.length + 1));
}

const refusedTotal = (reason: 'per_client' | 'total'): string => `controller_health_watches_refused_total{reason="${reason}"}`;

function metered(caps: { maxPerClient: number; maxTotal: number }): { readonly health: HealthService; readonly registry: promClient.Registry } {
  const registry = new promClient.Registry();
  let metrics: HealthMetrics | null = null;
  const health = new HealthService({ '': 'SERVING' }, caps, (reason) => metrics?.refused(reason));
  metrics = new HealthMetrics(registry, () => health.watches);
  return { health, registry };
}

void t.test('watches past the cap are refused RESOURCE_EXHAUSTED, counted; a freed place is taken again', async (t) => {
  const { health, registry } = metered({ maxPerClient: 100, maxTotal: 3 });
  t.equal(await metricValue(registry, refusedTotal('total')), 0, 'the refusal counts exist from the start');
  t.equal(await metricValue(registry, refusedTotal('per_client')), 0);
  const grpcClient = await serve(t, health);
  const held = [watch(grpcClient, ''), watch(grpcClient, ''), watch(grpcClient, '')];
  await waitFor(() => held.every((w) => w.seen.length === 1), 'three watches open');
  const refused = watch(grpcClient, '');
  await waitFor(() => refused.ended() !== null, 'the fourth to end');
  t.match(refused.ended(), { code: grpc.status.RESOURCE_EXHAUSTED, details: /^this controller serves 3 health watches, the most it serves at once \(3\); connection .* has 3 of them/ });
  t.same(await check(grpcClient, ''), { status: SERVING }, 'Check is not capped');
  t.equal(await metricValue(registry, 'controller_health_watches_open'), 3, 'the open watches, as a gauge');
  t.equal(await metricValue(registry, refusedTotal('total')), 1, 'the refusal, counted');
  t.equal(await metricValue(registry, refusedTotal('per_client')), 0);
  held[0]!.call.cancel();
  await waitFor(() => health.watches === 2, 'a place freed');
  const next = watch(grpcClient, '');
  await waitFor(() => next.seen.length === 1, 'a new watch to be served');
  t.equal(health.watches, 3);
  for (const w of [...held.slice(1), next]) w.call.cancel();
});

void t.test('attack-34 H2: one client holds at most its share; another is still served', async (t) => {
  const { health, registry } = metered({ maxPerClient: 2, maxTotal: 10 });
  const { client: greedy, connect } = await serveMany(t, health);
  const held = [watch(greedy, ''), watch(greedy, '')];
  await waitFor(() => held.every((w) => w.seen.length === 1), 'two watches open');
  const refused = watch(greedy, '');
  await waitFor(() => refused.ended() !== null, 'the third to end');
  t.match(refused.ended(), { code: grpc.status.RESOURCE_EXHAUSTED, details: /^connection .* has 2 health watches open on this controller, the most one client may \(2\)/ });
  t.equal(await metricValue(registry, refusedTotal('per_client')), 1, 'counted as per_client');
  t.equal(await metricValue(registry, refusedTotal('total')), 0);
  const other = watch(connect(), '');
  await waitFor(() => other.seen.length === 1, "another client's watch to be served");
  t.same(other.seen, [SERVING]);
  t.equal(health.watches, 3);
  for (const w of [...held, other]) w.call.cancel();
  await waitFor(() => health.watches === 0, 'cancelled watches to be forgotten');
});

void t.test(`attack-34 H2: a service name past ${MAX_SERVICE_NAME_BYTES} bytes is refused INVALID_ARGUMENT, by Check and Watch alike`, async (t) => {
  const health = new HealthService({ '': 'SERVING' });
  const client = await serve(t, health);
  const long = 'x'.repeat(MAX_SERVICE_NAME_BYTES + 1);
  const expected = { code: grpc.status.INVALID_ARGUMENT, details: `the service name is ${MAX_SERVICE_NAME_BYTES + 1} bytes, longer than the ${MAX_SERVICE_NAME_BYTES} bytes a health service name may be` };
  t.match(await check(client, long), expected, 'Check');
  const w = watch(client, long);
  await waitFor(() => w.ended() !== null, 'the watch to end');
  t.match(w.ended(), expected, 'Watch');
  t.same(w.seen, [], 'no status sent');
  t.equal(health.watches, 0, 'nothing held');
  const big = watch(client, 'y'.repeat(1_000_000));
  await waitFor(() => big.ended() !== null, 'a 1 MB name to be refused');
  t.equal(big.ended()?.code, grpc.status.INVALID_ARGUMENT);
  const atLimit = 'z'.repeat(MAX_SERVICE_NAME_BYTES);
  t.match(await check(client, atLimit), { code: grpc.status.NOT_FOUND }, `a name of ${MAX_SERVICE_NAME_BYTES} bytes is looked up`);
  const ok = watch(client, atLimit);
  await waitFor(() => ok.seen.length === 1, 'a watch of a name at the limit');
  t.same(ok.seen, [SERVICE_UNKNOWN]);
  ok.call.cancel();
  await waitFor(() => health.watches === 0, 'the watch to be forgotten');
});
