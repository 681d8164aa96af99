/**
 * The proxy really cuts and delays traffic: plain TCP sockets on loopback, one per simulated
 * peer (told apart by their source address 127.0.0.x), through a proxy to a target server.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import t, { type Test } from 'tap';
import { seededRng } from '../../src/util/rng.js';
import { waitFor } from '../helpers/wait-for.js';
import { FaultProxy } from '../../chaos/fault-proxy.js';
import { LinkTable } from '../../chaos/link-faults.js';
import { pidOfLoopbackClient } from '../../chaos/proc-sockets.js';

/** The node behind the proxy: remembers what each accepted connection sent; echoes if asked. */
class Target {
  readonly received: Buffer[][] = [];
  readonly sockets: net.Socket[] = [];
  private constructor(readonly server: net.Server) {}

  static async start(echo: boolean): Promise<Target> {
    const server = net.createServer({ allowHalfOpen: true });
    const target = new Target(server);
    server.on('connection', (s) => {
      const got: Buffer[] = [];
      target.received.push(got);
      target.sockets.push(s);
      s.on('data', (d: Buffer) => {
        got.push(d);
        if (echo) s.write(d);
      });
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return target;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  bytes(i: number): string {
    return Buffer.concat(this.received[i] ?? []).toString();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Peers a, b connect from 127.0.0.2 and 127.0.0.3; anyone else is unknown. */
const PEER_BY_ADDRESS: Record<string, string> = { '127.0.0.2': 'a', '127.0.0.3': 'b' };

async function setup(t: Test, echo = true): Promise<{ links: LinkTable; proxy: FaultProxy; target: Target }> {
  const target = await Target.start(echo);
  const links = new LinkTable();
  const rng = seededRng(7);
  const proxy = await FaultProxy.start({
    node: 'n',
    listenHost: '127.0.0.1',
    listenPort: 0,
    targetHost: '127.0.0.1',
    targetPort: target.port,
    links,
    identify: (s) => PEER_BY_ADDRESS[s.remoteAddress ?? ''] ?? null,
    random: () => rng.next(),
  });
  t.teardown(async () => {
    await proxy.close();
    await target.close();
  });
  return { links, proxy, target };
}

class Client {
  readonly received: Buffer[] = [];
  closed = false;
  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => this.received.push(d));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  static async connect(port: number, from: string): Promise<Client> {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: from });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new Client(socket);
  }

  text(): string {
    return Buffer.concat(this.received).toString();
  }
}

/** For negative checks only: nothing can signal that a byte did NOT arrive. */
const quietly = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

void t.test('without faults, bytes pass both ways', async (t) => {
  const { proxy, target } = await setup(t);
  const a = await Client.connect(proxy.port, '127.0.0.2');
  a.socket.write('hello');
  await waitFor(() => a.text() === 'hello', 'the echo', 5000);
  t.equal(target.bytes(0), 'hello');
  t.same(proxy.sources(), ['a'], 'the connection is attributed to peer a');
  a.socket.destroy();
});

void t.test('delay holds each direction for the configured time', async (t) => {
  const { links, proxy } = await setup(t);
  const a = await Client.connect(proxy.port, '127.0.0.2');
  const rtt = async (): Promise<number> => {
    const before = a.text().length;
    const started = performance.now();
    a.socket.write('x');
    await waitFor(() => a.text().length > before, 'the echo', 5000);
    return performance.now() - started;
  };
  // The delay is a lower bound the proxy enforces. Without a delay nothing is held back, which
  // the proxy counts: no upper bound on wall-clock time, which a loaded machine can exceed.
  const both = 180;
  await rtt();
  t.equal(proxy.stats.chunksHeld, 0, 'not held back without a delay');
  links.setDelay(['a'], ['n'], { minMs: 100, maxMs: 100 });
  links.setDelay(['n'], ['a'], { minMs: 80, maxMs: 80 });
  const slow = await rtt();
  t.ok(slow >= both - 2, `a round trip takes both delays (${slow.toFixed(0)}ms)`);
  t.equal(proxy.stats.chunksHeld, 2, 'held once each way');
  links.setDelay(['a'], ['n'], null);
  links.setDelay(['n'], ['a'], null);
  await rtt();
  t.equal(proxy.stats.chunksHeld, 2, 'not held back once the delay is removed');
  a.socket.destroy();
});

void t.test('a rate cap slows a direction down without losing anything', async (t) => {
  const { links, proxy, target } = await setup(t, false);
  links.setRate(['a'], ['n'], 20_000);
  const a = await Client.connect(proxy.port, '127.0.0.2');
  const payload = 'x'.repeat(10_000);
  const started = performance.now();
  a.socket.write(payload);
  await waitFor(() => target.bytes(0).length === payload.length, 'all 10 kB to arrive', 10000);
  const ms = performance.now() - started;
  t.ok(ms >= 400, `10 kB at 20 kB/s took ${ms.toFixed(0)}ms (at least the cap allows)`);
  t.equal(target.bytes(0), payload, 'byte for byte');
  a.socket.destroy();
});

void t.test('jitter never reorders the bytes of one connection', async (t) => {
  const { links, proxy } = await setup(t);
  links.setDelay(['a'], ['n'], { minMs: 0, maxMs: 60 });
  links.setDelay(['n'], ['a'], { minMs: 0, maxMs: 60 });
  const a = await Client.connect(proxy.port, '127.0.0.2');
  let sent = '';
  for (let i = 0; i < 300; i++) {
    const piece = `${i},`;
    sent += piece;
    a.socket.write(piece);
    if (i % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await waitFor(() => a.text().length === sent.length, 'all bytes echoed', 10000);
  t.equal(a.text(), sent, 'the echo is byte-for-byte what was sent, in order');
  a.socket.destroy();
});

void t.test('a one-way cut blackholes that direction only, and heals by reconnecting', async (t) => {
  const { links, proxy, target } = await setup(t, false);
  const a = await Client.connect(proxy.port, '127.0.0.2');
  a.socket.write('before;');
  await waitFor(() => target.bytes(0) === 'before;', 'the first bytes', 5000);
  links.setCut(['a'], ['n'], true);
  a.socket.write('during;');
  await quietly(300);
  t.equal(target.bytes(0), 'before;', 'bytes from a to the node are dropped');
  target.sockets[0]!.write('reply');
  await waitFor(() => a.text() === 'reply', 'the node -> a direction to still deliver', 5000);
  t.notOk(a.closed, 'the socket stays open during the cut (silence, not a reset)');
  links.setCut(['a'], ['n'], false);
  await waitFor(() => a.closed, 'the broken connection to be closed on heal', 5000);
  t.equal(target.bytes(0), 'before;', 'nothing dropped is delivered late');
  const again = await Client.connect(proxy.port, '127.0.0.2');
  again.socket.write('after;');
  await waitFor(() => target.bytes(1) === 'after;', 'a new connection to pass', 5000);
  t.equal(proxy.stats.closedOnHeal, 1);
  t.ok(proxy.stats.bytesDropped >= 'during;'.length);
  again.socket.destroy();
});

void t.test('a cut of a -> n leaves b and unknown clients alone', async (t) => {
  const { links, proxy, target } = await setup(t);
  links.setCut(['a'], ['n'], true);
  links.setCut(['n'], ['a'], true);
  const a = await Client.connect(proxy.port, '127.0.0.2');
  const b = await Client.connect(proxy.port, '127.0.0.3');
  const other = await Client.connect(proxy.port, '127.0.0.9');
  a.socket.write('from-a');
  b.socket.write('from-b');
  other.socket.write('from-other');
  await waitFor(() => b.text() === 'from-b' && other.text() === 'from-other', 'b and the unknown client to be echoed', 5000);
  await quietly(200);
  t.equal(a.text(), '', 'a hears nothing');
  t.notOk(target.received.some((r) => Buffer.concat(r).toString() === 'from-a'), 'the node never got a\'s bytes');
  t.equal(proxy.stats.unidentified, 1, 'one connection came from an unknown process');
  for (const c of [a, b, other]) c.socket.destroy();
});

void t.test('a node that closes behind a cut is not seen to close until the heal', async (t) => {
  const { links, proxy, target } = await setup(t, false);
  const a = await Client.connect(proxy.port, '127.0.0.2');
  a.socket.write('x');
  await waitFor(() => target.bytes(0) === 'x', 'the connection to reach the node', 5000);
  links.setCut(['n'], ['a'], true);
  target.sockets[0]!.destroy();
  await quietly(300);
  t.notOk(a.closed, 'a still waits: the close could not cross the cut');
  links.setCut(['n'], ['a'], false);
  await waitFor(() => a.closed, 'the close to arrive after the heal', 5000);
});

void t.test('a dead target resets the connection when nothing is cut', async (t) => {
  const links = new LinkTable();
  const free = net.createServer();
  await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
  const deadPort = (free.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => free.close(() => resolve()));
  const proxy = await FaultProxy.start({
    node: 'n',
    listenHost: '127.0.0.1',
    listenPort: 0,
    targetHost: '127.0.0.1',
    targetPort: deadPort,
    links,
    identify: () => 'a',
    random: () => 0,
  });
  t.teardown(() => proxy.close());
  const a = await Client.connect(proxy.port, '127.0.0.2');
  await waitFor(() => a.closed, 'the client to see the refused connection as a close', 5000);
  t.pass('closed');
});

void t.test('/proc tells which process opened a loopback connection', async (t) => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const child = spawn(process.execPath, [
    '-e',
    `const s = require('node:net').connect(${port}, '127.0.0.1'); s.on('error', () => {}); setTimeout(() => process.exit(0), 20000);`,
  ]);
  t.teardown(() => {
    child.kill('SIGKILL');
    server.close();
  });
  const socket = await accepted;
  const pid = pidOfLoopbackClient(socket.remotePort!, port, [process.pid, child.pid!]);
  t.equal(pid, child.pid, 'the child process holds the client end');
  t.equal(pidOfLoopbackClient(socket.remotePort!, port, [process.pid]), null, 'no other candidate holds it');
  socket.destroy();
});
