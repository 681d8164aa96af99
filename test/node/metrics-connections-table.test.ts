/**
 * MetricsConnections: at a cap an old connection (of the source, or of all) is closed, the
 * oldest already answered first, not the new one, so a client holding the slots cannot keep a
 * scraper out; a connection with too many requests unanswered is closed.
 */
import { EventEmitter } from 'node:events';
import t from 'tap';
import { MetricsConnections, type MetricsCapReason, type MetricsSocket } from '../../src/node/metrics-connections.js';

let nextPort = 40_000;

class FakeSocket extends EventEmitter implements MetricsSocket {
  destroyed = false;
  readonly remotePort = nextPort++;
  readonly localAddress = '192.0.2.1';
  readonly localPort = 9101;
  constructor(
    readonly remoteAddress: string,
    readonly name: string,
  ) {
    super();
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    // As net.Socket: 'close' comes later, not within destroy().
    queueMicrotask(() => this.emit('close'));
  }
}

function table(maxConnections: number, maxPerSource: number, maxPipelined = 4, maxLoopback = 2 * maxPerSource): { conns: MetricsConnections; capped: MetricsCapReason[] } {
  const capped: MetricsCapReason[] = [];
  return { conns: new MetricsConnections((r) => capped.push(r), maxConnections, maxPerSource, maxPipelined, maxLoopback), capped };
}

const open = (conns: MetricsConnections, address: string, name: string): FakeSocket => {
  const s = new FakeSocket(address, name);
  conns.admit(s);
  return s;
};

void t.test('at the per-source cap the oldest of that source is closed, the new one kept', async (t) => {
  const { conns, capped } = table(64, 3);
  const a = ['a1', 'a2', 'a3'].map((n) => open(conns, '10.0.0.1', n));
  const other = open(conns, '10.0.0.2', 'b1');
  const a4 = open(conns, '10.0.0.1', 'a4');
  t.strictSame(
    [...a, other, a4].filter((s) => s.destroyed).map((s) => s.name),
    ['a1'],
    'the oldest of 10.0.0.1 only',
  );
  t.strictSame(capped, ['max_per_source']);
  t.equal(conns.openCount, 4);
});

void t.test('loopback addresses share one cap of their own', async (t) => {
  const { conns } = table(64, 1, 4, 2);
  const all = ['127.0.0.2', '127.0.0.3', '::1', '::ffff:127.0.0.4'].map((addr) => open(conns, addr, addr));
  t.strictSame(
    all.filter((s) => !s.destroyed).map((s) => s.name),
    ['::1', '::ffff:127.0.0.4'],
    'the newest two of four loopback addresses',
  );
  const remote = open(conns, '10.0.0.1', 'remote');
  t.notOk(remote.destroyed, 'a remote source has its own');
});

void t.test('at the total cap the oldest of all is closed, the new one kept', async (t) => {
  const { conns, capped } = table(4, 2);
  const hog = ['2001:db8:0:1::1', '2001:db8:0:1::2', '2001:db8:0:2::1', '2001:db8:0:2::2'].map((addr) => open(conns, addr, addr));
  const scraper = open(conns, '192.0.2.10', 'scraper');
  t.notOk(scraper.destroyed, 'the new connection is kept');
  t.strictSame(
    hog.filter((s) => s.destroyed).map((s) => s.name),
    ['2001:db8:0:1::1'],
    'the oldest is closed',
  );
  t.strictSame(capped, ['max_connections']);
  t.equal(conns.openCount, 4);
});

void t.test('many connections at once stay within the caps before any has closed', async (t) => {
  const { conns } = table(8, 4);
  const all: FakeSocket[] = [];
  for (let i = 0; i < 100; i++) all.push(open(conns, `10.0.${i % 5}.1`, `s${i}`));
  t.equal(all.filter((s) => !s.destroyed).length, 8, 'eight open, though no close event came yet');
  t.strictSame(
    all.filter((s) => !s.destroyed).map((s) => s.name),
    all.slice(92).map((s) => s.name),
    'the newest eight',
  );
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(conns.openCount, 8, 'the close events change nothing');
});

/** Answers one request on `s`, as the handler does. */
const serve = (conns: MetricsConnections, s: FakeSocket): void => {
  const answered = conns.request(s);
  if (answered !== false) answered();
};

void t.test('at a cap, answered connections go first, then those that asked nothing, and a scraper waiting for its answer last', async (t) => {
  const { conns } = table(64, 4);
  const scraper = open(conns, '10.0.0.1', 'scraper');
  const answer = conns.request(scraper);
  const flood = ['f1', 'f2', 'f3'].map((n) => open(conns, '10.0.0.1', n));
  for (const s of flood) serve(conns, s);
  const next = open(conns, '10.0.0.1', 'f4');
  t.strictSame(
    [scraper, ...flood, next].filter((s) => s.destroyed).map((s) => s.name),
    ['f1'],
    'the oldest answered one, not the older one still waiting',
  );
  // A flood that reconnects, answered at once or not yet asking, never reaches the waiting one.
  for (let i = 5; i < 100; i++) serve(conns, open(conns, '10.0.0.1', `f${i}`));
  const silent = ['s1', 's2', 's3', 's4', 's5'].map((n) => open(conns, '10.0.0.1', n));
  t.notOk(scraper.destroyed, 'the waiting connection is kept through 100 reconnects');
  t.strictSame(
    silent.filter((s) => s.destroyed).map((s) => s.name),
    ['s1', 's2'],
    'of those that asked nothing, the oldest go once no answered one is left',
  );
  // Only newer connections that wait for an answer too close it.
  for (let i = 0; i < 4; i++) conns.request(open(conns, '10.0.0.1', `w${i}`));
  t.ok(scraper.destroyed, 'four newer waiting ones close it: the oldest of those waiting');
  t.ok(answer !== false, 'its request was taken');
});

void t.test('with HTTPS the request comes on the TLS socket: its 4-tuple finds the connection', async (t) => {
  const { conns } = table(64, 2);
  const older = open(conns, '10.0.0.1', 'older');
  const raw = open(conns, '10.0.0.1', 'raw');
  const tls = Object.assign(new FakeSocket('10.0.0.1', 'tls'), { remotePort: raw.remotePort });
  serve(conns, tls);
  open(conns, '10.0.0.1', 'new');
  t.ok(raw.destroyed, 'the raw socket under the answered TLS one goes first');
  t.notOk(older.destroyed);
});

void t.test('a closed connection frees its slot', async (t) => {
  const { conns, capped } = table(2, 2);
  const a = open(conns, '10.0.0.1', 'a');
  open(conns, '10.0.0.1', 'b');
  a.destroy();
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(conns.openCount, 1);
  open(conns, '10.0.0.1', 'c');
  t.strictSame(capped, [], 'nothing closed for a cap');
});

void t.test('requests one at a time are never capped; too many unanswered close the connection', async (t) => {
  const { conns, capped } = table(64, 8, 2);
  const s = open(conns, '10.0.0.1', 's');
  for (let i = 0; i < 50; i++) {
    const answered = conns.request(s);
    if (answered === false) t.fail('a request one at a time refused');
    else answered();
  }
  t.notOk(s.destroyed, '50 one at a time');
  const first = conns.request(s);
  const second = conns.request(s);
  t.ok(first && second, 'two pipelined');
  t.equal(conns.request(s), false, 'a third unanswered is one too many');
  t.ok(s.destroyed, 'and closes the connection');
  t.equal(conns.request(s), false, 'nothing more is served on it');
  t.strictSame(capped, ['max_pipelined']);
});

void t.test('answering twice frees one slot only', async (t) => {
  const { conns } = table(64, 8, 1);
  const s = open(conns, '10.0.0.1', 's');
  const answered = conns.request(s);
  if (answered === false) return t.fail('refused');
  answered();
  answered();
  t.ok(conns.request(s), 'the next');
  t.equal(conns.request(s), false, 'a second unanswered is still too many');
});
