/**
 * The agents' stream client verifies a controller's certificate as grpc-js's client did, through
 * the agent CLI's own TLS files (streamSecurity): a certificate of another CA, an expired one,
 * one for another address and a revoked one (with --tls-crl) end the call UNAVAILABLE with
 * OpenSSL's reason, which the agent logs; mutual TLS presents the agent's certificate.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { streamSecurity } from '../../src/cli/ctl/context.js';
import { H2Connection, type StreamCallError, type StreamSecurity } from '../../src/transport/h2-stream/index.js';
import { status } from '../../src/transport/h2-stream/status-codes.js';
import type { TlsFiles } from '../../src/transport/credentials.js';
import { CertMaker } from '../helpers/certs.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'h2-stream-tls-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const certs = new CertMaker(dir);
certs.makeCa('ca');
certs.makeCa('other');
const good = certs.makeCert('ca', 'c1');
const expired = certs.makeCert('ca', 'c1-expired', { days: -1 });
const elsewhere = certs.makeCert('ca', 'c1-elsewhere', { san: 'IP:10.9.9.9,DNS:elsewhere.example' });
const foreign = certs.makeCert('other', 'c1-foreign');
const revoked = certs.makeCert('ca', 'c1-revoked');
certs.revoke('ca', 'c1-revoked');
const crl = certs.crl('ca');
const agent = certs.makeCert('ca', 'edge-1');

const PATH = '/test.Chat/Talk';
const bytes = (b: Buffer): Buffer => b;

/** A grpc-js server with `served`'s certificate that answers each message with the client certificate's CN (or "none"). */
async function serve(t: Test, served: TlsFiles, clientCa: string | null): Promise<string> {
  const server = new grpc.Server();
  server.addService(
    { Talk: { path: PATH, requestStream: true, responseStream: true, requestSerialize: bytes, requestDeserialize: bytes, responseSerialize: bytes, responseDeserialize: bytes } },
    {
      Talk: (call: grpc.ServerDuplexStream<Buffer, Buffer>) =>
        call.on('data', () => {
          const cn = call.getAuthContext().sslPeerCertificate?.subject.CN;
          call.write(Buffer.from(typeof cn === 'string' ? cn : 'none'));
        }),
    },
  );
  const creds = grpc.ServerCredentials.createSsl(clientCa === null ? null : fs.readFileSync(clientCa), [{ cert_chain: fs.readFileSync(served.cert), private_key: fs.readFileSync(served.key) }], clientCa !== null);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', creds, (e, p) => (e ? reject(e) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  return `127.0.0.1:${port}`;
}

/** The first answer, or how the call ended without one. */
async function firstAnswer(t: Test, address: string, security: StreamSecurity): Promise<string> {
  const connection = new H2Connection(address, security, 1024);
  t.teardown(() => connection.close());
  const call = connection.open(PATH, { encode: (s: string) => Buffer.from(s), decode: (b: Buffer) => b.toString() });
  const outcome = await new Promise<string>((resolve) => {
    call.on('data', (m) => resolve(`answer ${m}`));
    call.on('end', () => resolve('ended OK'));
    call.on('error', (e: StreamCallError) => resolve(`error ${e.code}: ${e.details}`));
    call.write('hello');
  });
  call.cancel();
  return outcome;
}

void t.test("a controller's certificate signed by the agent's CA: the call goes through", async (t) => {
  t.equal(await firstAnswer(t, await serve(t, good, null), streamSecurity({ ca: good.ca })), 'answer none');
});

void t.test('refused with the reason: another CA, expired, another address, revoked', async (t) => {
  const cases: Array<[string, TlsFiles, { ca: string; crl?: string }, RegExp]> = [
    ['signed by another CA', foreign, { ca: good.ca }, /unable to verify the first certificate/],
    ['expired', expired, { ca: good.ca }, /certificate has expired/],
    ['for another address', elsewhere, { ca: good.ca }, /does not match certificate's altnames: IP: 127\.0\.0\.1 is not in the cert's list: 10\.9\.9\.9/],
    ['revoked, with --tls-crl', revoked, { ca: good.ca, crl }, /certificate revoked/],
  ];
  for (const [what, served, files, reason] of cases) {
    const outcome = await firstAnswer(t, await serve(t, served, null), streamSecurity(files));
    t.match(outcome, new RegExp(`^error ${status.UNAVAILABLE}: `), `${what}: UNAVAILABLE`);
    t.match(outcome, reason, `${what}: says why`);
  }
  t.equal(await firstAnswer(t, await serve(t, good, null), streamSecurity({ ca: good.ca, crl })), 'answer none', 'a certificate the CRL does not list still goes through');
});

void t.test("mutual TLS: the agent's certificate is presented, and a controller that needs one refuses a call without it", async (t) => {
  const address = await serve(t, good, good.ca);
  t.equal(await firstAnswer(t, address, streamSecurity({ ca: good.ca, cert: agent.cert, key: agent.key })), 'answer edge-1');
  t.match(await firstAnswer(t, address, streamSecurity({ ca: good.ca })), new RegExp(`^error ${status.UNAVAILABLE}: .*certificate required`));
});
