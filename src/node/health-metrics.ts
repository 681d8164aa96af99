/**
 * Prometheus metrics of the gRPC health service's Watch streams (health-service.ts), which callers
 * without a member's certificate may open: how many are open, and how many the cap refused.
 */
import client from 'prom-client';

export class HealthMetrics {
  private readonly refusedTotal: client.Counter;

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
      help: 'grpc.health.v1 Watch streams refused (RESOURCE_EXHAUSTED) because the controller held the most it serves.',
      registers,
    });
    this.refusedTotal.inc(0);
  }

  refused(): void {
    this.refusedTotal.inc();
  }
}
