/**
 * Bad input on the client API of a real controller: an oversized request, bytes that are not a
 * protobuf message, a status report about a stranger. Each gets a clear error; none changes
 * anything, and the cluster goes on serving.
 */
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { controllerServiceDefinition } from '../../src/api/controller-proto.js';
import { ApiError } from '../../src/api/errors.js';
import { ProcessCluster } from '../helpers/process-cluster.js';

/** A raw unary call on the client API with hand-made bytes; resolves to the error, or null. */
function rawCall(address: string, method: string, body: Buffer): Promise<grpc.ServiceError | null> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      `/controller.api.Controller/${method}`,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      { deadline: Date.now() + 5000 },
      (err) => {
        client.close();
        resolve(err ?? null);
      },
    );
  });
}

/** Hand-made messages on a raw KvSession; resolves with the decoded answers and how it ended. */
function rawSession(address: string, bodies: readonly Buffer[]): Promise<{ answers: Record<string, unknown>[]; error: grpc.ServiceError | null }> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const decode = controllerServiceDefinition().service['KvSession']!.responseDeserialize;
  const call = client.makeBidiStreamRequest('/controller.api.Controller/KvSession', (b: Buffer) => b, (b: Buffer) => b, { deadline: Date.now() + 5000 });
  const answers: Record<string, unknown>[] = [];
  return new Promise((resolve) => {
    const done = (error: grpc.ServiceError | null): void => {
      client.close();
      resolve({ answers, error });
    };
    call.on('data', (b: Buffer) => answers.push(decode(b) as Record<string, unknown>));
    call.on('error', (err: grpc.ServiceError) => done(err));
    call.on('end', () => done(null));
    for (const b of bodies) call.write(b);
    call.end();
  });
}

void t.test('oversized, malformed and unknown-member requests are refused clearly and change nothing', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 3, logLevel: 'info' });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.waitForLeader();
  const client = cluster.client();
  t.teardown(() => client.close());
  const before = await client.put('k', 'v1');

  // 5 MiB: the client refuses it before sending (over the 1 MiB value limit)...
  const big = await client.put('k', 'x'.repeat(5 << 20)).then(
    () => null,
    (e: unknown) => e,
  );
  t.type(big, ApiError, 'an oversized put is refused');
  t.match((big as ApiError).message, /field "value" must be at most 1048576 bytes, found 5242880/, `with a message that says why: ${(big as ApiError).message}`);
  // ...and a client that sends it anyway meets the server's 4 MiB max_message_bytes.
  const value = Buffer.alloc(5 << 20, 0x78);
  const length: number[] = [];
  for (let n = value.length; ; n >>>= 7) {
    if (n < 0x80) {
      length.push(n);
      break;
    }
    length.push((n & 0x7f) | 0x80);
  }
  const raw = await rawCall(cluster.addresses.get('c1')!, 'Put', Buffer.concat([Buffer.from([0x0a, 0x01, 0x6b, 0x12, ...length]), value]));
  t.equal(raw?.code, grpc.status.RESOURCE_EXHAUSTED, `the server refuses it unread (${raw?.code}: ${raw?.details})`);

  // Bytes that do not parse as a PutRequest (a field header announcing more bytes than follow).
  const address = cluster.addresses.get('c1')!;
  const garbage = await rawCall(address, 'Put', Buffer.from([0x0a, 0xff, 0xff, 0x03, 0x01]));
  t.ok(garbage !== null, 'a malformed request is refused');
  t.ok(garbage !== null && [grpc.status.INTERNAL, grpc.status.INVALID_ARGUMENT].includes(garbage.code), `with a gRPC error (${garbage?.code}: ${garbage?.details})`);

  const ghost = await client.get('\u0001').then(
    () => 'found',
    (e: unknown) => (e instanceof ApiError ? e.code : String(e)),
  );
  t.equal(ghost, 'NOT_FOUND', 'the truncated key was not written as a shorter one');

  // A status report on the client API: a controller-to-controller call, served by the peer
  // service for peer certificates only (issue 10), so any client is refused.
  const stranger = await rawCall(address, 'ReportStatus', Buffer.from([0x0a, 0x02, 0x7a, 0x7a, 0x12, 0x07, ...Buffer.from('offline')]));
  t.equal(stranger?.code, grpc.status.PERMISSION_DENIED, 'a status report from a client is refused');
  t.match(stranger?.details ?? '', /controller-to-controller call: it is served by controller\.peer\.RaftPeer\/ReportStatus/);

  // On a KvSession: an op this version does not know is answered INVALID_ARGUMENT, and the
  // session goes on serving; bytes that do not parse end the session with an error.
  const unknownOp = Buffer.from([0x08, 0x07, 0x10, 0x09, 0x22, 0x01, 0x6b]); // id 7, op 9, key "k"
  const getK = Buffer.from([0x08, 0x08, 0x10, 0x02, 0x22, 0x01, 0x6b]); // id 8, op GET, key "k"
  const served = await rawSession(address, [unknownOp, getK]);
  t.equal(served.error, null, 'the session ended cleanly');
  const byId = new Map(served.answers.map((a) => [a['id'], a]));
  t.equal(byId.get(7)?.['errorCode'], 'INVALID_ARGUMENT', 'an unknown op is refused as invalid');
  t.match(String(byId.get(7)?.['errorMessage']), /unknown KvSession op 9/);
  t.equal(byId.get(8)?.['errorCode'], '', 'and the next request on the session is served');
  t.equal(Buffer.from(byId.get(8)?.['value'] as Uint8Array).toString(), 'v1');
  // A key field announcing 255 bytes where one follows: refused, not cut short and written.
  const truncated = Buffer.from([0x08, 0x09, 0x10, 0x01, 0x22, 0xff, 0x01, 0x6b]);
  const broken = await rawSession(address, [truncated]);
  t.ok(broken.error !== null && [grpc.status.INTERNAL, grpc.status.INVALID_ARGUMENT].includes(broken.error.code), `a malformed session message fails the session (${broken.error?.code}: ${broken.error?.details})`);
  t.equal(broken.answers.length, 0, 'and nothing is answered for it');

  const now = await client.get('k');
  t.equal(Buffer.from(now.value).toString(), 'v1', 'the value is unchanged');
  t.equal(now.revision, before.revision, 'and so is its revision');
  const after = await client.put('k', 'v2');
  t.ok(after.revision > before.revision, 'the cluster keeps serving writes');
  const members = (await client.listControllers()).controllers.map((c) => c.id);
  t.same(members, ['c1', 'c2', 'c3'], 'no member was invented');
});

/** A Put sent as raw HTTP/2 that never ends its request; resolves with its gRPC status and how the server closed the stream. */
function unendedPut(address: string, key: string, value: string): Promise<{ status: string | null; rstCode: number | undefined }> {
  const encode = controllerServiceDefinition().service['Put']!.requestSerialize;
  const message = encode({ key, value: Buffer.from(value) });
  const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), message]);
  frame.writeUInt32BE(message.length, 1);
  const session = http2.connect(`http://${address}`);
  const stream = session.request({ ':method': 'POST', ':path': '/controller.api.Controller/Put', 'content-type': 'application/grpc', te: 'trailers' }, { endStream: false });
  stream.write(frame);
  let status: string | null = null;
  const statusOf = (headers: http2.IncomingHttpHeaders): void => {
    if (typeof headers['grpc-status'] === 'string') status = headers['grpc-status'];
  };
  stream.on('response', statusOf);
  stream.on('trailers', statusOf);
  stream.resume();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error('the Put that never half-closed was neither answered nor reset within 10 s'));
    }, 10_000);
    stream.on('close', () => {
      clearTimeout(timer);
      session.close();
      resolve({ status, rstCode: stream.rstCode });
    });
  });
}

void t.test('a put whose client never half-closes is served, then its stream is reset and counted', async (t) => {
  const cluster = await ProcessCluster.create({ nodes: 1, logLevel: 'info', metrics: true });
  t.teardown(() => cluster.stop());
  cluster.startAll();
  await cluster.waitForLeader();
  const client = cluster.client();
  t.teardown(() => client.close());
  const resets = async (): Promise<number> => {
    const text = await (await fetch(`http://${cluster.metricsAddresses.get('c1')!}/metrics`)).text();
    const line = /^client_streams_reset_unended_total\{node="c1"\} (\d+)$/m.exec(text);
    return line === null ? Number.NaN : Number(line[1]);
  };
  const before = await resets();
  const outcome = await unendedPut(cluster.addresses.get('c1')!, 'unended', 'held-open');
  t.equal(outcome.status, String(grpc.status.OK), 'the client has its answer before the reset');
  t.equal(outcome.rstCode, http2.constants.NGHTTP2_NO_ERROR, 'then the stream is reset, without error');
  t.equal((await resets()) - before, 1, 'and the reset counted');
  t.equal(Buffer.from((await client.get('unended')).value).toString(), 'held-open', 'the put was applied');
});
