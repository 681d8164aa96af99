/**
 * The gRPC port's header block limit (src/transport/header-list-cap.ts): announced in the port's
 * HTTP/2 settings, a call whose metadata is past it is refused, one under it is served, and a
 * server without the cap (grpc-js and Node's defaults) takes the same 16 KB block: what the cap
 * changes. A client that never acknowledges the SETTINGS is not bound by them; the base call's
 * guard refuses its call all the same. A grpc-js server on the controller's own listener, as
 * controller-node.ts makes it.
 */
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { GuardedListener } from '../../src/transport/guarded-listener.js';
import { baseCallGuard } from '../../src/transport/base-call-guard.js';
import { capHeaderList, MAX_HEADER_LIST_BYTES } from '../../src/transport/header-list-cap.js';
import { freePorts } from '../helpers/free-ports.js';
import { RawH2Client } from '../helpers/h2-raw-client.js';
import { waitFor } from '../helpers/wait-for.js';

const ECHO = '/test.Echo/Echo';
const bytes = { requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };

function echoServer(opts: grpc.ServerOptions = {}, served: string[] = []): grpc.Server {
  const srv = new grpc.Server({ 'grpc.max_concurrent_streams': 16, ...opts });
  const echo = (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>): void => {
    served.push(call.request.toString());
    cb(null, call.request);
  };
  srv.addService({ Echo: { path: ECHO, requestStream: false, responseStream: false, ...bytes } }, { Echo: echo });
  return srv;
}

/** `bytes` of header fields, 1 KB each. */
function padding(bytes: number, tag: string): Array<[string, string]> {
  const fields: Array<[string, string]> = [];
  for (let i = 0; i * 1024 < bytes; i++) fields.push([`x-pad-${i}`, `${tag}-`.padEnd(Math.min(1024, bytes - i * 1024), 'p')]);
  return fields;
}

async function serve(t: Test, server: grpc.Server): Promise<string> {
  const address = `127.0.0.1:${(await freePorts(1))[0]!}`;
  const listener = await GuardedListener.listen(address, { server, tls: null });
  t.teardown(async () => {
    server.forceShutdown();
    listener.destroyAll();
    await listener.close();
  });
  return address;
}

/** One call carrying `padBytes` of metadata (in 1 KB fields, as a client with many entries would); its error code, or 'ok'. */
function callWith(client: grpc.Client, padBytes: number): Promise<number | 'ok'> {
  const md = new grpc.Metadata();
  for (let i = 0; i * 1024 < padBytes; i++) md.set(`x-pad-${i}`, 'p'.repeat(Math.min(1024, padBytes - i * 1024)));
  return new Promise((resolve) => {
    client.makeUnaryRequest(ECHO, (b: Buffer) => b, (b: Buffer) => b, Buffer.from('hi'), md, { deadline: Date.now() + 10_000 }, (err) => resolve(err ? err.code : 'ok'));
  });
}

function client(t: Test, address: string): grpc.Client {
  const c = new grpc.Client(address, grpc.credentials.createInsecure());
  t.teardown(() => c.close());
  return c;
}

void t.test('the port announces the cap, refuses a call past it and serves one under it', async (t) => {
  const address = await serve(t, capHeaderList(echoServer()));
  const session = http2.connect(`http://${address}`);
  session.on('error', () => undefined);
  const settings = await new Promise<http2.Settings>((resolve) => session.once('remoteSettings', resolve));
  session.destroy();
  t.equal(settings.maxHeaderListSize, MAX_HEADER_LIST_BYTES, 'SETTINGS_MAX_HEADER_LIST_SIZE is the cap');
  t.equal(settings.maxConcurrentStreams, 16, "the server's own settings are kept beside it");

  t.equal(await callWith(client(t, address), 4 * 1024), 'ok', 'a call with 4 KB of metadata is served');
  t.not(await callWith(client(t, address), 16 * 1024), 'ok', 'a call with 16 KB of metadata is refused');
  t.equal(await callWith(client(t, address), 0), 'ok', 'and the port serves the next client');
});

void t.test('without the cap the same 16 KB call is served (what the cap changes)', async (t) => {
  const address = await serve(t, echoServer());
  t.equal(await callWith(client(t, address), 16 * 1024), 'ok', "grpc-js and Node's defaults take 16 KB of metadata");
});

void t.test('a client that never acknowledges the SETTINGS has its call past the cap refused by the guard', async (t) => {
  const served: string[] = [];
  let refused = 0;
  const guard = baseCallGuard({ onCompressed: () => undefined, onUnendedReset: () => undefined, onHeadersTooLarge: () => refused++ });
  const address = await serve(t, capHeaderList(echoServer({ interceptors: [guard] }, served)));
  const [host, port] = address.split(':') as [string, string];
  const raw = await RawH2Client.connect(host, Number(port));
  t.teardown(() => raw.close());
  raw.call(ECHO, padding(16 * 1024, 'big'), Buffer.from('big'));
  raw.call(ECHO, padding(4 * 1024, 'small'), Buffer.from('small'));
  await waitFor(() => served.includes('small'), 'the call under the cap served');
  await waitFor(() => refused === 1, 'the call past the cap refused');
  t.same(served, ['small'], 'no handler saw the 16 KB call, although its client never took the SETTINGS that announce the cap');
  t.equal(raw.seen.goaways.length, 0, 'the connection stays up');
});

void t.test('a grpc-js without the field it sets is an error naming the cause, not a silent 64 KiB', async (t) => {
  t.throws(() => capHeaderList({} as unknown as grpc.Server), /commonServerOptions/);
});
