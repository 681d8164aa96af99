/**
 * Prometheus metrics of the gRPC health service's Watch streams (health-service.ts), which callers
 * without a member's certificate may open: how many are open, and how many the caps refused
 * (per_client: the client held the most one may; total: the controller held the most it serves).
 */
import client from 'prom-client';
import type { WatchRefusal } from '../api/watch-limits.js';

export class HealthMetrics {
  private readonly refusedTotal: client.Counter<'reason'>;

  constructor(registry: client.Registry, open: () => number) {
    const registers = [registry];
    new client.Gauge({
      name: 'controller_health_watches_open',
      help: 'grpc.health.v1 Watch streams open on this controller.',
      registers,
      collect() {
        this.set(open());
      },
    });
    this.refusedTotal = new client.Counter({
      name: 'controller_health_watches_refused_total',
      help: 'grpc.health.v1 Watch streams refused (RESOURCE_EXHAUSTED): per_client = the client held the most one client may, total = the controller held the most it serves.',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of ['per_client', 'total'] satisfies WatchRefusal[]) this.refusedTotal.inc({ reason }, 0);
  }

  refused(reason: WatchRefusal): void {
    this.refusedTotal.inc({ reason });
  }
}
