/** Compressed requests are refused before grpc-js inflates them (src/transport/compression-gate.ts, in base-call-guard.ts). */
import t from 'tap';
import zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { REFUSED_ENCODING_DETAILS } from '../../src/transport/compression-gate.js';
import { baseCallGuard } from '../../src/transport/base-call-guard.js';

const bytes = (b: Buffer): Buffer => b;
const SERVICE: grpc.ServiceDefinition = {
  Echo: { path: '/test.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: bytes, requestDeserialize: bytes, responseSerialize: bytes, responseDeserialize: bytes },
};

void t.test('a gzip request is refused UNIMPLEMENTED before its message is read; an identity one is served', async (t) => {
  const received: number[] = [];
  let refusals = 0;
  const server = new grpc.Server({ interceptors: [baseCallGuard({ onCompressed: () => refusals++, onUnendedReset: () => undefined })] });
  server.addService(SERVICE, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      received.push(call.request.length);
      cb(null, Buffer.from('ok'));
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  const call = (options: grpc.ChannelOptions): Promise<grpc.ServiceError | null> => {
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), options);
    // 4 MiB of zeros: a few kilobytes gzipped.
    const request = Buffer.alloc(4 * 1024 * 1024 - 64);
    return new Promise((resolve) => {
      client.makeUnaryRequest(SERVICE['Echo']!.path, bytes, bytes, request, { deadline: Date.now() + 10_000 }, (err) => {
        client.close();
        resolve(err ?? null);
      });
    });
  };
  t.equal(zlib.gzipSync(Buffer.alloc(4 * 1024 * 1024)).length < 10_000, true, 'the request compresses a thousandfold');
  const gzip = await call({ 'grpc.default_compression_algorithm': 2 });
  t.equal(gzip?.code, grpc.status.UNIMPLEMENTED);
  t.equal(gzip?.details, REFUSED_ENCODING_DETAILS);
  const deflate = await call({ 'grpc.default_compression_algorithm': 1 });
  t.equal(deflate?.code, grpc.status.UNIMPLEMENTED);
  t.same(received, [], 'no handler saw a compressed request');
  t.equal(refusals, 2);
  t.equal(await call({}), null, 'uncompressed: served');
  t.same(received, [4 * 1024 * 1024 - 64]);
});
