/**
 * The controller's gRPC port, owned here rather than by grpc-js's bindAsync, so that what
 * anyone can open on it is capped (connection-caps.ts) and refused TLS handshakes are seen
 * (handshake-failures.ts). Our net.Server accepts each TCP connection; with TLS our tls.Server
 * runs the handshake (same options grpc-js would use: mutualTlsCredentials' listenerTls, 10 s
 * handshake timeout) and the finished TLSSocket goes to grpc-js through a connection injector
 * (Server.createConnectionInjector, public since grpc-js 1.10) made with insecure credentials:
 * grpc-js then runs HTTP/2 on the socket as it is, and still reads the peer certificate from it
 * (call.getAuthContext() asks the session's socket, a TLSSocket), so peer-auth.ts and the
 * agent CA gate see what they saw before. server.tryShutdown / forceShutdown end the injected
 * sessions; close() ends what grpc-js never saw. A stream its client reset before grpc-js would
 * see it never reaches grpc-js (reset-before-served.ts: it crashed the process), and a connection
 * that resets its streams faster than an honest client is ended there.
 */
import dns from 'node:dns/promises';
import net from 'node:net';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { parseHostPort } from '../config/host-port.js';
import { ConnectionTable, DEFAULT_CONNECTION_CAPS, type CapReason, type ConnectionCaps } from './connection-caps.js';
import { classifyHandshakeFailure, type HandshakeFailure } from './handshake-failures.js';
import { injectorDroppingResetStreams, type ResetBudgetKind } from './reset-before-served.js';
import { OpenTlsSockets, type ClosedConnection, type RevocationCheck } from './revoked-sockets.js';

export interface ListenerEvents {
  capped(reason: CapReason): void;
  handshakeFailed(failure: HandshakeFailure): void;
  /** A stream its client reset before it was served, kept from grpc-js (reset-before-served.ts). */
  streamResetBeforeServed(): void;
  /** A connection ended for resetting its streams past its budget, or its certificate's (reset-before-served.ts). */
  resetFlood(over: ResetBudgetKind): void;
}

export interface GuardedListenerOptions {
  readonly server: grpc.Server;
  /** tls.createServer's options (credentials.ts); null: plaintext. */
  readonly tls: tls.TlsOptions | null;
  readonly caps?: ConnectionCaps;
  readonly events?: Partial<ListenerEvents>;
}

/** 4-tuple of a live connection: the same on the raw socket and on the TLSSocket over it. */
function tupleOf(s: net.Socket): string {
  return `${s.localAddress ?? ''}|${s.localPort ?? ''}|${s.remoteAddress ?? ''}|${s.remotePort ?? ''}`;
}

/** The addresses `host` names: itself when it is an IP; else every address DNS gives, as grpc-js bound them. */
async function addressesOf(host: string): Promise<string[]> {
  const bare = host.replace(/^\[|\]$/g, '');
  if (net.isIP(bare) !== 0) return [bare];
  return (await dns.lookup(bare, { all: true })).map((a) => a.address);
}

function listenOn(srv: net.Server, host: string, port: number): Promise<Error | null> {
  return new Promise((resolve) => {
    const onError = (err: Error): void => resolve(err);
    srv.once('error', onError);
    srv.listen({ host, port }, () => {
      srv.off('error', onError);
      resolve(null);
    });
  });
}

export class GuardedListener {
  private readonly table: ConnectionTable;
  private readonly byTuple = new Map<string, net.Socket>();
  private readonly evicted = new WeakSet<net.Socket>();
  /** Connections whose handshake finished, for closing those a new CRL revokes. */
  private readonly secured = new OpenTlsSockets();
  private readonly servers: net.Server[] = [];
  private readonly engine: tls.Server | null;
  private readonly injector: ReturnType<grpc.Server['createConnectionInjector']>;

  private constructor(private readonly opts: GuardedListenerOptions) {
    const events = opts.events ?? {};
    this.table = new ConnectionTable(opts.caps ?? DEFAULT_CONNECTION_CAPS, (reason, socket) => {
      this.evicted.add(socket);
      events.capped?.(reason);
    });
    this.injector = injectorDroppingResetStreams(opts.server, grpc.ServerCredentials.createInsecure(), {
      dropped: () => events.streamResetBeforeServed?.(),
      flooded: (over) => events.resetFlood?.(over),
    });
    this.engine = opts.tls === null ? null : tls.createServer(opts.tls);
    this.engine?.on('secureConnection', (socket: tls.TLSSocket) => {
      const raw = this.byTuple.get(tupleOf(socket));
      if (raw) this.table.handshaken(raw);
      this.secured.add(socket);
      this.injector.injectConnection(socket);
    });
    this.engine?.on('tlsClientError', (err: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
      const raw = this.rawOf(socket);
      socket.destroy();
      if (raw && this.evicted.has(raw)) return; // capped, or cut by new TLS material: not a failed handshake
      const source = raw?.remoteAddress ?? socket.remoteAddress ?? 'unknown';
      events.handshakeFailed?.(classifyHandshakeFailure(source, err, typeof socket.authorizationError === 'string' ? socket.authorizationError : socket.authorizationError?.message ?? null));
    });
  }

  /**
   * Listens on `address` (host:port as in the config). Rejects with the first bind error when no
   * address could be bound; like grpc-js, a host name that resolves to several addresses is
   * bound on each, and listening on some of them is enough.
   */
  static async listen(address: string, opts: GuardedListenerOptions): Promise<GuardedListener> {
    const hp = parseHostPort(address);
    if (!hp.ok) throw new Error(hp.reason);
    const listener = new GuardedListener(opts);
    const errors: Error[] = [];
    for (const host of await addressesOf(hp.value.host)) {
      const srv = net.createServer((socket) => listener.accept(socket));
      const err = await listenOn(srv, host, hp.value.port);
      if (err) errors.push(err);
      else listener.servers.push(srv);
    }
    if (listener.servers.length === 0) {
      listener.injector.destroy();
      throw errors[0] ?? new Error(`${hp.value.host} resolves to no address`);
    }
    return listener;
  }

  private accept(socket: net.Socket): void {
    // A connection reset before we look has no addresses; nothing to serve.
    socket.on('error', () => socket.destroy());
    const handshake = this.engine !== null;
    if (!this.table.admit(socket, handshake)) return;
    const tuple = tupleOf(socket);
    this.byTuple.set(tuple, socket);
    socket.once('close', () => {
      if (this.byTuple.get(tuple) === socket) this.byTuple.delete(tuple);
    });
    if (this.engine) this.engine.emit('connection', socket);
    else this.injector.injectConnection(socket);
  }

  /** The raw socket under a TLSSocket: by 4-tuple while it is open, else by its parent link. */
  private rawOf(socket: tls.TLSSocket): net.Socket | null {
    const byTuple = socket.remoteAddress === undefined ? undefined : this.byTuple.get(tupleOf(socket));
    if (byTuple) return byTuple;
    // A socket Node closed itself (a refused certificate) has lost its addresses; Node keeps
    // the wrapped socket as `_parent` (undocumented: handshake-failures.test.ts fails if it goes).
    const parent: unknown = (socket as unknown as { readonly _parent?: unknown })._parent;
    return parent instanceof net.Socket ? parent : null;
  }

  /**
   * New TLS material (credentials.ts listenerTlsOptions) for the handshakes that start from now
   * on; connections already handshaken keep what they began with. Node builds a fresh
   * SecureContext, with its own session cache and (we set none) new random ticket keys, so a
   * session from before cannot be resumed past a new CRL. The server-level options
   * (requestCert, ALPN, the handshake timeout) are the constructor's and do not change.
   * Plaintext has no TLS to swap: it throws.
   *
   * `cutHandshakes` (the material changed): connections still in their handshake are closed.
   * Node fixes a connection's context when it is accepted, so one accepted before the swap would
   * be checked against the CRL and CAs from before whenever its client chose to send its hello:
   * an idle pool of accepted connections kept a revoked key usable after its revocation. An
   * honest client just connects again.
   */
  setTls(options: tls.TlsOptions, cutHandshakes: boolean): void {
    if (this.engine === null) throw new Error('a plaintext listener has no TLS material to replace');
    this.engine.setSecureContext(options);
    if (cutHandshakes) this.table.destroyPending((socket) => this.evicted.add(socket));
  }

  /**
   * Closes every handshaken connection whose peer presented a certificate `revocations`
   * revokes, and returns what each was: after a new CRL, a revoked key must lose the calls and
   * streams it opened before, not only new handshakes (revoked-sockets.ts).
   */
  closeRevoked(revocations: RevocationCheck): Promise<ClosedConnection[]> {
    return this.secured.closeRevoked('grpc', revocations);
  }

  /** The port bound. */
  get port(): number {
    const a = this.servers[0]?.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  get openConnections(): number {
    return this.table.openCount;
  }

  get pendingHandshakes(): number {
    return this.table.pendingCount;
  }

  /**
   * Stops accepting and closes the connections still in their handshake. Connections grpc-js
   * serves are its shutdown's to end; the promise settles once every connection has closed
   * (destroyAll() for the ones a forced shutdown left).
   */
  close(): Promise<void> {
    this.table.destroyPending();
    return Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())))).then(() => undefined);
  }

  destroyAll(): void {
    this.table.destroyAll();
  }
}
