/**
 * Each TLS failure `ctl` can meet ends in exit 3 and one stderr line that names TLS and the
 * cause: no client certificate, a CA it does not know (either side's), an expired certificate,
 * a name mismatch, and TLS where the server speaks none (or none where it requires it). The
 * servers here are TLS listeners that speak HTTP/2 after the handshake, so what is tested is
 * the handshake and ctl's reading of it.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { CertMaker } from '../helpers/certs.js';
import { freePorts } from '../helpers/free-ports.js';
import { nodeCommand } from '../helpers/node-command.js';
import { CTL_JS } from '../helpers/process-cluster.js';
import type { TlsFiles } from '../../src/transport/credentials.js';

interface Run {
  readonly code: number;
  readonly stderr: string;
}

function ctl(endpoint: string, env: Readonly<Record<string, string>>): Promise<Run> {
  return new Promise((resolve) => {
    const cmd = nodeCommand(CTL_JS, ['--endpoints', endpoint, '--timeout', '5s', 'status']);
    const p = spawn(cmd.command, cmd.args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: process.env['PATH'] ?? '', ...env },
    });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code) => resolve({ code: code ?? -1, stderr }));
  });
}

/** An HTTP/2 server over TLS with `server`'s certificate, asking clients for one from `clientCa`. */
async function tlsServer(t: { teardown(fn: () => unknown): void }, server: TlsFiles, clientCa: string | null): Promise<string> {
  const srv = http2.createSecureServer({
    key: fs.readFileSync(server.key),
    cert: fs.readFileSync(server.cert),
    ...(clientCa === null ? {} : { ca: fs.readFileSync(clientCa), requestCert: true, rejectUnauthorized: true }),
  });
  srv.on('stream', (stream) => stream.respond({ ':status': 404 }));
  srv.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', () => resolve()));
  const sockets = new Set<net.Socket>();
  srv.on('connection', (s: net.Socket) => sockets.add(s));
  t.teardown(() => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); srv.close(() => resolve()); }));
  return `127.0.0.1:${(srv.address() as net.AddressInfo).port}`;
}

void t.test('every TLS failure: exit 3, one line naming TLS and the cause', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctl-tls-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const certs = new CertMaker(dir);
  certs.makeCa('cluster-ca');
  certs.makeCa('other-ca');
  const node = certs.makeCert('cluster-ca', 'node');
  const operator = certs.makeCert('cluster-ca', 'operator');
  const stranger = certs.makeCert('other-ca', 'stranger');
  const expired = certs.makeCert('cluster-ca', 'expired', { days: -1 });
  const elsewhere = certs.makeCert('cluster-ca', 'elsewhere', { san: 'DNS:elsewhere.example' });
  const asOperator = { CTL_TLS_CA: node.ca, CTL_TLS_CERT: operator.cert, CTL_TLS_KEY: operator.key };

  const mutual = await tlsServer(t, node, node.ca);
  const cases: ReadonlyArray<readonly [string, string, Readonly<Record<string, string>>, RegExp]> = [
    ['no client certificate', mutual, { CTL_TLS_CA: node.ca }, /TLS: .*(client certificate|did not accept our certificate)/],
    ['no TLS at all', mutual, {}, /TLS: .*requires TLS/],
    ['our certificate from a CA the server does not know', mutual, { ...asOperator, CTL_TLS_CERT: stranger.cert, CTL_TLS_KEY: stranger.key }, /TLS: .*(unknown CA|did not accept our certificate)/],
    ["the server's certificate from a CA we do not know", await tlsServer(t, stranger, null), asOperator, /TLS: a certificate signed by an unknown CA/],
    ["the server's certificate expired", await tlsServer(t, expired, null), asOperator, /TLS: a certificate has expired \(the server's, or ours as the server says\), or a clock is wrong/],
    ["the server's certificate names another host", await tlsServer(t, elsewhere, null), asOperator, /TLS: name mismatch/],
  ];
  for (const [what, endpoint, env, pattern] of cases) {
    const run = await ctl(endpoint, env);
    t.equal(run.code, 3, `${what}: exit 3`);
    t.equal(run.stderr.trim().split('\n').length, 1, `${what}: one line`);
    t.match(run.stderr, pattern, `${what}: ${run.stderr.trim()}`);
  }
  // Nothing listening: exit 3 too, and no TLS story, with TLS settings or without.
  const [free] = await freePorts(1);
  for (const env of [{}, asOperator]) {
    const refused = await ctl(`127.0.0.1:${free}`, env);
    t.equal(refused.code, 3);
    t.notMatch(refused.stderr, /TLS/, `a refused connection is not blamed on TLS: ${refused.stderr.trim()}`);
  }
});
