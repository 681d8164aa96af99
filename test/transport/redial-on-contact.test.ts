/**
 * A link whose dials failed waits out grpc-js's reconnect backoff (up to 1 s) before it tries
 * again. When the peer starts (a member added again, a restart), it asks its peers before it
 * serves and then reaches them first; the link to it was found still backing off, and every
 * peer read it silent for up to a second more. A peer's authenticated contact now gives a
 * backing-off link a new connection at once, at most once per max backoff per peer.
 */
// run-tests: waits (most of its time is grpc-js's backoff growing and a paced run of contacts)
import net from 'node:net';
import t from 'tap';
import { waitFor } from '../helpers/wait-for.js';
import { startNode, type TestNode } from './harness.js';

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

/**
 * A port in front of a node that, while shut, drops every connection as it comes (as the
 * address of a member that does not run yet answers through a proxy), counting the attempts,
 * when the last one came, and the connections it passes on that are still open.
 */
async function gate(t: Test): Promise<{ address: string; attempts: () => number; lastAttemptAt: () => number; passedOpen: () => number; open: (to: TestNode) => void }> {
  let target: string | null = null;
  let attempts = 0;
  let lastAttemptAt = 0;
  const sockets = new Set<net.Socket>();
  const passed = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    attempts += 1;
    lastAttemptAt = performance.now();
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (target === null) {
      socket.resetAndDestroy();
      return;
    }
    passed.add(socket);
    socket.on('close', () => passed.delete(socket));
    const [host, port] = target.split(':');
    const upstream = net.connect(Number(port), host);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const bound = server.address();
  if (bound === null || typeof bound === 'string') throw new Error('no port');
  return {
    address: `127.0.0.1:${bound.port}`,
    attempts: () => attempts,
    lastAttemptAt: () => lastAttemptAt,
    passedOpen: () => passed.size,
    open: (to) => {
      target = to.address;
    },
  };
}

async function node(t: Test, id: string): Promise<TestNode> {
  const n = await startNode({ id });
  t.teardown(() => n.stop());
  return n;
}

void t.test('a peer that starts and reaches us is dialled at once, not at the end of our backoff', async (t) => {
  const door = await gate(t);
  const n2 = await node(t, 'n2');
  // The door opens as n2's ping reaches n1 (after the transport's checks, before the answer):
  // until then every dial of n1's fails, so only the redial can connect, whatever the timing.
  const n1 = await startNode({
    id: 'n1',
    options: {
      onHeartbeat: (_from, payload) => {
        door.open(n2);
        return payload;
      },
    },
  });
  t.teardown(() => n1.stop());
  n1.transport.setPeer('n2', door.address);
  await t.rejects(n1.transport.ping('n2', new Uint8Array(0), 2000), 'n2 does not run yet');
  // Six attempts in: the next one waits a full backoff (1 s, +-20%).
  await waitFor(() => door.attempts() >= 6, "n1's dials to back off to the longest wait", 10_000);
  n2.transport.setPeer('n1', n1.address);
  const lastShutAttempt = door.lastAttemptAt();
  await n2.transport.ping('n1', new Uint8Array(0), 2000);
  t.equal(n1.transport.redialsOnContact, 1, "n2's ping gave n1's link to it a new connection");
  const pong = await n1.transport.ping('n2', new TextEncoder().encode('up'), 2000);
  t.strictSame(pong.payload, new TextEncoder().encode('up'), 'n1 reaches n2 on it at once (a link still backing off fails its calls at once)');
  t.ok(door.attempts() >= 7, `the new connection went through the opened door (${door.attempts()} attempts)`);
  // The closed link's channel had its next attempt due within 1.2 s of its last (1 s +-20%). It
  // made it all the same, connected through the opened door, and that connection stayed open,
  // owned by nobody. Waited out, not awaited: what is asserted is that nothing comes.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, lastShutAttempt + 1400 - performance.now())));
  t.equal(door.passedOpen(), 1, `one connection from n1 to n2 open, the new link's (${door.attempts()} attempts)`);
});

void t.test('a peer that reaches us while our dials to it keep failing: one new connection a second at most, attempts near the backoff, one unreachable report', async (t) => {
  const door = await gate(t);
  const n1 = await node(t, 'n1');
  const n2 = await node(t, 'n2');
  // n1 dials n2 at a door that stays shut (a one-way cut); n2 reaches n1 directly.
  n1.transport.setPeer('n2', door.address);
  n2.transport.setPeer('n1', n1.address);
  await t.rejects(n1.transport.ping('n2', new Uint8Array(0), 2000));
  await waitFor(() => door.attempts() >= 2, "n1's dials to fail and back off");
  const started = performance.now();
  let pings = 0;
  let attemptsAtSecondRedial: number | null = null;
  while (performance.now() - started < 2500) {
    // n1 keeps calling n2 (its membership pings and Raft messages would), so each new link fails and backs off again.
    await n1.transport.ping('n2', new Uint8Array(0), 2000).catch(() => undefined);
    n1.transport.send([{ type: 'Heartbeat', from: 'n1', to: 'n2', term: 1, commit: 0, context: '' }]);
    await n2.transport.ping('n1', new Uint8Array(0), 2000);
    pings += 1;
    if (attemptsAtSecondRedial === null && n1.transport.redialsOnContact >= 2) attemptsAtSecondRedial = door.attempts();
    // Paced as a member's pings are (every 125-500 ms), but faster, not a busy loop.
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const elapsed = performance.now() - started;
  const most = 1 + Math.floor(elapsed / 1000);
  t.ok(pings >= 20, `${pings} pings from n2 in ${Math.round(elapsed)} ms`);
  t.ok(n1.transport.redialsOnContact >= 1, `a new connection was tried (${n1.transport.redialsOnContact})`);
  t.ok(n1.transport.redialsOnContact <= most, `${n1.transport.redialsOnContact} new connections, at most ${most} in ${Math.round(elapsed)} ms`);
  // From the second redial on: one attempt each, and at most one of the backoff's between them.
  // A new channel's schedule on every redial made 6-7 here (0.1, 0.26, 0.5, 0.9 s after a
  // failure), and each closed channel one attempt more after it was closed.
  const late = door.attempts() - (attemptsAtSecondRedial ?? door.attempts());
  t.ok(attemptsAtSecondRedial !== null && late <= 3, `${late} connection attempts from the second redial on (${door.attempts()} in all): a redial after one that never connected waits the longest backoff`);
  t.equal(n1.unreachable.filter((p) => p === 'n2').length, 1, 'n2 reported unreachable once for the whole streak, not once per new connection');
});

void t.test('contact over a working link changes nothing', async (t) => {
  const n1 = await node(t, 'n1');
  const n2 = await node(t, 'n2');
  n1.transport.setPeer('n2', n2.address);
  n2.transport.setPeer('n1', n1.address);
  await n1.transport.ping('n2', new Uint8Array(0), 5000);
  for (let i = 0; i < 20; i++) await n2.transport.ping('n1', new Uint8Array(0), 5000);
  t.equal(n1.transport.redialsOnContact, 0, 'no new connection for a peer already connected');
  t.strictSame(n1.unreachable, [], 'and nothing reported unreachable');
});
