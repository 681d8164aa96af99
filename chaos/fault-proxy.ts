/**
 * A TCP proxy in front of one node: it listens on the node's `address` (what peers dial) and
 * forwards to the node's `listen` (what it binds). Every connection is attributed to the
 * peer that opened it (see proc-sockets.ts, batched-attribution.ts), so each direction of it is one directed link:
 * client -> node carries the peer's messages to the node, node -> client the node's messages
 * to the peer. For every chunk the proxy consults the LinkTable:
 *
 * - delay: the chunk is held for a random time within the link's delay range. Chunks of one
 *   direction keep their order (a chunk never overtakes the one before it), as TCP would.
 * - rate: the direction carries at most that many bytes per second; chunks queue behind each
 *   other as on a slow line (nothing is dropped).
 * - cut: the chunk is dropped (blackholed: nothing is buffered, the sockets stay open, so the
 *   sender sees silence rather than a reset, as in a real partition). From its first dropped
 *   byte the direction drops everything: the byte stream has a hole, and forwarding what comes
 *   after it would hand the receiver a corrupt HTTP/2 stream, which TCP never does. When the
 *   link heals, such connections are closed and the peers reconnect; gRPC keepalive notices a
 *   silent connection before that.
 *
 * Connections from processes the identifier does not know (clients such as ctl) pass
 * unfaulted. A closed socket is passed on to the other side only through a direction that is
 * not cut: a process that dies behind a partition is not seen to die.
 */
import net from 'node:net';
import { NO_FAULT, type LinkTable } from './link-faults.js';

export interface FaultProxyOptions {
  /** The node behind this proxy. */
  readonly node: string;
  readonly listenHost: string;
  readonly listenPort: number;
  readonly targetHost: string;
  readonly targetPort: number;
  readonly links: LinkTable;
  /**
   * Which node opened this accepted connection; null when it is not a node. An answer that
   * comes later (a batched lookup) holds the connection, paused, until it comes.
   */
  readonly identify: (socket: net.Socket) => string | null | Promise<string | null>;
  /** Uniform [0, 1) for delays (seeded by the caller). */
  readonly random: () => number;
  /** Called whenever bytes from a known peer are forwarded to the node: the peer is alive and heard. */
  readonly onForward?: (source: string) => void;
  /** Every chunk either side of connection `conn` (numbered from 1) sends, passed on or dropped: tests read the frames on the wire. */
  readonly onSent?: (conn: number, direction: 'up' | 'down', chunk: Buffer) => void;
}

export interface ProxyStats {
  connections: number;
  /** Connections from processes that are not nodes (or that closed before we could tell). */
  unidentified: number;
  /** Of those, the ones that sent data: a node's traffic we could not attribute (and so not fault). */
  unidentifiedActive: number;
  bytesForwarded: number;
  bytesDropped: number;
  /** Chunks held back (for a delay, a rate cap, or behind a held chunk) rather than passed on at once. */
  chunksHeld: number;
  /** Connections closed by the proxy because a cut direction healed. */
  closedOnHeal: number;
  /** How connections ended: 'peer end' (FIN from the dialling node), 'node ECONNRESET', ... */
  endings: Record<string, number>;
}

type Queued = { readonly at: number; readonly chunk: Buffer | null }; // null: end of stream

/** One direction of one connection. */
class Pipe {
  private readonly queue: Queued[] = [];
  private timer: NodeJS.Timeout | null = null;
  private lastAt = 0;
  /** When the slow line has sent everything queued so far (rate faults). */
  private lineFreeAt = 0;
  /** Set at the first dropped byte; the direction then drops everything until closed. */
  dropping = false;
  /** The source ended while this direction was cut: not propagated. */
  private swallowedEnd = false;

  constructor(
    private readonly conn: Connection,
    private readonly src: net.Socket,
    private readonly dst: net.Socket,
    /** up: from the peer that opened the connection to the node; down: the node's answers. */
    readonly direction: 'up' | 'down',
  ) {
    src.on('data', (chunk: Buffer) => this.onData(chunk));
    src.on('end', () => this.onEnd());
  }

  get from(): string | null {
    return this.direction === 'up' ? this.conn.source : this.conn.source === null ? null : this.conn.proxy.node;
  }

  get to(): string | null {
    return this.direction === 'down' ? this.conn.source : this.conn.source === null ? null : this.conn.proxy.node;
  }

  private fault() {
    return this.from !== null && this.to !== null ? this.conn.proxy.links.get(this.from, this.to) : NO_FAULT;
  }

  isCut(): boolean {
    return this.fault().cut;
  }

  private drop(bytes: number): void {
    this.dropping = true;
    this.conn.proxy.stats.bytesDropped += bytes;
    for (const q of this.queue) this.conn.proxy.stats.bytesDropped += q.chunk?.length ?? 0;
    this.queue.length = 0;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private onData(chunk: Buffer): void {
    this.conn.proxy.onSent(this.conn.id, this.direction, chunk);
    // Not identified at accept time (a busy machine can be slow to show the socket): try again.
    if (this.conn.source === null && !this.conn.retried) this.conn.identifyAgain();
    if (this.dropping || this.conn.closed) {
      this.conn.proxy.stats.bytesDropped += chunk.length;
      return;
    }
    const f = this.fault();
    if (f.cut) {
      this.drop(chunk.length);
      return;
    }
    const delay = f.delay === null ? 0 : f.delay.minMs + this.conn.proxy.random() * (f.delay.maxMs - f.delay.minMs);
    if (f.rate === null) {
      this.enqueue(chunk, delay);
      return;
    }
    // On a slow line a chunk leaves once the ones before it have, and takes len / rate to go.
    const now = performance.now();
    this.lineFreeAt = Math.max(this.lineFreeAt, now) + (chunk.length / f.rate) * 1000;
    this.enqueue(chunk, this.lineFreeAt - now + delay);
  }

  private onEnd(): void {
    if (this.dropping || this.isCut()) {
      this.swallowedEnd = true;
      return;
    }
    const f = this.fault();
    this.enqueue(null, f.delay === null ? 0 : f.delay.minMs);
  }

  private enqueue(chunk: Buffer | null, delayMs: number): void {
    if (delayMs <= 0 && this.queue.length === 0) {
      this.deliver(chunk);
      return;
    }
    this.conn.proxy.stats.chunksHeld += 1;
    const at = Math.max(performance.now() + delayMs, this.lastAt);
    this.lastAt = at;
    this.queue.push({ at, chunk });
    this.arm();
  }

  private arm(): void {
    if (this.timer !== null || this.queue.length === 0) return;
    const wait = Math.max(0, this.queue[0]!.at - performance.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, wait);
  }

  private flush(): void {
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.at <= now + 0.5) {
      const { chunk } = this.queue.shift()!;
      // The link may have been cut while the chunk was in flight: then it is lost.
      if (chunk !== null && this.isCut()) {
        this.drop(chunk.length);
        return;
      }
      this.deliver(chunk);
    }
    this.arm();
  }

  private deliver(chunk: Buffer | null): void {
    if (this.conn.closed) return;
    if (chunk === null) {
      this.dst.end();
      return;
    }
    this.conn.proxy.stats.bytesForwarded += chunk.length;
    if (this.direction === 'up') this.conn.forwardedUp();
    if (!this.dst.write(chunk)) {
      this.src.pause();
      this.dst.once('drain', () => this.src.resume());
    }
  }

  /** Whether this direction, once broken by a cut, has healed (the connection must go). */
  brokenAndHealed(): boolean {
    return (this.dropping || this.swallowedEnd) && !this.isCut();
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
  }
}

class Connection {
  readonly up: Pipe; // source -> node
  readonly down: Pipe; // node -> source
  closed = false;
  retried = false;
  private countedActive = false;

  constructor(
    readonly proxy: FaultProxy,
    readonly id: number,
    readonly client: net.Socket,
    readonly server: net.Socket,
    public source: string | null,
  ) {
    this.up = new Pipe(this, client, server, 'up');
    this.down = new Pipe(this, server, client, 'down');
    // A socket that fails or closes takes the other one along, unless the direction that would
    // tell the other side is cut: then the other side keeps waiting, as behind a partition.
    const onGone = (gone: Pipe): void => {
      if (this.closed) return;
      if (gone.dropping || gone.isCut()) return;
      this.close();
    };
    const note = (what: string): void => {
      const reasons = proxy.stats.endings;
      reasons[what] = (reasons[what] ?? 0) + 1;
    };
    client.on('error', (err: NodeJS.ErrnoException) => {
      note(`peer ${err.code ?? 'error'}`);
      onGone(this.up);
    });
    server.on('error', (err: NodeJS.ErrnoException) => {
      note(`node ${err.code ?? 'error'}`);
      onGone(this.down);
    });
    client.on('end', () => note('peer end'));
    server.on('end', () => note('node end'));
    client.on('close', () => onGone(this.up));
    server.on('close', () => onGone(this.down));
  }

  identifyAgain(): void {
    this.retried = true;
    void this.proxy.identifySafely(this.client).then((source) => {
      if (this.source === null) this.source = source;
    });
  }

  forwardedUp(): void {
    if (this.source !== null) this.proxy.onForward(this.source);
    else if (!this.countedActive) {
      this.countedActive = true;
      this.proxy.stats.unidentifiedActive += 1;
    }
  }

  /** Called on every link change: a broken direction that healed closes the connection. */
  reconsider(): void {
    if (this.closed) return;
    const clientGone = this.client.destroyed;
    const serverGone = this.server.destroyed;
    if (this.up.brokenAndHealed() || this.down.brokenAndHealed() || (clientGone && !this.up.isCut()) || (serverGone && !this.down.isCut())) {
      this.proxy.stats.closedOnHeal += 1;
      this.close();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.up.stop();
    this.down.stop();
    this.client.destroy();
    this.server.destroy();
    this.proxy.forget(this);
  }
}

export class FaultProxy {
  readonly node: string;
  readonly links: LinkTable;
  readonly random: () => number;
  readonly stats: ProxyStats = { connections: 0, unidentified: 0, unidentifiedActive: 0, bytesForwarded: 0, bytesDropped: 0, chunksHeld: 0, closedOnHeal: 0, endings: {} };
  private readonly connections = new Set<Connection>();
  /** Accepted, paused, waiting for identify's answer. */
  private readonly unattributed = new Set<net.Socket>();
  private closing = false;
  private readonly unsubscribe: () => void;

  private constructor(
    private readonly server: net.Server,
    private readonly opts: FaultProxyOptions,
  ) {
    this.node = opts.node;
    this.links = opts.links;
    this.random = opts.random;
    this.unsubscribe = opts.links.onChange(() => {
      for (const c of [...this.connections]) c.reconsider();
    });
    server.on('connection', (socket) => this.accept(socket));
  }

  static async start(opts: FaultProxyOptions): Promise<FaultProxy> {
    const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.listenPort, opts.listenHost, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new FaultProxy(server, opts);
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Live connections and where they come from (for tests and the report). */
  sources(): Array<string | null> {
    return [...this.connections].map((c) => c.source);
  }

  private accept(client: net.Socket): void {
    this.stats.connections += 1;
    const id = this.stats.connections;
    client.setNoDelay(true);
    // Until it is attributed the client stays paused (pauseOnConnect); one that fails meanwhile is gone.
    const onEarlyError = (): void => void client.destroy();
    client.on('error', onEarlyError);
    this.unattributed.add(client);
    void this.identifySafely(client).then((source) => {
      this.unattributed.delete(client);
      client.off('error', onEarlyError);
      if (this.closing || client.destroyed) {
        client.destroy();
        return;
      }
      this.open(id, client, source);
    });
  }

  private open(id: number, client: net.Socket, source: string | null): void {
    if (source === null) this.stats.unidentified += 1;
    const server = net.connect({ host: this.opts.targetHost, port: this.opts.targetPort, allowHalfOpen: true });
    server.setNoDelay(true);
    const conn = new Connection(this, id, client, server, source);
    this.connections.add(conn);
    client.resume();
  }

  identifySafely(socket: net.Socket): Promise<string | null> {
    try {
      return Promise.resolve(this.opts.identify(socket)).catch(() => null);
    } catch {
      return Promise.resolve(null);
    }
  }

  onForward(source: string): void {
    this.opts.onForward?.(source);
  }

  onSent(conn: number, direction: 'up' | 'down', chunk: Buffer): void {
    this.opts.onSent?.(conn, direction, chunk);
  }

  forget(conn: Connection): void {
    this.connections.delete(conn);
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    this.closing = true;
    this.unsubscribe();
    for (const s of [...this.unattributed]) s.destroy();
    for (const c of [...this.connections]) c.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
