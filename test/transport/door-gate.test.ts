/**
 * The door gate (door-gate.ts) on a real gRPC server: a judge that throws on a caller it cannot
 * read refuses that call (PERMISSION_DENIED, GATE_FAILED) instead of throwing out of the
 * interceptor, which took a controller down (attack round 10: a client certificate with an empty
 * subject); the server goes on serving.
 */
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { doorGate, GATE_FAILED } from '../../src/transport/door-gate.js';

const method: grpc.MethodDefinition<Buffer, Buffer> = {
  path: '/test.Echo/Echo',
  requestStream: false,
  responseStream: false,
  requestSerialize: (b) => b,
  requestDeserialize: (b) => b,
  responseSerialize: (b) => b,
  responseDeserialize: (b) => b,
};

/** The method whose caller the judge cannot read. */
const POISON = '/test.Echo/Poison';

void t.test('a judge that throws refuses the call it could not judge, and the server serves the next one', async (t) => {
  const refusedCodes: string[] = [];
  const gate = doorGate<'NO'>(
    (path) => {
      if (path === POISON) throw new TypeError("Cannot read properties of undefined (reading 'replace')");
      return null;
    },
    (code) => void refusedCodes.push(code),
  );
  const server = new grpc.Server({ interceptors: [gate] });
  const echo = (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>): void => cb(null, call.request);
  server.addService({ Echo: method, Poison: { ...method, path: POISON } }, { Echo: echo, Poison: echo });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  t.teardown(() => {
    client.close();
    server.forceShutdown();
  });
  const call = (poison: boolean): Promise<{ readonly err: grpc.ServiceError | null; readonly body: Buffer | null }> => {
    return new Promise((resolve) => client.makeUnaryRequest(poison ? POISON : method.path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from('hi'), new grpc.Metadata(), { deadline: Date.now() + 5000 }, (err, body) => resolve({ err: err ?? null, body: body ?? null })));
  };
  const poisoned = await call(true);
  t.equal(poisoned.err?.code, grpc.status.PERMISSION_DENIED);
  t.match(poisoned.err?.details, new RegExp(`^${GATE_FAILED}: the caller could not be judged \\(Cannot read properties of undefined`));
  t.same(refusedCodes, [], 'no refusal code of the judge is counted for it');
  const next = await call(false);
  t.equal(next.err, null, 'the server serves the next call');
  t.equal(next.body?.toString(), 'hi');
});
