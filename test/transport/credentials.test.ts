// run-tests: waits (most of its time is a silent connection waiting out the TLS handshake deadline: run beside the CPU-bound files)
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { mutualTlsCredentials, TLS_HANDSHAKE_TIMEOUT_MS } from '../../src/transport/credentials.js';
import { encodeMessage } from '../../src/transport/codec.js';
import { TransportError } from '../../src/transport/errors.js';
import { raftPeerMethod, raftPeerService } from '../../src/transport/wire.js';
import { CertMaker } from '../helpers/certs.js';
import { waitFor } from '../helpers/wait-for.js';
import { startNode } from './harness.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'transport-tls-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

const certs = new CertMaker(dir);
certs.makeCa('ca1');
certs.makeCa('ca2');
const n1Files = certs.makeCert('ca1', 'n1');
const n2Files = certs.makeCert('ca1', 'n2');
const rogueFiles = certs.makeCert('ca2', 'n3');

/** A Step call with hand-picked channel credentials; resolves to the error, or null. */
function stepWith(address: string, creds: grpc.ChannelCredentials): Promise<grpc.ServiceError | null> {
  const client = new (raftPeerService())(address, creds);
  const def = raftPeerMethod('Step');
  const request = {
    cluster: 'test',
    from: 'n3',
    to: 'n2',
    messages: [encodeMessage({ type: 'TimeoutNow', from: 'n3', to: 'n2', term: 1 })],
  };
  return new Promise((resolve) => {
    client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, request, { deadline: Date.now() + 5000 }, (err) => {
      client.close();
      resolve(err ?? null);
    });
  });
}

const read = (file: string): Buffer => fs.readFileSync(file);

void t.test('nodes with certificates from the cluster CA exchange messages over mTLS', async (t) => {
  const n1 = await startNode({ id: 'n1', credentials: mutualTlsCredentials(n1Files) });
  const n2 = await startNode({ id: 'n2', credentials: mutualTlsCredentials(n2Files) });
  t.teardown(() => {
    n1.stop();
    n2.stop();
  });
  n1.transport.setPeer('n2', n2.address);
  n1.transport.send([{ type: 'TimeoutNow', from: 'n1', to: 'n2', term: 2 }]);
  await waitFor(() => n2.received.length === 1, 'delivery over mTLS');
  const pong = await n1.transport.ping('n2', new Uint8Array([1]), 5000);
  t.strictSame(pong.payload, new Uint8Array([1]));
});

void t.test('a client whose certificate comes from another CA is refused', async (t) => {
  const n2 = await startNode({ id: 'n2', credentials: mutualTlsCredentials(n2Files) });
  t.teardown(() => n2.stop());
  const control = await stepWith(n2.address, grpc.credentials.createSsl(read(n1Files.ca), read(n1Files.key), read(n1Files.cert)));
  t.equal(control, null, 'the same call with a cluster certificate goes through');
  t.equal(n2.received.length, 1);
  // Trusts the right CA, so only the server's check of the client certificate can fail.
  const err = await stepWith(n2.address, grpc.credentials.createSsl(read(n1Files.ca), read(rogueFiles.key), read(rogueFiles.cert)));
  t.equal(err?.code, grpc.status.UNAVAILABLE, `refused: ${err?.details ?? 'accepted'}`);

  const rogue = await startNode({ id: 'n3', credentials: mutualTlsCredentials(rogueFiles) });
  t.teardown(() => rogue.stop());
  rogue.transport.setPeer('n2', n2.address);
  rogue.transport.send([{ type: 'TimeoutNow', from: 'n3', to: 'n2', term: 1 }]);
  await waitFor(() => rogue.transport.stats().dropped === 1, 'the rogue node to fail');
  t.strictSame(rogue.unreachable, ['n2']);
  t.equal(n2.received.length, 1, 'nothing from the rogue clients');
});

void t.test('a client without a certificate, or without TLS, is refused', async (t) => {
  const n2 = await startNode({ id: 'n2', credentials: mutualTlsCredentials(n2Files) });
  t.teardown(() => n2.stop());
  const noCert = await stepWith(n2.address, grpc.credentials.createSsl(read(n1Files.ca)));
  t.equal(noCert?.code, grpc.status.UNAVAILABLE, `no client certificate: ${noCert?.details ?? 'accepted'}`);
  const plain = await stepWith(n2.address, grpc.credentials.createInsecure());
  t.equal(plain?.code, grpc.status.UNAVAILABLE, `plaintext: ${plain?.details ?? 'accepted'}`);
  t.equal(n2.received.length, 0);
});

void t.test('a missing TLS file is reported with its path', async (t) => {
  const missing = path.join(dir, 'nope.crt');
  let caught: unknown = null;
  try {
    mutualTlsCredentials({ ...n1Files, cert: missing });
  } catch (err) {
    caught = err;
  }
  t.ok(caught instanceof TransportError);
  t.match(caught, { code: 'TLS_FILE', message: /expected a readable PEM certificate at .*nope\.crt/ });
});

void t.test('a connection that never starts its TLS handshake is closed after TLS_HANDSHAKE_TIMEOUT_MS, not Node\'s 120 s', async (t) => {
  const node = await startNode({ id: 'n1', credentials: mutualTlsCredentials(n1Files) });
  t.teardown(() => node.stop());
  const [host, port] = node.address.split(':');
  const socket = net.connect(Number(port), host);
  socket.on('error', () => undefined);
  const opened = Date.now();
  const closedAfter = await new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - opened)));
  t.ok(closedAfter >= TLS_HANDSHAKE_TIMEOUT_MS - 1000, `closed by the server after ${closedAfter} ms of silence`);
  t.ok(closedAfter < 60_000, 'well before Node\'s default of 120 s');
});
