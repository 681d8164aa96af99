/**
 * The server sends answers up to MAX_SEND_MESSAGE_BYTES whatever raft.max_message_bytes is, and
 * ctl's and agents' channels take them: a mesh whose whole configuration is over 4 MiB still
 * reaches agents and `ctl get`.
 */
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { AGENT_MAX_RECEIVE_BYTES } from '../../src/agent/agent-runner.js';
import { H2Connection, INSECURE } from '../../src/transport/h2-stream/index.js';
import { CLIENT_CHANNEL_OPTIONS } from '../../src/api/controller-proto.js';
import { peerServerOptions } from '../../src/transport/peer-transport.js';

const bytes = (b: Buffer): Buffer => b;
const PATH = '/test.Big/Get';
const CHAT_PATH = '/test.Big/Chat';
const SERVICE: grpc.ServiceDefinition = {
  Get: { path: PATH, requestStream: false, responseStream: false, requestSerialize: bytes, requestDeserialize: bytes, responseSerialize: bytes, responseDeserialize: bytes },
  Chat: { path: CHAT_PATH, requestStream: true, responseStream: true, requestSerialize: bytes, requestDeserialize: bytes, responseSerialize: bytes, responseDeserialize: bytes },
};
const TEN_MIB = 10 * 1024 * 1024;

void t.test('a 10 MiB answer from a server with 4 MiB peer messages reaches a ctl channel and an agent channel', async (t) => {
  const server = new grpc.Server(peerServerOptions(4 * 1024 * 1024));
  server.addService(SERVICE, {
    Get: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.alloc(TEN_MIB, 1)),
    Chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => call.on('data', () => call.write(Buffer.alloc(TEN_MIB, 2))),
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), CLIENT_CHANNEL_OPTIONS);
  const answer = await new Promise<Buffer | grpc.ServiceError>((resolve) =>
    client.makeUnaryRequest(PATH, bytes, bytes, Buffer.alloc(1), { deadline: Date.now() + 20_000 }, (err, res) => resolve(err ?? res!)),
  );
  client.close();
  t.equal(answer instanceof Buffer ? answer.length : (answer as grpc.ServiceError).details, TEN_MIB, 'ctl: the whole answer');
  const connection = new H2Connection(`127.0.0.1:${port}`, INSECURE, AGENT_MAX_RECEIVE_BYTES);
  t.teardown(() => connection.close());
  const call = connection.open('/test.Big/Chat', { encode: bytes, decode: bytes });
  const pushed = await new Promise<Buffer | Error>((resolve) => {
    call.on('data', resolve).on('error', resolve);
    call.write(Buffer.alloc(1));
  });
  call.cancel();
  t.equal(Buffer.isBuffer(pushed) ? pushed.length : (pushed as Error).message, TEN_MIB, 'agent: the whole message');
});
