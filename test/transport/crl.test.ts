/**
 * tls.crl on real TLS: the controller's listener (guarded-listener.ts, with mutualTlsCredentials'
 * listenerTls) refuses a revoked operator certificate at the handshake while another from the
 * same CA still calls; a certificate from a CA with no CRL in the file, or whose CRL is past its
 * nextUpdate, is refused too (OpenSSL's rules, which docs/security.md states); and tlsFileProblem
 * refuses a file that is not PEM CRLs, naming it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { describeTlsFailure } from '../../src/api/tls-errors.js';
import { GuardedListener } from '../../src/transport/guarded-listener.js';
import { mutualTlsCredentials, type TlsFiles } from '../../src/transport/credentials.js';
import type { HandshakeFailure } from '../../src/transport/handshake-failures.js';
import { crlCoverageProblem, crlSummary } from '../../src/transport/crl-coverage.js';
import { describeTlsFileProblem, pemCertificates, pemCrls, tlsFileProblem } from '../../src/transport/tls-files.js';
import { CertMaker } from '../helpers/certs.js';
import { freePorts } from '../helpers/free-ports.js';
import { waitFor } from '../helpers/wait-for.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crl-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const certs = new CertMaker(dir);
certs.makeCa('ca');
certs.makeCa('clients');
const serverFiles = certs.makeCert('ca', 'c1', { peer: 'c1' });
const operator = certs.makeCert('ca', 'operator');
const leaked = certs.makeCert('ca', 'leaked');
const fromClientCa = certs.makeCert('clients', 'alice');
certs.revoke('ca', 'leaked');
const caCrl = fs.readFileSync(certs.crl('ca'));
const clientsCrl = fs.readFileSync(certs.crl('clients'));
const clientsCrlExpired = fs.readFileSync(certs.crl('clients', { expired: true }));

/** Writes `parts` as one CRL file; its path. */
let files = 0;
function crlFile(...parts: Buffer[]): string {
  const file = path.join(dir, `crl-${++files}.pem`);
  fs.writeFileSync(file, Buffer.concat(parts.flatMap((p) => [p, Buffer.from('\n')])));
  return file;
}

const PUT = '/controller.api.Controller/Put';
const bytes = { requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };

/** The controller's listener with `tls`'s listenerTls, serving one method that answers the caller's CN. */
async function start(t: Test, tls: TlsFiles): Promise<{ port: number; failed: HandshakeFailure[] }> {
  const server = new grpc.Server();
  server.addService(
    { Put: { path: PUT, requestStream: false, responseStream: false, ...bytes } },
    {
      Put: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const cn: unknown = call.getAuthContext()?.sslPeerCertificate?.subject?.CN;
        cb(null, Buffer.from(typeof cn === 'string' ? cn : 'none'));
      },
    },
  );
  const failed: HandshakeFailure[] = [];
  const listener = await GuardedListener.listen(`127.0.0.1:${(await freePorts(1))[0]!}`, {
    server,
    tls: mutualTlsCredentials(tls).listenerTls ?? null,
    events: { capped: () => undefined, handshakeFailed: (f) => failed.push(f) },
  });
  t.teardown(async () => {
    server.forceShutdown();
    listener.destroyAll();
    await listener.close();
  });
  return { port: listener.port, failed };
}

function put(t: Test, port: number, files: TlsFiles): Promise<{ err: grpc.ServiceError | null; reply: string | null }> {
  const c = new grpc.Client(`localhost:${port}`, grpc.credentials.createSsl(fs.readFileSync(serverFiles.ca), fs.readFileSync(files.key), fs.readFileSync(files.cert)));
  t.teardown(() => c.close());
  return new Promise((resolve) =>
    c.makeUnaryRequest(PUT, bytes.requestSerialize, bytes.responseDeserialize, Buffer.from('k=v'), { deadline: Date.now() + 5000 }, (err, reply) =>
      resolve({ err: err ?? null, reply: reply?.toString() ?? null }),
    ),
  );
}

void t.test('a revoked operator certificate is refused at the handshake; another from the same CA still calls', async (t) => {
  const { port, failed } = await start(t, { ...serverFiles, crl: crlFile(caCrl) });
  const ok = await put(t, port, operator);
  t.equal(ok.err, null, 'the unrevoked operator certificate');
  t.equal(ok.reply, 'operator');
  const refused = await put(t, port, leaked);
  t.equal(refused.err?.code, grpc.status.UNAVAILABLE, `the revoked one: ${refused.err?.details ?? 'accepted'}`);
  t.equal(refused.reply, null);
  await waitFor(() => failed.some((f) => f.code === 'CERT_REVOKED'), 'the failed handshake reported as CERT_REVOKED');
  t.match(failed.find((f) => f.code === 'CERT_REVOKED'), { source: '127.0.0.1', reason: 'certificate' });
});

void t.test('without the CRL the revoked certificate still works (nothing else changed)', async (t) => {
  const { port } = await start(t, serverFiles);
  t.equal((await put(t, port, leaked)).reply, 'leaked');
});

void t.test('a client CA with no CRL in the file: its certificates are refused ("unable to get certificate CRL")', async (t) => {
  const withClientCa = { ...serverFiles, clientCa: path.join(dir, 'clients.crt') };
  const missing = await start(t, { ...withClientCa, crl: crlFile(caCrl) });
  t.equal((await put(t, missing.port, fromClientCa)).err?.code, grpc.status.UNAVAILABLE, 'refused');
  await waitFor(() => missing.failed.some((f) => f.code === 'UNABLE_TO_GET_CRL'), 'reported as UNABLE_TO_GET_CRL');
  t.equal((await put(t, missing.port, operator)).reply, 'operator', 'the CA with a CRL is unaffected');

  const both = await start(t, { ...withClientCa, crl: crlFile(caCrl, clientsCrl) });
  t.equal((await put(t, both.port, fromClientCa)).reply, 'alice', 'with a CRL from each CA, both CAs\' certificates call');
  t.equal((await put(t, both.port, operator)).reply, 'operator');
  t.equal((await put(t, both.port, leaked)).err?.code, grpc.status.UNAVAILABLE, 'and the revoked one is still refused');
});

void t.test('a CRL past its nextUpdate: every certificate of that CA is refused', async (t) => {
  const { port, failed } = await start(t, { ...serverFiles, clientCa: path.join(dir, 'clients.crt'), crl: crlFile(caCrl, clientsCrlExpired) });
  t.equal((await put(t, port, fromClientCa)).err?.code, grpc.status.UNAVAILABLE);
  await waitFor(() => failed.some((f) => f.code === 'CRL_HAS_EXPIRED'), 'reported as CRL_HAS_EXPIRED');
  t.equal((await put(t, port, operator)).reply, 'operator', 'the other CA, whose CRL is current, is unaffected');
});

void t.test('tls.crl files: PEM CRLs pass; anything else is named with the cause', async (t) => {
  t.equal(tlsFileProblem({ crl: crlFile(caCrl, clientsCrl) }), null);
  const garbage = path.join(dir, 'garbage.pem');
  fs.writeFileSync(garbage, 'garbage\n');
  const corrupt = path.join(dir, 'corrupt.crl');
  fs.writeFileSync(corrupt, '-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n');
  const withCert = path.join(dir, 'with-cert.pem');
  fs.writeFileSync(withCert, Buffer.concat([caCrl, fs.readFileSync(serverFiles.ca)]));
  const missing = path.join(dir, 'nope.crl');
  const name = (role: string): string => (role === 'crl' ? 'tls.crl' : role);
  const cases: ReadonlyArray<readonly [string, string, string]> = [
    ['garbage', garbage, `tls.crl ${garbage}: not a PEM certificate revocation list (no -----BEGIN X509 CRL----- block)`],
    ['a CA certificate', serverFiles.ca, `tls.crl ${serverFiles.ca}: holds a -----BEGIN CERTIFICATE----- block; it takes PEM certificate revocation lists (-----BEGIN X509 CRL-----) only`],
    ['a CRL and a certificate', withCert, `tls.crl ${withCert}: holds a -----BEGIN CERTIFICATE----- block`],
    ['a CRL block that does not parse', corrupt, `tls.crl ${corrupt}: not a usable certificate revocation list (OpenSSL: `],
    ['a missing file', missing, `tls.crl ${missing}: cannot read it (no such file)`],
  ];
  for (const [what, file, message] of cases) {
    const problem = tlsFileProblem({ crl: file });
    t.ok(problem !== null && describeTlsFileProblem(problem, name).startsWith(message), `${what}: ${problem === null ? 'accepted' : describeTlsFileProblem(problem, name)}`);
  }
});

void t.test('crlCoverageProblem: each CA of the files needs a current CRL in tls.crl', async (t) => {
  const ca = pemCertificates(fs.readFileSync(path.join(dir, 'ca.crt')));
  const clients = pemCertificates(fs.readFileSync(path.join(dir, 'clients.crt')));
  const der = (pem: Buffer): Buffer[] => pemCrls(pem).map((b) => Buffer.from(b.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64'));
  const cas = [['tls.ca', ca], ['tls.client_ca', clients]] as const;
  t.equal(crlCoverageProblem(der(Buffer.concat([caCrl, clientsCrl])), cas), null, 'a CRL from each CA');
  t.match(crlCoverageProblem(der(caCrl), cas), { kind: 'missing', key: 'tls.client_ca' }, 'the client CA has none');
  t.match(crlCoverageProblem(der(clientsCrl), cas), { kind: 'missing', key: 'tls.ca' }, 'the controllers\' CA has none');
  const expired = crlCoverageProblem(der(Buffer.concat([caCrl, clientsCrlExpired])), cas);
  t.match(expired, { kind: 'expired', key: 'tls.client_ca' }, 'the client CA\'s CRL is past its nextUpdate');
  t.ok(expired?.kind === 'expired' && expired.nextUpdate < Date.now() && expired.nextUpdate > Date.now() - 2 * 24 * 3600 * 1000, 'with its nextUpdate');
  t.equal(crlCoverageProblem(der(Buffer.concat([caCrl, clientsCrlExpired, clientsCrl])), cas), null, 'a current CRL beside an expired one will do');
  t.equal(crlSummary(der(caCrl)[0]!).nextUpdate! > Date.now(), true);
});

void t.test("a CRL under a CA's name that its key did not sign, or dated ahead, is refused: OpenSSL would refuse every certificate of that CA", async (t) => {
  // Two CAs named alike, as deploy.md's recipe names every CA: staging's CRL is not prod's.
  certs.makeCa('prod', { cn: 'controller-ca' });
  certs.makeCa('staging', { cn: 'controller-ca' });
  const der = (file: string): Buffer[] => pemCrls(fs.readFileSync(file)).map((b) => Buffer.from(b.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64'));
  const prod = pemCertificates(fs.readFileSync(path.join(dir, 'prod.crt')));
  const staging = pemCertificates(fs.readFileSync(path.join(dir, 'staging.crt')));
  const prodCrl = der(certs.crl('prod'));
  const stagingCrl = der(certs.crl('staging'));
  t.equal(crlCoverageProblem(prodCrl, [['tls.ca', prod]]), null, "prod's own CRL");
  t.match(crlCoverageProblem(stagingCrl, [['tls.ca', prod]]), { kind: 'wrong-signer', key: 'tls.ca' }, "staging's CRL under prod's name");
  t.match(crlCoverageProblem([...prodCrl, ...stagingCrl], [['tls.ca', prod]]), { kind: 'wrong-signer' }, 'even beside the right one: OpenSSL may pick either');
  t.equal(crlCoverageProblem([...prodCrl, ...stagingCrl], [['tls.ca', [...prod, ...staging]]]), null, 'both CAs configured, each with its CRL');
  t.match(crlCoverageProblem(prodCrl, [['tls.ca', [...prod, ...staging]]]), { kind: 'missing', ca: staging[0] }, 'both configured, one CRL: the other CA has none');
  const future = der(certs.crl('prod', { future: true }));
  const ahead = crlCoverageProblem(future, [['tls.ca', prod]]);
  t.match(ahead, { kind: 'not-yet-valid', key: 'tls.ca' }, 'issued two days ahead');
  t.ok(ahead?.kind === 'not-yet-valid' && ahead.thisUpdate > Date.now() + 24 * 3600 * 1000, 'with its thisUpdate');
});

void t.test('ctl names a revocation alert as such', async (t) => {
  t.match(describeTlsFailure('14 UNAVAILABLE: error:0A000414:SSL routines::sslv3 alert certificate revoked:SSL alert number 44'), /^TLS: a certificate has been revoked/);
  t.match(describeTlsFailure('certificate has expired'), /^TLS: a certificate has expired/, 'other causes unchanged');
});
