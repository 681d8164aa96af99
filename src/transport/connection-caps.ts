/**
 * The caps on the controller's gRPC port (guarded-listener.ts) and the table that enforces
 * them. Two caps, as Envoy's listener limits and overload manager have them:
 *
 * - pending handshakes: connections that have not finished their TLS handshake. Anyone who can
 *   reach the port can hold them, no certificate needed (8,000 partial ClientHellos took a
 *   leader from 733 MB to 1.7 GB). At the cap the OLDEST pending connection is closed, not the
 *   new one: refusing new ones would let an attacker who holds the cap lock every real client
 *   out for good (reopening each connection as the handshake timeout closes it), while a real
 *   handshake finishes in a few round trips and so is almost never the oldest.
 * - connections in all: at the cap a new connection is closed at once. Established connections
 *   carry a certificate of the cluster's CAs (with TLS), so they are not evicted for a stranger.
 *
 * The defaults leave room for `npm run agents -- --count 1000` (a thousand connections from one
 * address) many times over; there is no per-address cap, since agents behind a NAT share one.
 */
import type net from 'node:net';
import { DEFAULTS } from '../config/defaults.js';

export interface ConnectionCaps {
  readonly maxConnections: number;
  readonly maxPendingHandshakes: number;
}

/**
 * controller.max_connections and controller.max_pending_handshakes by default. 60,000: above the
 * 50,000 agent streams a controller serves (docs/agents.md, one connection each), so agents meet
 * that cap's clear `exhausted` answer first, with room for ctl and peers.
 */
export const DEFAULT_CONNECTION_CAPS: ConnectionCaps = { maxConnections: DEFAULTS.maxConnections, maxPendingHandshakes: DEFAULTS.maxPendingHandshakes };

/** Why the table closed a connection: the `reason` label of controller_connections_capped_total. */
export type CapReason = 'max_connections' | 'max_pending_handshakes';

export class ConnectionTable {
  private readonly open = new Set<net.Socket>();
  /** Insertion order is age: the first is the oldest. */
  private readonly pending = new Set<net.Socket>();

  constructor(
    private readonly caps: ConnectionCaps,
    /** Called before the socket closed for `reason` (the new one, or the evicted oldest) is destroyed. */
    private readonly onCapped: (reason: CapReason, socket: net.Socket) => void,
  ) {}

  /**
   * Records a new connection, pending its handshake when `handshake` is true. False when it was
   * over the total cap and has been destroyed; an evicted older one is destroyed here too.
   */
  admit(socket: net.Socket, handshake: boolean): boolean {
    if (this.open.size >= this.caps.maxConnections) {
      this.onCapped('max_connections', socket);
      socket.destroy();
      return false;
    }
    this.open.add(socket);
    socket.once('close', () => {
      this.open.delete(socket);
      this.pending.delete(socket);
    });
    if (!handshake) return true;
    if (this.pending.size >= this.caps.maxPendingHandshakes) {
      const oldest = this.pending.values().next();
      if (!oldest.done) {
        this.pending.delete(oldest.value);
        this.onCapped('max_pending_handshakes', oldest.value);
        oldest.value.destroy();
      }
    }
    this.pending.add(socket);
    return true;
  }

  /** The handshake finished: the connection no longer counts against the pending cap. */
  handshaken(socket: net.Socket): void {
    this.pending.delete(socket);
  }

  isPending(socket: net.Socket): boolean {
    return this.pending.has(socket);
  }

  get openCount(): number {
    return this.open.size;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Closes the connections still in their handshake (at shutdown: grpc-js never saw them; after
   * new TLS material: they began with the old). `before` sees each first.
   */
  destroyPending(before: (socket: net.Socket) => void = () => undefined): void {
    for (const s of [...this.pending]) {
      before(s);
      s.destroy();
    }
  }

  destroyAll(): void {
    for (const s of [...this.open]) s.destroy();
  }
}
