/**
 * Attack round 11 (A1): at HTTP/2's default 64 KiB window a Step batch of a few MiB needs a
 * WINDOW_UPDATE, and a turn of the sender's busy event loop, for every 64 KiB, so a leader in a
 * burst of large writes took seconds to get one batch (and the heartbeats queued behind it) to
 * an idle follower. A member's connection is widened to two of the largest batches
 * (peer-window.ts): a whole batch leaves the sender at once, whatever the receiver does next.
 */
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { peerChannelOptions } from '../../src/transport/peer-transport.js';
import { peerFlowWindowBytes, widenPeerSession } from '../../src/transport/peer-window.js';
import { waitFor } from '../helpers/wait-for.js';

const BATCH = 4 * 1024 * 1024;

/** Sends one batch on a stream the receiver never reads; resolves with the bytes the sender still buffers once sending stops. */
async function unsentAfterStall(widen: boolean): Promise<number> {
  const server = http2.createServer();
  const sessions: http2.ServerHttp2Session[] = [];
  server.on('session', (session) => sessions.push(session));
  server.on('stream', (stream) => {
    if (widen) widenPeerSession(stream.session, peerFlowWindowBytes(BATCH));
    stream.pause(); // a receiver that does not read: only what its windows allow can leave the sender
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  try {
    const stream = client.request({ ':method': 'POST' });
    stream.write(Buffer.alloc(BATCH, 1));
    let last = -1;
    let still = 0;
    // Sent bytes stop moving once the windows are used up (or everything is out).
    await waitFor(async () => {
      const now = stream.bufferSize;
      still = now === last ? still + 1 : 0;
      last = now;
      await new Promise((r) => setTimeout(r, 20));
      return still >= 10 || now === 0;
    }, 'sending to settle', 10_000);
    return last;
  } finally {
    client.destroy();
    for (const session of sessions) session.destroy();
    server.close();
  }
}

void t.test('a widened member connection takes a whole batch without waiting for the receiver', async (t) => {
  const narrow = await unsentAfterStall(false);
  t.ok(narrow > BATCH / 2, `at the default window most of it waits for the receiver (${narrow} bytes still buffered by the sender)`);
  const wide = await unsentAfterStall(true);
  t.equal(wide, 0, 'widened, all of it is sent');
});

void t.test('members dial with the same window', async (t) => {
  t.equal(peerChannelOptions(BATCH)['grpc-node.flow_control_window'], 2 * BATCH);
});
