/**
 * A new ControllerClient connects afresh. grpc-js shares connections between channels of the
 * same address and options in one process, and a new channel whose shared connection sits in a
 * reconnect back-off (another client was refused there a moment ago) failed its first call at
 * once with "No connection established. Last error: null", the endpoint up all along: a test's
 * fresh client failed a put against a healthy cluster this way (cut-from-leader-view, in CI).
 */
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { auditLimits, serveAudit, type AuditSource } from '../../src/api/audit-handler.js';
import { ControllerClient } from '../../src/api/client.js';
import { controllerMethod } from '../../src/api/controller-proto.js';
import type { AuditEventMsg, AuditRequestMsg } from '../../src/api/wire-types.js';

const stored: AuditEventMsg = { time: '1970-01-01T00:00:00.000Z', node: 'c1', type: 'member.status', subject: 'c2', from: 'online', to: 'offline', reason: '' };
const source: AuditSource = {
  page: (_since, after) => Promise.resolve(after === null ? { events: [stored], last: '0' } : { events: [], last: null }),
  end: () => Promise.resolve('0'),
  follow: () => () => undefined,
  dropped: () => null,
  followDropped: () => () => undefined,
};

/** A port nothing listens on: bound and closed again. */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

async function auditServerOn(t: Test, port: number): Promise<void> {
  const server = new grpc.Server();
  server.addService({ Audit: controllerMethod('Audit') }, { Audit: (call: grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>) => serveAudit(call, source, auditLimits()) });
  await new Promise<number>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  t.teardown(() => server.forceShutdown());
}

function client(t: Test, endpoint: string): ControllerClient {
  // A back-off far longer than the test: a client sharing the refused connection would fail.
  const c = new ControllerClient({ endpoints: [endpoint], timeoutMs: 10_000, connectTimeoutMs: 10_000 });
  t.teardown(() => c.close());
  return c;
}

void t.test('a client refused a moment ago does not make a new client of the same endpoint fail once it is up', async (t) => {
  const port = await freePort();
  const endpoint = `127.0.0.1:${port}`;
  const refused = await client(t, endpoint).audit({ sinceMs: 0, follow: false }, () => undefined).then(() => null, (e: unknown) => e);
  t.match(refused, { code: 'UNREACHABLE', message: /ECONNREFUSED|connection refused/i }, 'the first client is refused: nothing listens yet');

  await auditServerOn(t, port);
  const events: string[] = [];
  const fresh = await client(t, endpoint).audit({ sinceMs: 0, follow: false }, (e) => events.push(e.subject)).then(() => null, (e: unknown) => e);
  t.equal(fresh, null, `the new client's call is answered (${fresh instanceof Error ? fresh.message : 'no error'})`);
  t.same(events, ['c2']);
});
