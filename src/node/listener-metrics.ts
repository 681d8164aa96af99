/**
 * Prometheus metrics of the gRPC port's listener (src/transport/guarded-listener.ts), on the
 * node's registry in metrics.ts's style: gauges read on scrape, counters bumped as things happen.
 */
import client from 'prom-client';
import type { CapReason } from '../transport/connection-caps.js';
import type { HandshakeFailureReason } from '../transport/handshake-failures.js';
import type { ListenerEvents } from '../transport/guarded-listener.js';
import type { ResetBudgetKind } from '../transport/reset-before-served.js';

export interface ListenerCounts {
  readonly openConnections: number;
  readonly pendingHandshakes: number;
}

export class ListenerMetrics implements ListenerEvents {
  private readonly cappedTotal: client.Counter<'reason'>;
  private readonly failedTotal: client.Counter<'reason'>;
  private readonly resetBeforeServedTotal: client.Counter;
  private readonly resetFloodTotal: client.Counter;
  private readonly certificateResetFloodTotal: client.Counter;
  private counts: ListenerCounts | null = null;

  constructor(registry: client.Registry) {
    const registers = [registry];
    const read = (pick: (c: ListenerCounts) => number) =>
      function (this: client.Gauge): void {
        this.set(counts() === null ? 0 : pick(counts()!));
      };
    const counts = (): ListenerCounts | null => this.counts;
    new client.Gauge({ name: 'controller_connections_open', help: 'Connections open on the gRPC port, handshaking or not.', registers, collect: read((c) => c.openConnections) });
    new client.Gauge({ name: 'controller_connections_pending_handshake', help: 'Connections on the gRPC port that have not finished their TLS handshake.', registers, collect: read((c) => c.pendingHandshakes) });
    this.cappedTotal = new client.Counter({
      name: 'controller_connections_capped_total',
      help: 'Connections the gRPC port closed for a cap: max_connections (a new one refused), max_pending_handshakes (the oldest pending one closed).',
      labelNames: ['reason'],
      registers,
    });
    this.failedTotal = new client.Counter({
      name: 'controller_tls_handshake_failures_total',
      help: 'TLS handshakes on the gRPC port that failed: certificate (refused), timeout, closed (by the client), tls_error.',
      labelNames: ['reason'],
      registers,
    });
    this.resetBeforeServedTotal = new client.Counter({
      name: 'client_streams_reset_before_served_total',
      help: 'Streams on the gRPC port that their client reset (RST_STREAM) in the same read as it opened them, kept from the gRPC server.',
      registers,
    });
    this.resetFloodTotal = new client.Counter({
      name: 'client_connections_reset_flood_total',
      help: 'Connections on the gRPC port ended (GOAWAY ENHANCE_YOUR_CALM) for resetting streams within 1 s of opening them faster than 50 a second after a burst of 200, or their certificate faster than 100 a second after 400 across its connections.',
      registers,
    });
    this.certificateResetFloodTotal = new client.Counter({
      name: 'client_certificates_reset_flood_total',
      help: "Of client_connections_reset_flood_total, the connections ended for their certificate's resets across its connections (100 a second after a burst of 400), not their own.",
      registers,
    });
    for (const reason of ['max_connections', 'max_pending_handshakes'] satisfies CapReason[]) this.cappedTotal.inc({ reason }, 0);
    for (const reason of ['certificate', 'timeout', 'closed', 'tls_error'] satisfies HandshakeFailureReason[]) this.failedTotal.inc({ reason }, 0);
  }

  /** The listener to read the gauges from, once it listens. */
  bind(counts: ListenerCounts): void {
    this.counts = counts;
  }

  capped(reason: CapReason): void {
    this.cappedTotal.inc({ reason });
  }

  handshakeFailed(failure: { readonly reason: HandshakeFailureReason }): void {
    this.failedTotal.inc({ reason: failure.reason });
  }

  streamResetBeforeServed(): void {
    this.resetBeforeServedTotal.inc();
  }

  resetFlood(over: ResetBudgetKind): void {
    this.resetFloodTotal.inc();
    if (over === 'certificate') this.certificateResetFloodTotal.inc();
  }
}
