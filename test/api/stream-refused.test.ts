/**
 * attack-37b B4: the streaming calls (audit, snapshot save) skip an endpoint that refuses the
 * connection at once, naming the refusal, as unary calls do; they used to wait the whole timeout
 * for it and report "could not connect to X within 5000ms".
 */
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { auditLimits, serveAudit, type AuditSource } from '../../src/api/audit-handler.js';
import { ControllerClient } from '../../src/api/client.js';
import { controllerMethod } from '../../src/api/controller-proto.js';
import { OperatorClient } from '../../src/api/operator-client.js';
import type { AuditEventMsg, AuditRequestMsg } from '../../src/api/wire-types.js';

/** Long enough that waiting it out for a refused endpoint would fail the test's own timeout. */
const TIMEOUT_MS = 30_000;

const stored: AuditEventMsg = { time: '1970-01-01T00:00:00.000Z', node: 'c1', type: 'member.status', subject: 'c2', from: 'online', to: 'offline', reason: '' };
const source: AuditSource = {
  page: (_since, after) => Promise.resolve(after === null ? { events: [stored], last: '0' } : { events: [], last: null }),
  end: () => Promise.resolve('0'),
  follow: () => () => undefined,
  dropped: () => null,
  followDropped: () => () => undefined,
};

/** An address nothing listens on: a port bound and closed again. */
async function closedPort(): Promise<string> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

async function auditServer(t: Test): Promise<string> {
  const server = new grpc.Server();
  const method = controllerMethod('Audit');
  server.addService({ Audit: method }, { Audit: (call: grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>) => serveAudit(call, source, auditLimits()) });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  return `127.0.0.1:${port}`;
}

function client(t: Test, endpoints: string[]): ControllerClient {
  const c = new ControllerClient({ endpoints, timeoutMs: TIMEOUT_MS, connectTimeoutMs: TIMEOUT_MS });
  t.teardown(() => c.close());
  return c;
}

const REFUSED = /ECONNREFUSED|connection refused/i;

void t.test('an audit listing against refused endpoints fails naming the refusal of each, not a connect timeout', async (t) => {
  const [a, b] = [await closedPort(), await closedPort()];
  const err = await client(t, [a, b]).audit({ sinceMs: 0, follow: false }, () => undefined).then(() => null, (e: unknown) => e);
  t.match(err, { code: 'UNREACHABLE' });
  const message = err instanceof Error ? err.message : '';
  t.notMatch(message, /could not connect .* within/, 'no connect timeout was waited for');
  const tried = message.slice(message.indexOf('tried '));
  t.match(tried, new RegExp(`${a} \\([^)]*(ECONNREFUSED|connection refused)`, 'i'), 'the first endpoint is named with its refusal');
  t.match(tried, new RegExp(`${b} \\([^)]*(ECONNREFUSED|connection refused)`, 'i'), 'the second too');
});

void t.test('a snapshot save against a refused endpoint fails naming the refusal', async (t) => {
  const err = await new OperatorClient(client(t, [await closedPort()])).snapshot().then(() => null, (e: unknown) => e);
  t.match(err, { code: 'UNREACHABLE', message: REFUSED });
  t.notMatch(err instanceof Error ? err.message : '', /within \d+ms/);
});

void t.test('a refused endpoint first and a live one second: the audit comes from the live one', async (t) => {
  // Far below the timeout a refused endpoint used to cost, far above what skipping it takes.
  t.setTimeout(TIMEOUT_MS / 2);
  const events: string[] = [];
  await client(t, [await closedPort(), await auditServer(t)]).audit({ sinceMs: 0, follow: false }, (e) => events.push(e.subject));
  t.same(events, ['c2']);
});
