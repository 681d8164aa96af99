/**
 * The caps on the /metrics endpoint's connections and the table that enforces them: at most
 * MAX_METRICS_CONNECTIONS in all and MAX_METRICS_CONNECTIONS_PER_SOURCE from one source
 * (metrics-source.ts; MAX_METRICS_CONNECTIONS_LOOPBACK from loopback). At either cap an OLD connection is closed (of that source, or of all),
 * not the new one, as for pending handshakes on the gRPC port (connection-caps.ts): refusing new
 * ones let a client holding the slots keep the real scraper out as long as it liked (40 s in the
 * attack, "scrape 000" every time). Which old one: see evictionRank; a flood from the scraper's
 * own source (loopback) that reconnects as fast as it can still closes a scraper's connection
 * now and then, at the cost of an accept and a close per connection. Prometheus opens a new
 * connection at its next scrape if its kept-alive one was closed meanwhile.
 *
 * A connection may also have at most MAX_METRICS_PIPELINED requests unanswered (HTTP/1.1
 * pipelining): Prometheus and curl send one at a time, while 16 pipelined on each of 8
 * connections kept the event loop busy answering.
 */
import { LOOPBACK_SOURCE, metricsSource } from './metrics-source.js';

export const MAX_METRICS_CONNECTIONS = 64;
export const MAX_METRICS_CONNECTIONS_PER_SOURCE = 8;
/**
 * Loopback, one source, holds more: a local scraper shares it with whatever else runs on the
 * host, and 8 slots let a local flood that reconnects close 2 to 5 of a local scraper's 30
 * connections (at ~1,000 reconnects a second), 32 none; the other half stays for remote ones.
 */
export const MAX_METRICS_CONNECTIONS_LOOPBACK = 32;
export const MAX_METRICS_PIPELINED = 4;

/** Why a /metrics connection was closed: the `reason` label of controller_metrics_connections_capped_total. */
export type MetricsCapReason = 'max_connections' | 'max_per_source' | 'max_pipelined';
export const METRICS_CAP_REASONS: readonly MetricsCapReason[] = ['max_connections', 'max_per_source', 'max_pipelined'];

/** What the table needs of a connection (a net.Socket; with HTTPS, the TLS socket over it has the same 4-tuple). */
export interface MetricsSocket {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
  readonly destroyed: boolean;
  destroy(): void;
  once(event: 'close', listener: () => void): unknown;
}

/** A connection's 4-tuple: the same on the raw socket and on the TLSSocket over it. */
export function tupleOf(s: MetricsSocket): string {
  return `${s.localAddress ?? ''}|${s.localPort ?? ''}|${s.remoteAddress ?? ''}|${s.remotePort ?? ''}`;
}

interface Entry {
  readonly source: string;
  readonly tuple: string;
  /** Requests on it handed to the handler and not yet answered. */
  unanswered: number;
  /** A request on it has been answered: the scraper it served has what it came for. */
  served: boolean;
}

/**
 * Which connection a cap closes first, lowest first: 0, one answered and idle since; 1, one that
 * has sent no request yet; 2, one waiting for an answer. A flood that reconnects is answered at
 * once or has not asked yet, so it loses its own connections before a scraper's that is waiting.
 */
function evictionRank(e: Entry): number {
  if (e.unanswered > 0) return 2;
  return e.served ? 0 : 1;
}

export class MetricsConnections {
  /** Insertion order is age: the first is the oldest. */
  private readonly open = new Map<MetricsSocket, Entry>();
  private readonly bySource = new Map<string, Set<MetricsSocket>>();
  private readonly byTuple = new Map<string, MetricsSocket>();
  /** Requests handed to the handler and not yet answered, by the socket they came on. */
  private readonly unanswered = new WeakMap<MetricsSocket, number>();

  constructor(
    /** Called for each connection closed for a cap, before it is destroyed. */
    private readonly onCapped: (reason: MetricsCapReason) => void = () => undefined,
    private readonly maxConnections = MAX_METRICS_CONNECTIONS,
    private readonly maxPerSource = MAX_METRICS_CONNECTIONS_PER_SOURCE,
    private readonly maxPipelined = MAX_METRICS_PIPELINED,
    private readonly maxLoopback = MAX_METRICS_CONNECTIONS_LOOPBACK,
  ) {}

  /** Records a new connection, first closing one of its source, or of all, at a cap (evict). */
  admit(socket: MetricsSocket): void {
    const entry: Entry = { source: metricsSource(socket.remoteAddress), tuple: tupleOf(socket), unanswered: 0, served: false };
    const mine = this.bySource.get(entry.source) ?? new Set<MetricsSocket>();
    if (mine.size >= (entry.source === LOOPBACK_SOURCE ? this.maxLoopback : this.maxPerSource)) this.evict(mine, 'max_per_source');
    else if (this.open.size >= this.maxConnections) this.evict(this.open.keys(), 'max_connections');
    this.open.set(socket, entry);
    this.byTuple.set(entry.tuple, socket);
    mine.add(socket);
    this.bySource.set(entry.source, mine);
    socket.once('close', () => this.forget(socket));
  }

  /**
   * A request arrived on `socket` (the TLS socket with HTTPS); call the returned function once
   * it is answered. False, with the connection closed, when it is one too many in flight.
   */
  request(socket: MetricsSocket): (() => void) | false {
    if (socket.destroyed) return false;
    const n = (this.unanswered.get(socket) ?? 0) + 1;
    if (n > this.maxPipelined) {
      this.onCapped('max_pipelined');
      socket.destroy();
      return false;
    }
    this.unanswered.set(socket, n);
    const raw = this.byTuple.get(tupleOf(socket));
    const entry = raw === undefined ? undefined : this.open.get(raw);
    if (entry !== undefined) entry.unanswered += 1;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.unanswered.set(socket, (this.unanswered.get(socket) ?? 1) - 1);
      if (entry === undefined) return;
      entry.unanswered -= 1;
      entry.served = true;
    };
  }

  get openCount(): number {
    return this.open.size;
  }

  /** Closes the oldest of those `evictionRank` puts first. */
  private evict(oldestFirst: Iterable<MetricsSocket>, reason: MetricsCapReason): void {
    let victim: MetricsSocket | undefined;
    let best = Infinity;
    for (const s of oldestFirst) {
      const rank = evictionRank(this.open.get(s)!);
      if (rank < best) {
        victim = s;
        best = rank;
      }
      if (best === 0) break;
    }
    if (victim === undefined) return;
    // Forgotten now, not at its 'close' event: more connections may be admitted before that.
    this.forget(victim);
    this.onCapped(reason);
    victim.destroy();
  }

  private forget(socket: MetricsSocket): void {
    const entry = this.open.get(socket);
    if (entry === undefined) return;
    this.open.delete(socket);
    if (this.byTuple.get(entry.tuple) === socket) this.byTuple.delete(entry.tuple);
    const mine = this.bySource.get(entry.source);
    if (!mine) return;
    mine.delete(socket);
    if (mine.size === 0) this.bySource.delete(entry.source);
  }
}
