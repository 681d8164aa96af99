/**
 * Prometheus metrics of the watches the Operator service holds (src/api/watch-limits.ts), on the
 * node's registry in metrics.ts's style: gauges read on scrape, counters bumped as things happen.
 */
import client from 'prom-client';
import type { WatchLimits, WatchLimitsEvents, WatchRefusal } from '../api/watch-limits.js';

export class WatchMetrics implements WatchLimitsEvents {
  private readonly refusedTotal: client.Counter<'reason'>;
  private readonly cutOffTotal: client.Counter<'reason'>;
  private limits: WatchLimits | null = null;

  constructor(registry: client.Registry) {
    const registers = [registry];
    const limits = (): WatchLimits | null => this.limits;
    new client.Gauge({
      name: 'controller_watches_open',
      help: 'Watch streams (ctl watch) open on this controller.',
      registers,
      collect() {
        this.set(limits()?.open ?? 0);
      },
    });
    new client.Gauge({
      name: 'controller_watch_undrained_bytes',
      help: 'Bytes written to watch streams and not yet read by their clients, all watches together; at the budget the watch whose bytes have waited longest unread is cut off.',
      registers,
      collect() {
        this.set(limits()?.undrained ?? 0);
      },
    });
    this.refusedTotal = new client.Counter({
      name: 'controller_watches_refused_total',
      help: 'Watches refused (RESOURCE_EXHAUSTED): per_client = the client held the most one client may, total = the controller served the most it serves.',
      labelNames: ['reason'],
      registers,
    });
    this.cutOffTotal = new client.Counter({
      name: 'controller_watches_cut_off_total',
      help: 'Watches cut off (RESOURCE_EXHAUSTED): budget = its bytes had waited longest unread when all watches together reached the budget.',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of ['per_client', 'total'] satisfies WatchRefusal[]) this.refusedTotal.inc({ reason }, 0);
    this.cutOffTotal.inc({ reason: 'budget' }, 0);
  }

  /** The limits to read the gauges from. */
  bind(limits: WatchLimits): void {
    this.limits = limits;
  }

  refused(reason: WatchRefusal): void {
    this.refusedTotal.inc({ reason });
  }

  cutOff(reason: 'budget'): void {
    this.cutOffTotal.inc({ reason });
  }
}
