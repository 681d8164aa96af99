/**
 * attack-34 H10: audit follows (`ctl audit --follow`) on a real gRPC server are capped per client
 * and per controller (RESOURCE_EXHAUSTED naming the cap), counted on /metrics, and a freed place
 * is taken again; a listing is not counted. Without the caps, 2,000 followers that read nothing
 * took a controller from 93 MB to 376 MB.
 */
import * as grpc from '@grpc/grpc-js';
import promClient from 'prom-client';
import t, { type Test } from 'tap';
import { auditLimits, serveAudit, type AuditSource } from '../../src/api/audit-handler.js';
import { streamAudit } from '../../src/api/audit-stream.js';
import { ApiError } from '../../src/api/errors.js';
import { cutOff } from '../../src/api/stream-writer.js';
import { baseCallGuard } from '../../src/transport/base-call-guard.js';
import { oneMessageRequests } from '../../src/transport/unended-requests.js';
import { auditFollowLimits } from '../../src/api/audit-follows.js';
import { controllerMethod } from '../../src/api/controller-proto.js';
import type { WatchLimits } from '../../src/api/watch-limits.js';
import type { AuditEventMsg, AuditRequestMsg } from '../../src/api/wire-types.js';
import { AuditFollowMetrics } from '../../src/node/audit-follow-metrics.js';
import { waitFor } from '../helpers/wait-for.js';

const stored: AuditEventMsg = { time: '1970-01-01T00:00:00.000Z', node: 'c1', type: 'member.status', subject: 'c2', from: 'online', to: 'offline', reason: '' };

/** A trail of one event that never grows. */
const source: AuditSource = {
  page: (_since, after, _limit, _until) => Promise.resolve(after === null ? { events: [stored], last: '0' } : { events: [], last: null }),
  end: () => Promise.resolve('0'),
  follow: () => () => undefined,
  dropped: () => null,
  followDropped: () => () => undefined,
};

const method = controllerMethod('Audit');

/** Serves Audit under `follows`; each client connect() returns has a connection of its own. */
async function serve(t: Test, follows: WatchLimits): Promise<() => grpc.Client> {
  const server = new grpc.Server();
  server.addService({ Audit: method }, { Audit: (call: grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>) => serveAudit(call, source, auditLimits({ follows })) });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const clients: grpc.Client[] = [];
  t.teardown(() => {
    for (const c of clients) c.close();
    server.forceShutdown();
  });
  return () => {
    const c = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    clients.push(c);
    return c;
  };
}

interface Stream {
  readonly events: () => number;
  readonly ended: () => grpc.StatusObject | null;
  readonly call: grpc.ClientReadableStream<unknown>;
}

function audit(client: grpc.Client, follow: boolean): Stream {
  let events = 0;
  let ended: grpc.StatusObject | null = null;
  const call = client.makeServerStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, { sinceMs: 0, follow, notes: false });
  call.on('data', () => events++);
  call.on('status', (s: grpc.StatusObject) => (ended = s));
  call.on('error', () => undefined);
  return { events: () => events, ended: () => ended, call };
}

async function metricValue(registry: promClient.Registry, name: string): Promise<number | null> {
  const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? null : Number(line.slice(name.length + 1));
}

const refused = (reason: 'per_client' | 'total'): string => `controller_audit_follows_refused_total{reason="${reason}"}`;

void t.test('follows past a client\'s cap and past the controller\'s are refused RESOURCE_EXHAUSTED, named and counted', async (t) => {
  const registry = new promClient.Registry();
  const metrics = new AuditFollowMetrics(registry);
  const follows = auditFollowLimits({ maxPerClient: 2, maxTotal: 3 }, metrics);
  metrics.bind(follows);
  t.equal(await metricValue(registry, refused('per_client')), 0, 'both refusal series exist from the start');
  t.equal(await metricValue(registry, refused('total')), 0);
  t.equal(await metricValue(registry, 'controller_audit_follows_cut_off_total{reason="budget"}'), 0);
  const connect = await serve(t, follows);
  const greedy = connect();
  const held = [audit(greedy, true), audit(greedy, true)];
  await waitFor(() => held.every((s) => s.events() === 1), 'two follows replayed');
  const third = audit(greedy, true);
  await waitFor(() => third.ended() !== null, 'the third to be refused');
  t.match(third.ended(), { code: grpc.status.RESOURCE_EXHAUSTED, details: /^connection .* has 2 audit follows open on this controller, the most one client may \(2\); stop one/ });
  t.equal(third.events(), 0, 'nothing replayed to it');

  const other = connect();
  const served = audit(other, true);
  await waitFor(() => served.events() === 1, "another client's follow served");
  const past = audit(other, true);
  await waitFor(() => past.ended() !== null, 'a fourth follow to be refused');
  t.match(past.ended(), { code: grpc.status.RESOURCE_EXHAUSTED, details: /^this controller serves 3 audit follows, the most it serves at once \(3\); connection .* has 1 of them; follow through another controller/ });

  const listing = audit(other, false);
  await waitFor(() => listing.ended() !== null, 'a listing to end');
  t.equal(listing.ended()?.code, grpc.status.OK, 'a listing is not counted');
  t.equal(listing.events(), 1);

  t.equal(await metricValue(registry, 'controller_audit_follows_open'), 3, 'the open follows, as a gauge');
  t.equal(await metricValue(registry, refused('per_client')), 1);
  t.equal(await metricValue(registry, refused('total')), 1);

  held[0]!.call.cancel();
  await waitFor(() => follows.open === 2, 'a place freed');
  const again = audit(other, true);
  await waitFor(() => again.events() === 1, 'a new follow served');
  for (const s of [held[1]!, served, again]) s.call.cancel();
  await waitFor(() => follows.open === 0, 'cancelled follows let go');
});

void t.test("ctl's account of a follow cut off for the budget names the audit follow and --since, not a watch", async (t) => {
  // The call guard is what lets a reset find the call's HTTP/2 stream, as in a controller.
  const server = new grpc.Server({ interceptors: [baseCallGuard({ onCompressed: () => undefined, onUnendedReset: () => undefined }), oneMessageRequests] });
  server.addService({ Audit: method }, {
    Audit: (call: grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>) => {
      call.write(stored, () => cutOff(call as grpc.ServerWritableStream<unknown, unknown>, 'exhausted'));
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const channel = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  t.teardown(() => {
    channel.close();
    server.forceShutdown();
  });
  const endpoint = `127.0.0.1:${port}`;
  const ctx = { endpoint, channel, timeoutMs: 2000, streams: new Set<grpc.ClientReadableStream<unknown>>(), closed: () => false };
  let got = 0;
  const err = await streamAudit(ctx, { sinceMs: 0, follow: true }, () => void got++).then(
    () => null,
    (e: unknown) => e,
  );
  t.equal(got, 1);
  t.ok(err instanceof ApiError, 'an error');
  t.match(err, { code: 'RESOURCE_EXHAUSTED', message: new RegExp(`^${endpoint} cut off the audit stream after 1 messages to bound its memory \\(.+\\): a controller cuts off the audit follow whose events have waited longest unread .*; follow again with --since$`) });
  t.notMatch(String((err as Error).message), /watch/, 'no word of a watch');
});
