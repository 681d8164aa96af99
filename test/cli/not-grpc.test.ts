/**
 * `ctl` dialling a port that answers but is no gRPC server (a metrics port, say) says so, naming
 * the address, in one line with exit 3; over TLS, a server that refuses HTTP/2 is told the same
 * way. Failures that are not about the protocol keep their own words.
 */
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { CertMaker } from '../helpers/certs.js';
import { freePorts } from '../helpers/free-ports.js';
import { CTL_JS } from '../helpers/process-cluster.js';
import { runToExit, type RunResult } from '../helpers/run-to-exit.js';
import { describeHttpStatus, describeNotGrpc } from '../../src/api/not-grpc.js';

type Server = http.Server | https.Server | http2.Http2SecureServer | http2.Http2Server;

/** `ctl --endpoints endpoint kv put x y`, with only `env`'s TLS settings (none of the caller's). */
function ctlPut(endpoint: string, env: Readonly<Record<string, string>> = {}): Promise<RunResult> {
  return runToExit(CTL_JS, ['--endpoints', endpoint, '--timeout', '5s', 'kv', 'put', 'x', 'y'], 'ctl kv put', 30_000, { PATH: process.env['PATH'] ?? '', ...env });
}

/** Listens on an ephemeral loopback port until the test ends; returns host:port. */
async function serve(t: { teardown(fn: () => unknown): void }, srv: Server): Promise<string> {
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(() => new Promise<void>((resolve) => srv.close(() => resolve())));
  return `127.0.0.1:${(srv.address() as net.AddressInfo).port}`;
}

void t.test('an HTTP/1.1 server dialled without TLS: exit 3, "does not speak gRPC" naming it', async (t) => {
  const endpoint = await serve(t, http.createServer((_req, res) => res.end('# metrics\n')));
  const run = await ctlPut(endpoint);
  t.equal(run.code, 3, run.stderr);
  t.equal(run.stderr.trim().split('\n').length, 1, 'one line');
  t.match(run.stderr, `ctl: ${endpoint} does not speak gRPC: it answered, but not in HTTP/2 (is it a metrics port? dial the controller's client address`);
  t.notMatch(run.stderr, /Protocol error|TLS/, 'no raw HTTP/2 error, no TLS story');
});

void t.test('ops55: an HTTP/2 server that is no gRPC server (a 404): exit 3, "does not speak gRPC", and the next endpoint is tried', async (t) => {
  const notFound = (): http2.Http2Server =>
    http2.createServer((_req, res) => {
      res.statusCode = 404;
      res.end();
    });
  const first = await serve(t, notFound());
  const second = await serve(t, notFound());
  const run = await runToExit(CTL_JS, ['--endpoints', `${first},${second}`, '--timeout', '5s', 'status'], 'ctl status', 30_000, { PATH: process.env['PATH'] ?? '' });
  t.equal(run.code, 3, run.stderr);
  t.equal(run.stderr.trim().split('\n').length, 1, 'one line');
  t.match(run.stderr, `ctl: ${first} does not speak gRPC: it answered in HTTP/2 with HTTP status 404, not a gRPC response`);
  t.match(run.stderr, `tried ${first} (not gRPC), ${second} (not gRPC)`, 'both endpoints tried: the first answer was not taken as final');
  t.notMatch(run.stderr, /TLS/, 'no TLS story for a plaintext answer');
  t.equal(describeHttpStatus('h:1', 'Received HTTP status code 503'), "h:1 does not speak gRPC: it answered in HTTP/2 with HTTP status 503, not a gRPC response (a web server or a proxy at that address? dial the controller's client address, its cluster.nodes[].address)");
  t.equal(describeHttpStatus('h:1', 'no answer: Received HTTP status code 404 somewhere'), null, "only grpc-js's own words");
});

void t.test('an HTTPS server that refuses HTTP/2: a TLS line naming it no gRPC server, with TLS settings or without', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctl-not-grpc-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const certs = new CertMaker(dir);
  certs.makeCa('ca');
  const files = certs.makeCert('ca', 'metrics');
  const endpoint = await serve(t, https.createServer({ key: fs.readFileSync(files.key), cert: fs.readFileSync(files.cert) }, (_req, res) => res.end('# metrics\n')));
  const settings: ReadonlyArray<Readonly<Record<string, string>>> = [{ CTL_TLS_CA: files.ca }, {}];
  for (const env of settings) {
    const run = await ctlPut(endpoint, env);
    t.equal(run.code, 3, run.stderr);
    t.match(run.stderr, /^ctl: TLS: the server speaks TLS but not HTTP\/2, so it is no gRPC server \(is it a metrics port\?/, run.stderr.trim());
  }
});

void t.test('other failures are not blamed on the protocol', async (t) => {
  const [free] = await freePorts(1);
  const refused = await ctlPut(`127.0.0.1:${free}`);
  t.equal(refused.code, 3);
  t.notMatch(refused.stderr, /gRPC|HTTP\/2/, `a refused connection: ${refused.stderr.trim()}`);

  // A TLS server that speaks HTTP/2, dialled without TLS: it requires TLS, it is not the wrong protocol.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctl-not-grpc-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const certs = new CertMaker(dir);
  certs.makeCa('ca');
  const files = certs.makeCert('ca', 'node');
  const tlsServer = http2.createSecureServer({ key: fs.readFileSync(files.key), cert: fs.readFileSync(files.cert) });
  tlsServer.on('tlsClientError', () => undefined);
  const run = await ctlPut(await serve(t, tlsServer));
  t.equal(run.code, 3);
  t.match(run.stderr, /TLS: the server requires TLS/);
  t.notMatch(run.stderr, /does not speak gRPC|not HTTP\/2/, run.stderr.trim());

  // grpc-js's words for a session that broke after it was set up, or a stream reset: not this.
  t.equal(describeNotGrpc('h:1', 'Received RST_STREAM with code 1 triggered by internal client error: Protocol error'), null);
  t.equal(describeNotGrpc('h:1', 'No connection established. Last error: Failed to connect (2026-01-01T00:00:00.000Z)'), null);
  t.match(describeNotGrpc('h:1', 'No connection established. Last error: Protocol error (2026-01-01T00:00:00.000Z)'), /^h:1 does not speak gRPC/);
});
