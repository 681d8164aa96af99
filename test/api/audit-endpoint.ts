/**
 * A controller's Audit service with one stored event, on a real grpc-js server, and a port
 * nothing listens on: for tests of how a client reaches (or fails to reach) an endpoint.
 */
import * as grpc from '@grpc/grpc-js';
import type { Test } from 'tap';
import { auditLimits, serveAudit, type AuditSource } from '../../src/api/audit-handler.js';
import { controllerMethod } from '../../src/api/controller-proto.js';
import type { AuditEventMsg, AuditRequestMsg } from '../../src/api/wire-types.js';
import { freePorts } from '../helpers/free-ports.js';

/** The one event the service lists: its subject is c2. */
export const STORED_EVENT: AuditEventMsg = { time: '1970-01-01T00:00:00.000Z', node: 'c1', type: 'member.status', subject: 'c2', from: 'online', to: 'offline', reason: '' };

const source: AuditSource = {
  page: (_since, after) => Promise.resolve(after === null ? { events: [STORED_EVENT], last: '0' } : { events: [], last: null }),
  end: () => Promise.resolve('0'),
  follow: () => () => undefined,
  dropped: () => null,
  followDropped: () => () => undefined,
};

/**
 * A port nothing listens on, kept for this test process (free-ports.ts): one from listen(0), closed
 * again, is an ephemeral port any outgoing connection on the host may take before the test binds
 * it or expects it refused, and it ignores TEST_PORT_RANGE.
 */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  if (port === undefined) throw new Error('expected a free port, found none');
  return port;
}

/** The Audit service on `port` (0: any free one), stopped when the test ends; its address. */
export async function auditServer(t: Test, port = 0): Promise<string> {
  const server = new grpc.Server();
  server.addService({ Audit: controllerMethod('Audit') }, { Audit: (call: grpc.ServerWritableStream<AuditRequestMsg, AuditEventMsg>) => serveAudit(call, source, auditLimits()) });
  const bound = await new Promise<number>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  return `127.0.0.1:${bound}`;
}
