/**
 * Unary answers written and not read are held to one budget for the port (unread-answers.ts):
 * past it the calls that began longest ago are reset, and the answers of clients that read are
 * delivered. Attack round 13: 300 unread Range answers of 3 MB on one connection took a one-node
 * controller from 106 MB to 979 MB.
 */
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { baseCallGuard } from '../../src/transport/base-call-guard.js';
import { wasResetByServer } from '../../src/transport/server-reset.js';
import { UnreadAnswers, type AnswerStream } from '../../src/transport/unread-answers.js';
import { waitFor } from '../helpers/wait-for.js';

const ANSWER_BYTES = 1024 * 1024;

void t.test('on a real server: unread unary answers past the budget are reset, oldest first; a client that reads gets its answer', async (t) => {
  let cut = 0;
  // Room for four answers (each a little over ANSWER_BYTES: its gRPC prefix); a sweep keeps two.
  const unread = new UnreadAnswers(4 * ANSWER_BYTES + 1024, () => void (cut += 1));
  const server = new grpc.Server({ interceptors: [baseCallGuard({ onCompressed: () => undefined, onUnendedReset: () => undefined, unread })] });
  const big: grpc.MethodDefinition<Buffer, Buffer> = { path: '/test.Big/Get', requestStream: false, responseStream: false, requestSerialize: (b) => b, requestDeserialize: (b) => b, responseSerialize: (b) => b, responseDeserialize: (b) => b };
  server.addService({ Get: big }, { Get: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.alloc(ANSWER_BYTES, 0x61)) });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1 });
  t.teardown(() => {
    client.close();
    session.destroy();
    server.forceShutdown();
  });
  // Twelve calls whose client never reads (streams paused: no WINDOW_UPDATE is sent).
  const reqs: http2.ClientHttp2Stream[] = [];
  const empty = Buffer.from([0, 0, 0, 0, 0]);
  for (let i = 0; i < 12; i++) {
    const req = session.request({ ':method': 'POST', ':path': big.path, 'content-type': 'application/grpc', te: 'trailers' });
    req.on('error', () => undefined);
    req.pause();
    req.end(empty);
    reqs.push(req);
  }
  // No sweep asked for: the answers written are judged as they are written.
  await waitFor(() => cut >= 8 && unread.sweep() === 0, 'the answers past the budget reset as they were written', 10_000);
  t.ok(unread.streams <= 4, `what is left fits the budget: ${unread.streams} answers`);
  // Their clients read now: the oldest find their streams reset, the newest their answers whole.
  const outcomes = await Promise.all(
    reqs.map(
      (r) =>
        new Promise<string>((resolve) => {
          let bytes = 0;
          r.on('data', (c: Buffer) => (bytes += c.length));
          r.on('close', () => resolve(r.rstCode === http2.constants.NGHTTP2_ENHANCE_YOUR_CALM ? 'reset' : `${bytes} bytes`));
          r.resume();
        }),
    ),
  );
  const resets = outcomes.filter((o) => o === 'reset').length;
  t.ok(resets >= 8 && resets === cut, `at least eight reset (ENHANCE_YOUR_CALM), each counted: ${resets}`);
  t.same(outcomes, [...Array<string>(resets).fill('reset'), ...Array<string>(12 - resets).fill(`${ANSWER_BYTES + 5} bytes`)], 'oldest first; the others answered whole');
  // A client that reads gets its answer whole, the unread ones notwithstanding.
  const answer = await new Promise<Buffer>((resolve, reject) => client.makeUnaryRequest(big.path, big.requestSerialize, big.responseDeserialize, Buffer.alloc(0), (e, b) => (e ? reject(e) : resolve(b!))));
  t.equal(answer.length, ANSWER_BYTES, 'a reader is answered');
  t.equal(unread.sweep(), 0);
});

void t.test("a cut of an unread answer is this server's reset, not the client's: it spends none of the connection's reset budget", (t) => {
  // Node emits 'aborted' for it as for a client's reset; the reset guard charges only the latter
  // (server-reset.ts), so a client whose young unread answers were cut was ended GOAWAY past 200.
  const closed: number[] = [];
  const stream: AnswerStream = { writableLength: 2048, destroyed: false, close: (code) => void closed.push(code), once: () => undefined };
  const unread = new UnreadAnswers(1024, () => undefined, () => undefined);
  unread.watch(stream);
  t.equal(unread.sweep(), 1, 'the answer over the budget is cut');
  t.same(closed, [http2.constants.NGHTTP2_ENHANCE_YOUR_CALM]);
  t.ok(wasResetByServer(stream), "remembered as this server's reset");
  t.end();
});
